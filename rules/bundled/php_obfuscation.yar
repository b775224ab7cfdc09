/*
 * shellwatch bundled rules: PHP obfuscation used by webshells.
 *
 * Decode-then-execute chains, encoded payload blobs, sensitive function
 * names assembled from pieces (concatenation, chr(), XOR, str_replace,
 * strrev, rot13, base64) and non-alphanumeric shells.
 */

/* eval/assert/create_function of a decoder's output: eval(gzinflate(base64_decode(...))).
   $c11 (eval of any function applied to a long base64 literal) skips the
   JavaScript eval(atob("...")) idiom, found as an XSS test vector inside a
   PHP string in Grav's UriTest (benign-web php/src0/90d71153aa80-499.php),
   unless the file defines its own PHP atob(). */
rule php_obf_decode_eval_chain
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "eval/assert/create_function executing the output of a decoder (base64, gzinflate, rot13, strrev, hex, uudecode)"
    strings:
        // [eE]val in $c1, $c2 and $c5 is no typo: it makes libyara look for
        // them by the decoder's name, not by "eval", which some fifty strings
        // of the set already start from (each costs at every "eval(" of a
        // file padded with them; issue 10, go test ./rules -bench RulePadding).
        $c1 = /\b([eE]val|[aA]ssert)\s*\(\s*@?\s*(\(\s*)?(gzinflate|gzuncompress|gzdecode|str_rot13|strrev|hex2bin|convert_uudecode|base64_decode|urldecode|rawurldecode)\s*\(\s*@?\s*(gzinflate|gzuncompress|gzdecode|str_rot13|strrev|base64_decode|convert_uudecode|hex2bin|urldecode|rawurldecode)\s*\(/ nocase
        $c2 = /\b([eE]val|[aA]ssert)\s*\(\s*@?\s*(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|convert_uudecode|hex2bin)\s*\(\s*['"][A-Za-z0-9+\/=\\]{64}/ nocase
        $c3 = /\b(eval|assert)\s*\(\s*@?\s*pack\s*\(\s*['"]H\*['"]/ nocase
        $c4 = /\bcreate_function\s*\([^;]{0,40},\s*@?\s*(gzinflate|gzuncompress|gzdecode|str_rot13|strrev|hex2bin|base64_decode|convert_uudecode|pack)\s*\(/ nocase
        $c5 = /\b([eE]val|[aA]ssert)\s*\(\s*@?\s*(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode)\s*\(\s*\$[a-z_0-9]{1,30}\s*\)\s*\)/ nocase
        $c6 = /\b(eval|assert)\s*\(\s*@?\s*base64_decode\s*\(\s*[A-Za-z0-9+\/]{40}/
        // One function of any name, then a decoder ($c1 takes two decoders):
        // each level of any name lets the regex run on through the next
        // "eval(" of a file padded with them and doubles its cost (issue 10:
        // four levels took 1.4 s a MiB of such padding).
        $c7 = /\b(eval|assert)\s*\(\s*@?\s*[a-z0-9_]{1,20}\s*\(\s*@?\s*(gzinflate|gzuncompress|gzdecode|base64_decode|str_rot13|convert_uudecode)\s*\(/ nocase
        $c8 = /\b(eval|assert)\s*\(\s*['"]\?>['"]\s*\.\s*@?\s*(gzinflate|gzuncompress|gzdecode|base64_decode|str_rot13|convert_uudecode)/ nocase
        $c9 = /\b(eval|assert)\s*\(\s*@?\s*\$[a-z0-9_]{1,30}\s*\(\s*['"][A-Za-z0-9+\/=\r\n]{200}/ nocase
        $c11 = /\b(eval|assert)\s*\(\s*@?\s*[a-zA-Z_][a-zA-Z0-9_]{0,30}\s*\(\s*['"][A-Za-z0-9+\/=]{200}/
        $c12 = /\b(eval|assert)\s*\(\s*['"]\?>['"]\s*\.\s*\$[a-zA-Z_]/ nocase
        $dz = /\$[a-zA-Z_][a-zA-Z0-9_]{0,20}\s*=\s*@?\s*(gzinflate|gzuncompress|gzdecode)\s*\(/ nocase
        $c13 = /(gzinflate|gzuncompress|gzdecode|str_rot13|convert_uudecode)\s*\(\s*@?\s*\$[a-zA-Z_0-9]{1,30}\s*\)\s*;\s*@?\s*(eval|assert)\s*\(\s*@?\s*\$/ nocase
        $c10 = /\b(eval|assert)\s*\/\*[^*]{0,60}\*\/\s*\(/ nocase
        // JavaScript eval(atob("...")) held in a PHP string (XSS payloads
        // in test data, e.g. Grav's UriTest) is not PHP code execution,
        // unless the file defines a PHP function atob itself.
        $js = /\beval\s*\(\s*atob\s*\(/
        $atob = /function\s+atob\s*\(/ nocase
    condition:
        filesize < 5MB and (
            any of ($c1, $c2, $c3, $c4, $c5, $c6, $c7, $c8, $c9, $c10, $c13) or
            ($c12 and $dz) or
            (#c11 < 100 and for any i in (1..#c11) : ($atob or not $js at @c11[i]))
        )
}

/* Long encoded payloads (base64/hex) next to an execution sink. */
rule php_obf_encoded_blob_exec
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "large base64/hex payload string in a file that evaluates decoded data (packed webshell)"
    strings:
        $b64 = /(base64_decode|gzinflate|gzuncompress|str_rot13|convert_uudecode)\s*\(\s*['"][A-Za-z0-9+\/\r\n]{1000}/ nocase
        $ev1 = /\b(eval|assert)\s*\(/ nocase
        $ev2 = /\bcreate_function\s*\(/ nocase
        $ev3 = /preg_replace\s*\(\s*['"][^'"\n]{1,40}\/e['"]/ nocase
        $dec = /\b(base64_decode|gzinflate|gzuncompress|str_rot13|convert_uudecode)\s*\(/ nocase
    condition:
        filesize < 5MB and $b64 and any of ($ev*) and $dec
}

/* Hex/octal-escaped names of sensitive functions ("\x65\x76\x61\x6C"). */
rule php_obf_escaped_function_names
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "names of eval/assert/base64_decode/system/$_POST written as \\x or octal escapes to hide them"
    strings:
        $h1 = /\\x(65|45)\\x(76|56)\\x(61|41)\\x(6c|4c)/ nocase
        $h2 = /\\x(61|41)\\x(73|53)\\x(73|53)\\x(65|45)\\x(72|52)\\x(74|54)/ nocase
        $h3 = /\\x62\\x61\\x73\\x65\\x36\\x34/ nocase
        $h4 = /\\x(67|47)\\x(7a|5a)\\x(69|49)\\x(6e|4e)\\x(66|46)/ nocase
        $h5 = /\\x5f\\x50\\x4f\\x53\\x54/ nocase
        $h6 = /\\x73\\x79\\x73\\x74\\x65\\x6d/ nocase
        $h7 = /\\x63\\x72\\x65\\x61\\x74\\x65\\x5f/ nocase
        $o1 = "\\145\\166\\141\\154"
        $o2 = "\\141\\163\\163\\145\\162\\164"
        $o3 = "\\142\\141\\163\\145\\66\\64"
        $m1 = /as\\x73ert|ass\\x65rt|asser\\x74|\\x61ssert|a\\x73sert|e\\x76al|ev\\x61l|\\x65val|eva\\x6c/ nocase
        $m2 = /as\\163ert|ass\\145rt|\\145val|e\\166al|ev\\141l/
        $m3 = /ba\\x73e64|base\\x36\\x34|base64_\\x64|b\\x61se64/ nocase
        $m4 = /\\x5fPOST|_\\x50OST|_P\\x4fST|_PO\\x53T|\\x5fGET|_\\x47ET/ nocase
    condition:
        filesize < 5MB and any of them
}

/* base64 of the names/idioms that only backdoors need to hide. */
rule php_obf_base64_keywords
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "base64 encodings of eval/assert/$_POST/system idioms embedded in PHP, used to hide a backdoor from text search"
    strings:
        $k1 = "YXNzZXJ0"          // assert
        $k2 = "QGV2YWwo"          // @eval(
        $k3 = "ZXZhbCgk"          // eval($
        $k4 = "JF9QT1NUW"         // $_POST[
        $k5 = "JF9SRVFVRVNUW"     // $_REQUEST[
        $k6 = "JF9HRVRb"          // $_GET[
        $k7 = "ZXZhbChiYXNlNjRfZGVjb2Rl"   // eval(base64_decode
        $k8 = "ZXZhbChnemluZmxhdGUo"       // eval(gzinflate(
        $k9 = "c2hlbGxfZXhlYyg"   // shell_exec(
        $k10 = "cGFzc3RocnUo"     // passthru(
        $k11 = "Y3JlYXRlX2Z1bmN0aW9u" // create_function
        $k12 = "ZXZhbChzdHJfcm90MTMo"  // eval(str_rot13(
        $k13 = "ZmlsZV9nZXRfY29udGVudHMoInBocDovL2lucHV0" // file_get_contents("php://input
        $k14 = "JF9DT09LSUVb"     // $_COOKIE[
        $k15 = "c3lzdGVtKCRf"     // system($_
        $k16 = "ZXZhbCgkX1BPU1Rb" // eval($_POST[
        $k17 = "ZXZhbCgkX1JFUVVFU1Rb" // eval($_REQUEST[
        $k18 = "QGFzc2VydCg"      // @assert(
        $k19 = "PD9waHAgQGV2YWw"  // <?php @eval
        $k20 = "PD9waHAgZXZhbC"   // <?php eval
        $php = "<?"
    condition:
        filesize < 5MB and $php and any of ($k*)
}

/* rot13 / strrev spellings of sensitive functions fed to a decoder. */
rule php_obf_rot13_strrev_names
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "eval/assert/base64_decode/$_POST spelled in rot13 or reversed and decoded at runtime"
    strings:
        $r1 = /str_rot13\s*\(\s*['"](riny|nffreg|onfr64_qrpbqr|tmvasyngr|pervngr_shapgvba|flfgrz|cnffgueh|furyy_rkrp)/ nocase
        $r2 = /str_rot13\s*\(\s*['"][^'"]{0,30}\$_(CBFG|TRG|ERDHRFG|PBBXVR)/
        $s1 = /strrev\s*\(\s*['"](lave|tressa|edoced_46esab|etalfnizg|noitcnuf_etaerc|metsys|urhtssap|cexe_llehs|TSOP_|TEG_|TSEUQER_)['"]/ nocase
        $s2 = /['"](tressa|edoced_46esab|etalfnizg|noitcnuf_etaerc)['"]/ nocase
        $s3 = /['"]lave['"]/
        $s4 = /strrev\s*\(/ nocase
        $s5 = /strrev\s*\(\s*['"][^'"\n]{1,12}['"]\s*\.\s*['"][^'"\n]{1,12}['"]\s*\./ nocase
    condition:
        filesize < 5MB and (any of ($r*) or $s1 or $s5 or (($s2 or $s3) and $s4))
}

/* "as"."sert", 'e'.'v'.'a'.'l', "_P"."OST": sensitive names split into
   concatenated literals so that text search misses them. */
rule php_obf_split_names
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "assert/eval/base64_decode/create_function/_POST assembled from concatenated string fragments"
    strings:
        $a1 = "\"a\".\"s\".\"s" nocase
        $a1b = "'a'.'s'.'s" nocase
        $a1c = "\"a\" . \"s\" . \"s" nocase
        $a1d = "'a' . 's' . 's" nocase
        $a2 = /['"](as|ass|asse|asser)['"]\s*\.\s*['"](sert|ert|rt|t)['"]/ nocase
        $a4 = "\"e\".\"v\".\"a" nocase
        $a4b = "'e'.'v'.'a" nocase
        $a4c = "\"e\" . \"v\" . \"a" nocase
        $a4d = "'e' . 'v' . 'a" nocase
        $a5 = /['"](ev|eva)['"]\s*\.\s*['"](al|l)['"]/ nocase
        $a6 = /['"](_P|_PO|_POS)['"]\s*\.\s*['"](OST|ST|T)['"]/
        $a7 = "\"_\".\"P\".\"O"
        $a7b = "'_'.'P'.'O"
        $a7c = "\"_\" . \"P\" . \"O"
        $a7d = "'_' . 'P' . 'O"
        $a8 = /['"](ba|bas|base|base6|base64|base64_|base64_d|base64_de)['"]\s*\.\s*['"](se64|e64|64|4|_decode|decode|ecode|code)/ nocase
        $a9 = /['"](cr|cre|crea|creat|create|create_|create_f)['"]\s*\.\s*['"](eate_f|ate_f|te_f|e_f|_fun|func|unction|nction|ction)/ nocase
        $a10 = /['"](_G|_GE)['"]\s*\.\s*['"](ET|T)['"]/
        $a11 = /['"](_R|_RE|_REQ|_REQU|_REQUE|_REQUES)['"]\s*\.\s*['"](EQUEST|QUEST|UEST|EST|ST|T)['"]/
        $a12 = /(gz|gzi|gzin|gzinf|gzinfl)['"]\s*\.\s*['"](inflate|nflate|flate|late|ate)/ nocase
        $a19 = /(ba|bas|base|base6)['"]\s*\.\s*['"](se64_|e64_|64_|4_)/ nocase
        $a20 = /(_de|_dec|_deco|_decod)['"]\s*\.\s*['"](code|ode|de|e)\b/ nocase
        $a13 = /['"](sy|sys|syst|syste)['"]\s*\.\s*['"](stem|tem|em|m)['"]\s*;/ nocase
        $a14 = /['"](str_r|str_ro|str_rot)['"]\s*\.\s*['"](ot13|t13|13)['"]/ nocase
        $a15 = /['"](she|shel|shell|shell_|shell_e)['"]\s*\.\s*['"](ll_exec|l_exec|_exec|exec|xec)['"]/ nocase
        $a16 = /['"](pas|pass|passt|passth)['"]\s*\.\s*['"](sthru|thru|hru|ru)['"]/ nocase
        // a variable glued to the tail of "assert"
        $a17 = /\.\s*['"](sert|ssert)['"]/ nocase
        $a18 = /\$[a-z_][a-z0-9_]{0,20}\s*\.\s*['"]ert['"]/ nocase
    condition:
        filesize < 5MB and any of them
}

/* chr(101).chr(118).chr(97).chr(108) style name building next to a
   dynamic call or eval. */
rule php_obf_chr_building
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "function names or code built from long chr()/ord() sequences and then executed dynamically"
    strings:
        $chr = /chr\s*\(\s*\d{2,3}\s*\)\s*\.\s*chr\s*\(\s*\d{2,3}\s*\)\s*\.\s*chr\s*\(/ nocase
        $e1 = /chr\s*\(\s*101\s*\)\s*\.\s*chr\s*\(\s*118\s*\)\s*\.\s*chr\s*\(\s*97\s*\)\s*\.\s*chr\s*\(\s*108\s*\)/ nocase
        $e2 = /chr\s*\(\s*97\s*\)\s*\.\s*chr\s*\(\s*115\s*\)\s*\.\s*chr\s*\(\s*115\s*\)/ nocase
        $e3 = /chr\s*\(\s*95\s*\)\s*\.\s*chr\s*\(\s*80\s*\)\s*\.\s*chr\s*\(\s*79\s*\)/ nocase
        $e4 = /chr\s*\(\s*99\s*\)\s*\.\s*chr\s*\(\s*104\s*\)\s*\.\s*chr\s*\(\s*114\s*\)/ nocase
        $f1 = /\((9[0-9]|1[01][0-9])\)\.\$[a-zA-Z_][a-zA-Z0-9_]{0,20}\((9[0-9]|1[01][0-9])\)\.\$/
        $dyn = /(@\$[a-z_][a-z0-9_]{0,20}\s*\(|\beval\s*\(|\bassert\s*\(|create_function)/ nocase
    condition:
        filesize < 2MB and (any of ($e*) or $f1 or #chr > 8) and $dyn
}

/* str_replace used to strip junk out of a function name, whose result is
   then called (Weevely-style and many caidao variants). */
rule php_obf_str_replace_name
{
    meta:
        severity = "high"
        family = "weevely"
        description = "function name recovered by stripping junk characters with str_replace (e.g. 'a`s`s`e`r`t'), or str_replace aliased to strip names at runtime"
    strings:
        $sr = /str_replace\s*\(\s*['"][^'"\n]{1,6}['"]\s*,\s*['"]['"]\s*,\s*['"][a-z0-9_`~!#%^&*|.,:;-]{5,60}['"]\s*\)/ nocase
        $n1 = /str_replace\s*\(\s*['"][^'"\n]{1,6}['"]\s*,\s*['"]['"]\s*,\s*['"][^'"\n]{0,20}(a[^a-z'"]{1,6}s[^'"]{0,6}s[^'"]{0,6}e[^'"]{0,6}r[^'"]{0,6}t|e[^a-z'"]{1,6}v[^'"]{0,6}a[^'"]{0,6}l|b[^'"]{0,6}a[^'"]{0,6}s[^'"]{0,6}e[^'"]{0,6}6[^'"]{0,6}4|c[^'"]{0,6}r[^'"]{0,6}e[^'"]{0,6}a[^'"]{0,6}t[^'"]{0,6}e[^'"]{0,6}_)/ nocase
        // str_replace stored in a variable and called with the same (junk, "", subject) shape
        $al1 = "\", \"\", \""
        $al2 = "\",\"\",\""
        $al3 = "', '', '"
        $al4 = "','',''"
        $cf1 = "('', $"
        $cf2 = "(\"\", $"
        $cf3 = "('',$"
        $cf4 = "(\"\",$"
        $cf5 = "$_POST" 
        $cf6 = "$_REQUEST"
    condition:
        filesize < 200KB and (
            $n1 or
            ($sr and any of ($al*) and any of ($cf*)) or
            (#sr >= 2 and any of ($cf*))
        )
}

/* Non-alphanumeric shells: names produced by XOR/NOT of punctuation
   strings ("`{{{"^"?<>/" == _GET). */
rule php_obf_non_alphanumeric
{
    meta:
        severity = "critical"
        family = "php_non_alnum"
        description = "non-alphanumeric PHP: function and superglobal names built by XOR/NOT of punctuation strings and then called"
    strings:
        $x1 = "\"^\""
        $x2 = "'^'"
        $x3 = /\$\{\s*\$_+\s*\}\s*\[/
        $x4 = /\$_+\s*\(\s*\$_+\s*\[/
        $x5 = /\.=\s*~\s*\(\s*\$_+\s*\{/
        $x6 = /\$_+\s*\[\s*@?-?_?\s*\]\s*\(\s*\$_+/
        $x7 = /\$\{\s*\$_+\s*\}\s*\[\s*_+\s*\]\s*\(/
        $x8 = /\$_+\s*=\s*\$\$_+\s*;/
    condition:
        filesize < 100KB and (
            2 of ($x3, $x4, $x5, $x6, $x7, $x8) or
            (#x1 + #x2 >= 2 and any of ($x3, $x4, $x5, $x6, $x7, $x8))
        )
}

/* ${"_P"."OST"}, $$name where name is '_POST', foreach(array('_POST')...){$$k=$v}
   plus a dynamic call: request registered into variables then executed. */
rule php_obf_indirect_superglobal
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "superglobal reached indirectly (variable-variables, ${'_PO'.'ST'}, XOR-built name) and fed to a dynamic function call"
    strings:
        $g1 = /\$\{\s*['"]_(P|PO|POS|G|GE|R|RE|C|CO)['"]\s*\.\s*['"]/
        $g2 = /array\s*\(\s*['"]_(POST|GET|REQUEST|COOKIE)['"]\s*(,\s*['"]_(POST|GET|REQUEST|COOKIE)['"]\s*){0,3}\)\s*as\s*\$[a-z_0-9]{1,20}\s*\)/ nocase
        $g3 = /\$\$[a-z_][a-z0-9_]{0,20}\s*=\s*\$[a-z_][a-z0-9_]{0,20}\s*;/ nocase
        $g4 = /\$\{\s*(strtoupper|strtolower|base64_decode|str_rot13|strrev)\s*\(/ nocase
        $g6 = /\bextract\s*\(\s*\$_(POST|GET|REQUEST|COOKIE)/ nocase
        $fe = /foreach\s*\(\s*\$\$[a-z_][a-z0-9_]{0,20}\s+as/ nocase
        $d1 = /extract\s*\(\s*\$_(POST|GET|REQUEST|COOKIE)[^;\n]{0,30}\)\s*;\s*@?\$[a-zA-Z_][a-zA-Z0-9_]{0,20}\s*\(\s*\$/ nocase
        $d2 = /\b(eval|assert)\s*\(/ nocase
        $d3 = /\$this\s*\(\s*\$/
    condition:
        filesize < 30KB and (
            (($g1 or $g4) and any of ($d*)) or
            ($g2 and $g3 and any of ($d*)) or
            ($g6 and $d1 and filesize < 5KB) or
            ($g2 and $fe and filesize < 5KB)
        )
}

/* Code that hides a key function name in an array/substring lookup of an
   alphabet string ("abcdefghijklmnopqrstuvwxyz"[4].[21]...). */
rule php_obf_alphabet_lookup
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "function names assembled by indexing characters out of an alphabet/junk string, then called dynamically"
    strings:
        $idx = /\d\]\.\$[a-zA-Z_][a-zA-Z0-9_]{0,20}[\[{]\d{1,2}[\]}]\.\$[a-zA-Z_][a-zA-Z0-9_]{0,20}[\[{]\d{1,2}[\]}]/
        $dyn1 = "create_function" nocase
        $dyn3 = "@$_["
        $dyn2 = /\b(eval|assert)\s*\(\s*\$/ nocase
    condition:
        filesize < 20KB and #idx >= 3 and any of ($dyn*)
}

/* pack('c*', 99, 97, ...) / $p('c*', 0x63, ...) building function names. */
rule php_obf_pack_charcodes
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "function names or URLs assembled from pack('c*'/'C*'/'H*') character codes and then called dynamically"
    strings:
        $p = /['"]c\*['"], ?(0x[0-9a-f]{2}|\d{2,3}), ?(0x[0-9a-f]{2}|\d{2,3}),/ nocase
        $h = /pack\s*\(\s*['"]H\*['"]\s*,\s*['"][0-9a-fA-F]{16}/ nocase
        $d1 = /\$GLOBALS\s*\[\s*['"][a-z0-9_]{1,10}['"]\s*\]\s*\(/ nocase
        $d2 = /\b(eval|assert|create_function)\s*\(/ nocase
    condition:
        filesize < 100KB and (#p >= 2 or ($p and $h)) and any of ($d*)
}

/* Code produced by XOR of two string literals and executed. */
rule php_obf_xor_literal_exec
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "code or function name produced by XOR of two string literals and passed to a dynamic call or eval"
    strings:
        $x1 = /'\^'[^'\n]{4,300}'\s*\)\s*;/
        $x1b = /"\^"[^"\n]{4,300}"\s*\)\s*;/
        $x2 = /\b(eval|assert)\s*\(\s*['"][^'"\n]{4,300}['"]\s*\^\s*['"]/ nocase
        $x3 = /'\^'[^'\n]{3,12}'\s*;/
        $x3b = /"\^"[^"\n]{3,12}"\s*;/
        $v = /\$\{\s*\$[a-z_][a-z0-9_]{0,20}\s*\}\s*\[/ nocase
        $asn = /['"](sert|ssert|ert)['"]\s*;/ nocase
        $hx = /\^\s*hex2bin\s*\(\s*['"][0-9a-f]{6,}['"]\s*\)/ nocase
    condition:
        filesize < 100KB and ((($x1 or $x1b) and $asn) or $x2 or (($x3 or $x3b) and $v) or $hx)
}

/* Comments spliced into string concatenations ("_P" + comment + "OST") to
   defeat text matching. */
rule php_obf_comment_splicing
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "string fragments glued with comments between them (\"as\"./*x*/\"sert\"), an evasion trick used by webshells"
    strings:
        $c1 = /['"]\s*\.\s*\/\*[^\n]{0,20}\*\/\s*['"]/
        $c2 = /\/\*[^\n]{0,20}\*\/\s*['"][^'"\n]{1,4}['"]\s*\.\s*\/\*/
        $c3 = /\$\s*\/\*[^\n]{0,20}\*\/\s*\{/
    condition:
        filesize < 100KB and (#c1 + #c2 >= 3 or $c3)
}

/* Many tiny string literals glued together from separate variables and
   then evaluated: $s0="e";$s1="val($";... eval($s0.$s1...).             */
rule php_obf_fragment_assembly
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "code assembled from tiny string fragments (\"val($\", \"_P\", \"ST\") concatenated and then evaluated"
    strings:
        $f1 = /['"]val\(\$?['"]/ nocase
        $f2 = /['"](_P|_PO|_G|_R|_RE)['"]\s*;/
        $f3 = /['"](OST|ST|ET|EQUEST|QUEST)['"]\s*;/
        $f4 = /['"](as|ass|ev|eva|asse)['"]\s*;/ nocase
        $ev = /\b(eval|assert)\s*\(\s*@?\s*\$/ nocase
    condition:
        filesize < 4KB and 2 of ($f*) and $ev
}

/* Heavy use of $_, $__, $___ as names plus array/XOR tricks. */
rule php_obf_underscore_names
{
    meta:
        severity = "high"
        family = "php_non_alnum"
        description = "code written almost only with $_/$__ variables and operators (non-alphanumeric shell construction)"
    strings:
        $u = /\$_{1,6}\s*\[/
        $v = /\$_{2,6}[^a-zA-Z0-9_]/
        $call = /\$_{1,6}\s*(\[[^\]\n]{1,20}\]\s*)?\(/
    condition:
        filesize < 20KB and #u >= 6 and #v >= 10 and $call
}

/* Names written as printable \x / octal escapes and then called:
   $f="\x62\x61\163\145..."; @eval($f(...)).                          */
rule php_obf_escaped_name_call
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "variable holding a function name written entirely in \\x/octal escapes, then used for eval or a dynamic call"
    strings:
        $n = /= ?"\\(x[2-7][0-9a-fA-F]|1[0-7][0-7]|[4-7][0-7])(\\x[2-7][0-9a-fA-F]|\\1[0-7][0-7]|\\[4-7][0-7]|[a-zA-Z0-9_]){4,30}"\s*;/
        $g = /\$\{\s*"(\\x[2-7][0-9a-fA-F]|\\1[0-7][0-7]|[A-Z_]){3,12}"\s*\}/
        $e1 = /\b(eval|assert)\s*\(\s*@?\s*\$[a-zA-Z0-9_]{1,30}\s*\(/ nocase
        $e3 = /\b(eval|assert)\s*\(\s*\$/ nocase
    condition:
        filesize < 2MB and (($n and any of ($e*)) or ($g and $e3))
}

/* Variable names produced by decoder calls: ${f("..")} everywhere
   (output of commercial-grade obfuscators used on shells). */
rule php_obf_computed_variable_names
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "variable names computed by calling a decoder function (${fn(\"..\")}) throughout the file: heavy obfuscation used by shells"
    strings:
        $v = /\$\{\s*[A-Za-z0-9_]{3,30}\s*\(\s*["']/
    condition:
        filesize < 2MB and #v >= 8
}

/* Repeating-key XOR of an embedded blob with a key from a cookie/request,
   result executed. */
rule php_obf_xor_keyed_loader
{
    meta:
        severity = "critical"
        family = "php_encrypted_loader"
        description = "embedded blob XOR/char-arithmetic-decrypted with a key taken from a cookie/request and executed"
    strings:
        $x1 = /\^\s*str_repeat\s*\(/ nocase
        $x2 = /chr\s*\(\s*\(?\s*ord\s*\(\s*\$[a-z_][a-z0-9_]{0,20}\s*\[\s*\$[a-z_][a-z0-9_]{0,20}\s*\]\s*\)\s*[-+^]\s*ord\s*\(/ nocase
        $k = /\$_(COOKIE|POST|GET|REQUEST|SERVER)\s*\[/
        $e1 = "create_function" nocase
        $e2 = /\b(eval|assert)\s*\(/ nocase
        $b = /(base64_decode|str_rot13|gzinflate)\s*\(/ nocase
    condition:
        filesize < 2MB and any of ($x*) and $k and any of ($e*) and $b
}

/* Variable-variable names written in \x escapes: ${"\x47L\x4f\x42..."}
   ["x"] (GLOBALS and other names hidden by the "GLOBALS" obfuscators that
   wrap whole shells). Benign code writes $GLOBALS['x'] or ${'name'}; no
   Debian or benign-web file escapes the characters of a variable name. */
rule php_obf_escaped_variable_names
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "variable-variable names (${\"GLOBALS\"} ...) written with \\x escapes throughout the file: obfuscated shell"
    strings:
        $v = /\$\{\s*"[A-Za-z_]{0,12}\\x[0-9a-fA-F]{2}(\\x[0-9a-fA-F]{2}|[A-Za-z_0-9]){0,16}"\s*\}/
    condition:
        filesize < 5MB and #v >= 5
}

/* Function names assembled by indexing an alphabet string with a fixed
   list of positions: foreach([21,29,2,4,...] as $p) { $f .= $abc[$p]; },
   then called through the variable: two such loops (function name and
   argument decoder), or one loop next to names padded with runs of empty
   literals ('n'.'o'.''.''.'i'...). Benign code does not spell names out
   of index lists nor concatenate runs of empty strings. */
rule php_obf_index_list_name
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "function names spelled by indexing an alphabet with a fixed position list (foreach([..] as $i) $f .= $abc[$i]) and called dynamically"
    strings:
        $l = /foreach\s*\(\s*(\[|array\s*\()\s*[0-9]{1,3}\s*(,\s*[0-9]{1,3}\s*){4,}(\]|\))\s*as\s*\$[a-zA-Z_0-9]{1,30}\s*\)\s*\{?\s*\$[a-zA-Z_0-9]{1,30}\s*\.=\s*\$[a-zA-Z_0-9]{1,30}\s*\[\s*\$[a-zA-Z_0-9]{1,30}\s*\]/
        $e1 = "''.''.''"
        $e2 = "\"\".\"\".\"\""
        $e3 = "'' . '' . ''"
    condition:
        filesize < 5MB and $l and (#l >= 2 or any of ($e*))
}

/* Identifiers renamed to runs of O, o and 0 (OOO0O0o0O0(), $o0O0o0O0o...):
   the output of the "O0" PHP obfuscators used on shells and DDoS panels.
   Benign: no real identifier mixes letter O and digit 0 ten times; the
   long zero runs of dates/hashes in data files start with a digit. */
rule php_obf_o0_identifiers
{
    meta:
        severity = "high"
        family = "php_obfuscated_eval"
        description = "functions and variables renamed to O/o/0 runs (OOO0O0o0O0...): O0-obfuscated PHP"
    strings:
        $f = /(O0O0|0O0O|o0o0|0o0o|O0o0|o0O0|0O0o|0o0O|OO0O|O0OO|oo0o|o0oo)[O0o]{4,50}\s*\(/
        $v = /\$[Oo][O0o]{0,20}(O0O0|0O0O|o0o0|0o0o|O0o0|o0O0|0O0o|0o0O|OO0O|O0OO|oo0o|o0oo)[O0o]{2,50}/
    condition:
        filesize < 5MB and (#f + #v) >= 10 and #f >= 2
}
