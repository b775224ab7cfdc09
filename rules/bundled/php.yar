/*
 * shellwatch bundled rules: PHP webshells and backdoors (behaviour).
 *
 * Every rule here looks for what makes a shell a shell: request input
 * reaching code or command execution, shell UIs (file manager, command
 * console, uploader, SQL dumper, mailer), reverse/bind shells and the
 * request-driven encrypted loaders of Behinder/Godzilla/AntSword.
 * Obfuscation and encoding rules live in php_obfuscation.yar.
 */

/* ------------------------------------------------------------------ */
/* Code execution of request input: eval/assert/create_function of     */
/* $_GET/$_POST/... (the China Chopper / caidao one-liner family).     */
/* ------------------------------------------------------------------ */
rule php_eval_request_input
{
    meta:
        severity = "critical"
        family = "china_chopper"
        description = "eval/assert/create_function applied (possibly through a decoder) to request input: remote code execution backdoor"
    strings:
        // eval($_POST['x']), @eval(base64_decode($_REQUEST[z0])),
        // eval(magicboom($_POST[..])), eval($HTTP_POST_VARS[...]),
        // eval(${"_POST"}[...]), eval(getenv('HTTP_X')),
        // eval(file_get_contents('php://input')), eval(getallheaders()[..]).
        // One regex for all of them, with at most one function of any name
        // between eval( and the input; $e2 takes a second one after a
        // transform shells use (assert(stripslashes(trim($_GET[c])))).
        // Every function level of any name lets the regex run on through
        // the next "eval(" of a file padded with them, at each one, and
        // doubles its cost: six regexes of three levels ran a shell behind
        // 2 MiB of "eval(" out of YARA's time (issue 10; go test ./rules
        // -bench RulePadding). $e2 is looked for by the transform's name
        // ([eE]val), not by "eval".
        $e1 = /\b(eval|assert)\s*\(\s*@?\s*(\(\s*)?([a-z0-9_]{3,20}\s*\(\s*@?\s*)?(\$_(GET|POST|REQUEST|COOKIE|SERVER|FILES)\s*[\[{]|\$HTTP_(GET|POST|COOKIE)_VARS\s*\[|\$\{\s*['"]_[a-z'". ]{3,20}\}\s*\[|getenv\s*\(\s*['"]HTTP_|file_get_contents\s*\(\s*['"]php:\/\/input|getallheaders\s*\()/ nocase
        $e2 = /\b([eE]val|[aA]ssert)\s*\(\s*@?\s*(stripslashes|base64_decode|str_rot13|gzinflate|gzuncompress|urldecode|rawurldecode|strrev|trim)\s*\(\s*@?\s*[a-z0-9_]{3,20}\s*\(\s*@?\s*\$_(GET|POST|REQUEST|COOKIE|SERVER|FILES)\s*[\[{]/ nocase
        $e6 = /\bcreate_function\s*\([^;]{0,40},\s*@?\s*([a-z0-9_]{3,20}\s*\(\s*@?\s*){0,3}\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/ nocase
    condition:
        any of them
}

/* Code executed from a request header or raw body via include. */
rule php_include_request_input
{
    meta:
        severity = "critical"
        family = "php_include_backdoor"
        description = "include/require of a path or stream taken from the request (php://input, $_GET...): arbitrary code inclusion backdoor"
    strings:
        $i1 = /\b(include|require)(_once)?\s*\(?\s*@?\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase
        $i2 = /\b(include|require)(_once)?\s*\(?\s*['"](php:\/\/input|php:\/\/filter\/read=convert\.base64-decode\/resource=data)/ nocase
        $i3 = /\b(include|require)(_once)?\s*\(?\s*@?\s*getenv\s*\(\s*['"]HTTP_/ nocase
    condition:
        any of them
}

/* ------------------------------------------------------------------ */
/* Command execution of request input.                                 */
/* ------------------------------------------------------------------ */
rule php_exec_request_input
{
    meta:
        severity = "critical"
        family = "php_generic_exec"
        description = "system/exec/passthru/shell_exec/popen/proc_open fed directly by request input: remote command execution"
    strings:
        $x1 = /\b(system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec)\s*\(\s*@?\s*(\(\s*)?([a-z0-9_]{3,20}\s*\(\s*){0,2}\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*[\[{]/ nocase
        $x2 = /\b(system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec)\s*\(\s*@?\s*([a-z0-9_]{3,20}\s*\(\s*){0,2}\\?\$HTTP_(GET|POST|COOKIE)_VARS\s*\[/ nocase
        $x6 = /\b(system|passthru|shell_exec|exec|popen|proc_open|eval|assert)\s*\(\s*@?\s*\\\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase
        $x7 = /\b(system|passthru|shell_exec|exec|popen)\s*\(\s*['"][^'"\n]{1,40}['"]\s*\.\s*\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/ nocase
        $x3 = /\b(system|passthru|shell_exec|exec|popen|proc_open)\s*\(\s*@?\s*([a-z0-9_]{3,20}\s*\(\s*){0,2}getenv\s*\(\s*['"]HTTP_/ nocase
        // backticks around request input
        $x4 = /(=|\(|echo|print)\s*`\s*\{?\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase
    condition:
        any of them
}

/* Classic "cmd" web console: request parameter named like a command plus
   an exec primitive called on a variable, in a small file. */
rule php_cmd_param_console
{
    meta:
        severity = "high"
        family = "php_generic_exec"
        description = "small script that reads a cmd/command request parameter and runs a variable through an OS command function"
    strings:
        $in1 = /\$_(GET|POST|REQUEST|COOKIE)\s*\[\s*['"]?-?(cmd|command|comando|cmmd|execute|exec|shell|run|c|kom|komut|cmdexe)['"]?\s*\]/ nocase
        $in2 = /\$HTTP_(GET|POST)_VARS\s*\[\s*['"]?(cmd|command|c)['"]?\s*\]/ nocase
        $ex = /\b(system|passthru|shell_exec|popen|proc_open|exec)\s*\(\s*@?\s*\$[a-z_]/ nocase
    condition:
        filesize < 200KB and any of ($in*) and $ex
}

/* A function name taken from the request and called: $_GET['f']($_GET['a']),
   $f=$_POST['x']; ... $f($_POST['y']); or a variable function whose argument
   is request input. */
rule php_request_variable_function
{
    meta:
        severity = "critical"
        family = "china_chopper"
        description = "request input used as the function name of a call, or a variable function applied to request input (dynamic RCE)"
    strings:
        $v1 = /\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[[^\]\n]{1,40}\]\s*\(\s*@?\s*[\$'"]/
        $v2 = /\$\{\s*\$[a-z_]{1,20}\s*\}\s*\[[^\]\n]{1,20}\]\s*\(\s*\$\{\s*\$[a-z_]{1,20}\s*\}\s*\[/ nocase
        $v3 = /[^>:a-z0-9_\\]\$[a-z_][a-z0-9_]{0,20}\s*\(\s*@?\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase
        $v4 = /[^>:a-z0-9_\\]\$[a-z_][a-z0-9_]{0,20}\s*\(\s*@?\s*(stripslashes|base64_decode|trim|urldecode)\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/ nocase
    condition:
        filesize < 2MB and any of them
}

/* Callback APIs abused to run request input or a decoded/named "assert". */
rule php_callback_exec
{
    meta:
        severity = "critical"
        family = "php_callback_backdoor"
        description = "callback API (array_map, call_user_func, usort, register_shutdown_function, ReflectionFunction ...) whose callback is assert/system or comes from the request/a decoder"
    strings:
        // callback-first APIs given 'assert' / 'system' / request input / decoder output as callback
        $f1 = /\b(array_map|call_user_func|call_user_func_array|register_shutdown_function|register_tick_function|forward_static_call|forward_static_call_array|header_register_callback|set_error_handler|set_exception_handler|ob_start|iterator_apply)\s*\(\s*@?\s*(['"]\s*(assert|system|passthru|shell_exec|exec)\s*['"]|assert\s*,|\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[|(base64_decode|str_rot13|strrev|gzinflate|hex2bin)\s*\()/ nocase
        // callback-last APIs
        $f2 = /\b(array_filter|array_walk|array_walk_recursive|usort|uasort|uksort|array_reduce|preg_replace_callback|array_intersect_uassoc|array_intersect_ukey|array_udiff|array_udiff_assoc|array_diff_ukey|array_diff_uassoc|array_uintersect)\s*\([^;]{1,120},\s*@?\s*(['"]\s*(assert|system|passthru|shell_exec)\s*['"]|assert\s*\))/ nocase
        $f3 = /\b(array_filter|array_walk|array_walk_recursive|usort|uasort|uksort|array_reduce|array_map)\s*\(\s*\$[a-z_0-9]{1,20}\s*,\s*@?\s*(base64_decode|str_rot13|strrev|gzinflate|hex2bin)\s*\(/ nocase
        $f4 = /\b(array_walk|array_walk_recursive)\s*\(\s*\$[a-z_0-9]{1,20}\s*,\s*\$[a-z_0-9]{1,20}\s*,\s*['"]/ nocase
        $refl = /new\s+Reflection(Function|Method)\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)/ nocase
        $req = /\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/
        $xsl = "registerPHPFunctions" nocase
        $xa = /['"]\s*assert\s*['"]/ nocase
        $pe = "|.*|e"
    condition:
        filesize < 500KB and (
            $refl or
            (($f1 or $f2 or $f3) and ($req or filesize < 2KB)) or
            ($f4 and $pe) or
            ($xsl and $xa and filesize < 5KB)
        )
}

/* preg_replace with the /e modifier (code evaluation) fed by request input
   or used with an encoded payload. */
rule php_preg_replace_eval
{
    meta:
        severity = "critical"
        family = "php_preg_e_backdoor"
        description = "preg_replace/mb_ereg_replace with the /e (eval) modifier combined with request input or encoded code"
    strings:
        $p1 = /\b(preg_replace|preg_filter)\s*\(\s*['"][^'"\n]{1,80}[\/|#~!@%\]\)}]\s*[imsxuADSUX]{0,6}e[imsxuADSUX]{0,6}['"]\s*,/ nocase
        $p2 = /\bmb_ereg(i)?_replace\s*\([^;]{1,120},\s*['"][a-z]{0,4}e[a-z]{0,4}['"]\s*\)/ nocase
        $p4 = /preg_replace\s*\(\s*chr\s*\(\s*(47|35|124|126)\s*\)/ nocase
        $r1 = /\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/
        $r2 = /(base64_decode|str_rot13|gzinflate|gzuncompress|\\x65\\x76|\\x61\\x73|strrev|eval)/ nocase
    condition:
        filesize < 2MB and (($p4) or (any of ($p1, $p2) and any of ($r*)))
}

/* ------------------------------------------------------------------ */
/* Encrypted request-body loaders: Behinder, Godzilla, AntSword.       */
/* ------------------------------------------------------------------ */
rule php_behinder_loader
{
    meta:
        severity = "critical"
        family = "behinder"
        description = "Behinder-style loader: AES/XOR-decrypts the raw request body with a session key and evaluates it"
    strings:
        $in1 = "php://input" nocase
        $in2 = "ZmlsZV9nZXRfY29udGVudHN8YmFzZTY0X2RlY29kZXxwaHA6Ly9pbnB1dA"
        $dec1 = "openssl_decrypt" nocase
        $dec2 = /\[\s*\$i\s*\+\s*1\s*&\s*15\s*\]/
        $sess = /\$_SESSION\s*\[\s*['"]k['"]\s*\]\s*=/
        $run1 = /\beval\s*\(/ nocase
        $run2 = "__invoke" nocase
        $run3 = "call_user_func" nocase
        $run4 = "assert" nocase
    condition:
        filesize < 100KB and any of ($in*) and any of ($dec*) and any of ($run*) and ($sess or $dec2)
}

rule php_godzilla_loader
{
    meta:
        severity = "critical"
        family = "godzilla"
        description = "Godzilla-style loader: XOR-decodes request data with a key, stores the payload in $_SESSION and evaluates it"
    strings:
        $xor1 = /\[\s*\$i\s*\+\s*1\s*&\s*15\s*\]/
        $xor2 = /\$[a-z_]{1,10}\[\$i\]\s*=\s*\$[a-z_]{1,10}\[\$i\]\s*\^\s*\$[a-z_]{1,10}/ nocase
        $sess = /\$_SESSION\s*\[\s*\$[a-z_]{1,20}\s*\]/ nocase
        $ev = /\b(eval|assert)\s*\(/ nocase
        $in1 = "php://input" nocase
        $in2 = /\$_(POST|REQUEST|COOKIE)\s*\[/
        $gz = /gz(de|un)compress|gzdecode|gzencode/ nocase
    condition:
        filesize < 100KB and any of ($xor*) and $sess and $ev and any of ($in*)
        or (filesize < 100KB and $xor1 and $ev and any of ($in*) and $gz)
}

/* Godzilla protocol however the loader is dressed (class methods,
   create_function instead of eval, $_POST copied to a variable): the key
   XOR with key[(i+1)&15], the payload kept in $_SESSION, and the reply
   framed by the two halves of an md5 of password and key.
   Benign: the (i+1)&15 key walk is Godzilla's wire format; no Debian or
   benign-web file has it, let alone with $_SESSION, md5 and eval. */
rule php_godzilla_protocol
{
    meta:
        severity = "critical"
        family = "godzilla"
        description = "Godzilla wire format: key[(i+1)&15] XOR, payload in $_SESSION, md5-framed reply, code run by eval/assert/create_function"
    strings:
        $xor1 = "1&15]"
        $xor2 = "1)&15]"
        $xor3 = "1 & 15]"
        $xor4 = "1) & 15]"
        $m = "md5(" nocase
        $sess = "$_SESSION["
        $run1 = "eval(" nocase
        $run2 = "assert(" nocase
        $run3 = "create_function(" nocase
    condition:
        filesize < 100KB and any of ($xor*) and $m and $sess and any of ($run*)
}

/* Generic: raw body or request param decrypted with openssl/mcrypt and
   evaluated. */
rule php_decrypt_request_eval
{
    meta:
        severity = "high"
        family = "php_encrypted_loader"
        description = "request data decrypted (openssl_decrypt/mcrypt/XOR loop) and passed to eval/assert: encrypted-channel backdoor"
    strings:
        $in1 = "php://input" nocase
        $in2 = /\$_(POST|REQUEST|COOKIE)\s*\[/
        $d1 = /openssl_decrypt\s*\(\s*[^;]{0,40}(\$_(POST|REQUEST|COOKIE)|php:\/\/input|\$[a-z_]{1,10}\s*,\s*['"]AES)/ nocase
        $d2 = /mcrypt_decrypt\s*\(/ nocase
        $ev = /\b(eval|assert)\s*\(\s*@?\s*\$/ nocase
    condition:
        filesize < 50KB and any of ($in*) and any of ($d*) and $ev
}

/* ------------------------------------------------------------------ */
/* Reverse and bind shells.                                            */
/* ------------------------------------------------------------------ */
rule php_reverse_shell
{
    meta:
        severity = "critical"
        family = "php_reverse_shell"
        description = "opens a network socket and attaches an interactive shell to it: reverse/bind shell"
    strings:
        $s1 = /\bfsockopen\s*\(/ nocase
        $s2 = /\bsocket_create\s*\(/ nocase
        $s3 = /\bstream_socket_(client|server)\s*\(/ nocase
        $sh1 = /\/bin\/(ba)?sh\s+-i/
        $sh2 = "<&3 >&3"
        $sh3 = /array\s*\(\s*0\s*=>\s*\$(sock|socket|s|conn|fp|f)\s*,/ nocase
        $sh4 = "script -qc /bin/" 
        $ex = /\b(proc_open|popen|shell_exec|passthru|system|exec)\s*\(/ nocase
    condition:
        filesize < 2MB and any of ($s*) and any of ($sh*) and $ex
}

/* Perl/C back-connect or bind-port payloads dropped by PHP panels. */
rule php_backconnect_payload
{
    meta:
        severity = "critical"
        family = "php_reverse_shell"
        description = "PHP panel that writes and runs an embedded back-connect / bind-port helper (perl, C, python) to get a shell"
    strings:
        $a1 = /back[ _-]?connect/ nocase
        $a2 = /bind[ _-]?port/ nocase
        $b1 = "/bin/sh" 
        $b2 = "socket(" nocase
        $b3 = /\b(system|exec|passthru|shell_exec|popen)\s*\(/ nocase
        $c1 = /\bfwrite\s*\(|\bfputs\s*\(|file_put_contents\s*\(/ nocase
    condition:
        filesize < 2MB and any of ($a*) and all of ($b*) and $c1
}

/* ------------------------------------------------------------------ */
/* Shell panels (c99, r57, WSO, b374k, phpspy...) by feature density.  */
/* ------------------------------------------------------------------ */
rule php_shell_panel_features
{
    meta:
        severity = "critical"
        family = "php_filemanager"
        description = "script combining many webshell panel features: host recon commands, privilege/safe_mode checks, command execution, file manager"
    strings:
        // recon commands shipped as presets by shell panels
        $r1 = "find / -type f -perm" nocase
        $r2 = "netstat -an" nocase
        $r3 = ".bash_history"
        $r4 = "ipconfig" nocase
        $r5 = /ps -?aux/
        $r6 = "/etc/shadow"
        $r7 = "net user" nocase
        $r8 = ".htpasswd"
        $r9 = "/etc/passwd"
        $r10 = "uname -a"
        $r11 = "ls -la"
        $r12 = "locate " nocase
        $r13 = "cat /proc/" nocase
        $r14 = "whoami"
        $r15 = "/var/tmp"
        // privileges / environment info
        $p1 = "posix_getpwuid" nocase
        $p2 = "posix_getgrgid" nocase
        $p3 = "getmyuid" nocase
        $p4 = "disk_free_space" nocase
        $p5 = "safe_mode" nocase
        $p6 = "disable_functions" nocase
        $p7 = "open_basedir" nocase
        $p8 = "php_uname" nocase
        $p9 = "ini_restore" nocase
        $p10 = "fileperms" nocase
        // execution primitives
        $e1 = /\bpassthru\s*\(/ nocase
        $e2 = /\bshell_exec\s*\(/ nocase
        $e3 = /\bsystem\s*\(/ nocase
        $e4 = /\bpopen\s*\(/ nocase
        $e5 = /\bproc_open\s*\(/ nocase
        $e6 = /\bexec\s*\(/ nocase
        // request-driven file manager
        $f1 = "move_uploaded_file" nocase
        $f2 = /\$_(GET|POST|REQUEST)\s*\[/
        $f3 = "set_time_limit(0)" nocase
        $f4 = /\bunlink\s*\(/ nocase
        $f5 = /\bchmod\s*\(/ nocase
    condition:
        filesize < 3MB and 2 of ($e*) and $f2 and (
            (4 of ($r*) and 3 of ($p*)) or
            (3 of ($r*) and 5 of ($p*)) or
            (2 of ($r*) and 6 of ($p*) and 3 of ($f*))
        )
}

/* Shell panels often ship preset commands that no web app contains. */
rule php_shell_recon_presets
{
    meta:
        severity = "high"
        family = "php_filemanager"
        description = "script shipping preset host-recon commands (suid search, netstat, shell history, config hunting) together with command execution"
    strings:
        $r1 = "find / -type f -perm -04000" nocase
        $r2 = "find / -type f -perm -02000" nocase
        $r3 = "find / -type f -name .htpasswd" nocase
        $r4 = "find / -type f -name config.inc.php" nocase
        $r5 = "find / -type f -name .bash_history" nocase
        $r6 = "find . -type f -perm -04000" nocase
        $r7 = /find \/ -type (f|d) -perm -(2|0)/ nocase
        $r8 = "netstat -an | grep -i listen" nocase
        $r9 = "locate config.inc.php" nocase
        $r10 = "cut -d: -f1 /etc/passwd" nocase
        $r11 = "/etc/passwd" 
        $x = /\b(passthru|shell_exec|system|popen|proc_open|exec)\s*\(/ nocase
    condition:
        filesize < 3MB and 2 of ($r*) and $x
}

/* ------------------------------------------------------------------ */
/* Uploaders: tiny scripts that save an uploaded file to a path chosen */
/* by the uploader (the first stage of most compromises).              */
/* ------------------------------------------------------------------ */
rule php_uploader_minimal
{
    meta:
        severity = "high"
        family = "php_uploader"
        description = "small standalone upload form that writes the uploaded file under a request-chosen name/path"
    strings:
        $form1 = /enctype\s*=\s*['"\\]{1,2}multipart\/form-data/ nocase
        $form2 = /type\s*=\s*['"\\]{0,2}file/ nocase
        $mv1 = /\bmove_uploaded_file\s*\(/ nocase
        $mv2 = /\bcopy\s*\(\s*\$(_FILES|HTTP_POST_FILES)\s*\[/ nocase
        $mv3 = /\bcopy\s*\(\s*\$[a-z_]{1,20}\s*\[\s*['"]tmp_name['"]\s*\]/ nocase
        $dst1 = /(move_uploaded_file|copy)\s*\([^;]{1,120},\s*[^;]{0,60}\$(_FILES|HTTP_POST_FILES)\s*\[[^\]]{1,30}\]\s*\[\s*['"]name['"]\s*\]/ nocase
        $dst2 = /(move_uploaded_file|copy)\s*\([^;]{1,120},\s*[^;]{0,60}\$_(POST|GET|REQUEST)\s*\[/ nocase
        $dst3 = /move_uploaded_file\s*\(\s*\$[a-z_]{1,20}\s*,\s*['"][^'"]{1,40}\.php['"]/ nocase
        // real applications validate uploads
        $val1 = "pathinfo" nocase
        $val2 = "mime" nocase
        $val3 = "extension" nocase
        $val4 = "namespace"
    condition:
        filesize < 12KB and any of ($form*) and any of ($mv*) and any of ($dst*) and not any of ($val1, $val2, $val3, $val4)
        or (filesize < 4KB and any of ($mv*) and ($dst1 or $dst2 or $dst3) and not any of ($val1, $val2, $val3, $val4))
}

/* ------------------------------------------------------------------ */
/* Safe-mode / disable_functions bypass tricks.                        */
/* ------------------------------------------------------------------ */
rule php_disable_functions_bypass
{
    meta:
        severity = "high"
        family = "php_bypass"
        description = "attempts to lift PHP hardening (disable_functions, safe_mode, open_basedir) at runtime or via LD_PRELOAD/mail/imap tricks"
    strings:
        $i1 = /ini_(set|restore|alter)\s*\(\s*['"](disable_functions|safe_mode|open_basedir)['"]/ nocase
        $i2 = /putenv\s*\(\s*['"]LD_PRELOAD=/ nocase
        $i3 = /ini_set\s*\(\s*['"]allow_url_include['"]\s*,\s*['"]?(1|on|true)/ nocase
        $i4 = /ini_set\s*\(\s*['"]allow_url_include,\s*1['"]/ nocase
        $i5 = /imap_open\s*\([^;]{0,80}-oProxyCommand/ nocase
    condition:
        filesize < 3MB and any of ($i1, $i2, $i3, $i4, $i5)
}

/* ------------------------------------------------------------------ */
/* Call expressions applied to request input: $arr['k']($_POST['x']),  */
/* foo()($_GET[2]), $f(getallheaders()['X']).                          */
/* ------------------------------------------------------------------ */
rule php_request_call_expression
{
    meta:
        severity = "critical"
        family = "china_chopper"
        description = "array element, call result or variable invoked as a function on request/header input (dynamic RCE one-liner)"
    strings:
        $c1 = /\]\s*\(\s*@?\s*([a-z0-9_]{1,20}\s*\(\s*)?\$_(GET|POST|REQUEST|COOKIE)\s*\[/
        $c8 = /\b(file_get_contents|base64_decode|str_rot13|strrev|hex2bin|implode|join|trim|substr)\s*\([^;()\n]{0,40}\)\s*\(\s*\$/ nocase
        $c3 = /\$[a-z_][a-z0-9_]{0,20}\s*\(\s*@?\s*getallheaders\s*\(\s*\)\s*\[/ nocase
        $c4 = /\$[a-z_][a-z0-9_]{0,20}\s*\(\s*@?\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[\s*\$[a-z_]/ nocase
        $c5 = /\$[a-z_][a-z0-9_]{0,20}\s*\(\s*@?\s*\$_SERVER\s*\[\s*['"]HTTP_/ nocase
        $c6 = /\$[a-z_][a-z0-9_]{0,20}\s*\(\s*@?\s*\$_SESSION\s*\[/ nocase
        $h = /\$\{\s*['"]_(REQUEST|POST|GET|COOKIE|SERVER)['"]\s*\}/
    condition:
        filesize < 2MB and ($c1 or $c3 or $c4 or $c5 or $c8 or ($c6 and filesize < 20KB) or $h)
}

/* File written at a path, or with content, taken from the request:
   the write primitive of droppers and file-editor panels. */
rule php_request_file_write
{
    meta:
        severity = "high"
        family = "php_dropper"
        description = "file_put_contents/fopen/fwrite with a path or content taken straight from the request: arbitrary file write (dropper, defacer, file editor)"
    strings:
        $w1 = /\b(file_put_contents|fopen)\s*\(\s*@?\s*\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/ nocase
        $w2 = /\b(fwrite|fputs)\s*\(\s*\$[a-z_][a-z0-9_]{0,20}\s*,\s*@?\s*(stripslashes\s*\(\s*|base64_decode\s*\(\s*){0,2}\$_(POST|GET|REQUEST|COOKIE)\s*\[/ nocase
        $w3 = /\bfile_put_contents\s*\([^;]{1,100},\s*@?\s*(stripslashes\s*\(\s*|base64_decode\s*\(\s*|file_get_contents\s*\(\s*){0,2}\$_(POST|GET|REQUEST|COOKIE)\s*\[/ nocase
        $w5 = /\bfopen\s*\(\s*__FILE__\s*,\s*['"][aw]/ nocase
        $w6 = /\bfopen\s*\(\s*['"](\.\.\/)*index\.(php|html?)['"]\s*,\s*['"]w/ nocase
        $w4 = /\bfile_put_contents\s*\([^;]{0,60}\$_(GET|POST|REQUEST)\s*\[[^;]{1,80}file_get_contents\s*\(\s*\$_(GET|POST|REQUEST)/ nocase
    condition:
        filesize < 3MB and any of them
}

/* Web command console: a form, request input and an OS command function
   applied to a variable. Real applications do not ship all three. */
rule php_web_command_console
{
    meta:
        severity = "high"
        family = "php_generic_exec"
        description = "HTML form + request parameters + system/exec/passthru/shell_exec/popen on a variable: interactive web command console"
    strings:
        $ex = /[^>a-zA-Z0-9_:$](system|passthru|shell_exec|exec|popen|proc_open)\s*\(\s*["']?\$[a-zA-Z_]/
        $req1 = /\$_(GET|POST|REQUEST)\s*\[/
        $req2 = /\$HTTP_(GET|POST)_VARS\s*\[/
        $form = "<form" nocase
    condition:
        filesize < 3MB and $ex and any of ($req*) and $form
}

/* Server-recon commands executed with literal arguments by panels. */
rule php_recon_exec_literals
{
    meta:
        severity = "medium"
        family = "php_filemanager"
        description = "runs several host-recon commands (pwd, id, whoami, uname, /proc/cpuinfo) through OS command functions"
    strings:
        $r = /[^>a-zA-Z0-9_:$](exec|shell_exec|system|passthru|popen)\s*\(\s*['"]((pwd|whoami|id|uname|uname -a|ifconfig|netstat -an|hostname)['"]|cat \/proc\/|cat \/etc\/|ls -la|ps -?aux)/
    condition:
        filesize < 3MB and #r >= 2
}

/* Credential/infection beacon: mails server paths to a hard-coded
   address (trojaned shells report every new victim this way). */
rule php_mail_beacon
{
    meta:
        severity = "critical"
        family = "php_beacon"
        description = "collects server paths/addresses ($_SERVER SCRIPT_FILENAME, DOCUMENT_ROOT, SERVER_ADDR...) and mails them to a hard-coded address"
    strings:
        $m = /\bmail\s*\(\s*\$[a-z0-9_]{1,20}\s*,/ nocase
        $s1 = /\$_SERVER\s*\[\s*['"](SCRIPT_FILENAME|PATH_TRANSLATED|DOCUMENT_ROOT)['"]\s*\][^\n]{0,300}\$_SERVER\s*\[\s*['"](SCRIPT_FILENAME|PATH_TRANSLATED|DOCUMENT_ROOT|SERVER_ADDR|SERVER_NAME|HTTP_HOST|REMOTE_ADDR)['"]\s*\]/
        $addr = /@(gmail|yahoo|hotmail|outlook|mail|yandex|aol|gmx|rambler|inbox|protonmail|qq|163)\.[a-z]{2,6}['"]/ nocase
    condition:
        filesize < 3MB and $m and $s1 and $addr
}

/* XSLT / XPath callbacks that run PHP functions from a document. */
rule php_xml_php_function_callback
{
    meta:
        severity = "high"
        family = "php_callback_backdoor"
        description = "XSLT/XPath registerPHPFunctions used to call system/assert/eval from a document (WAF-evasion backdoor)"
    strings:
        $r = "registerPHPFunctions" nocase
        $f = /php:function(String)?\s*\(\s*\\?['"]\s*(assert|system|passthru|exec|shell_exec|eval|popen|create_function)/ nocase
        $f2 = /:function\s*\(\s*\\?['"]\s*(assert|system|passthru|shell_exec|create_function)/ nocase
    condition:
        filesize < 100KB and $r and ($f or $f2)
}

/* "Undead"/memory-resident shells: delete themselves and keep running
   or keep re-creating a file/evaluating remote code in an endless loop. */
rule php_persistent_loop_backdoor
{
    meta:
        severity = "high"
        family = "php_undead"
        description = "ignore_user_abort + unlimited run time + self-deletion or endless loop that rewrites a file or evaluates fetched code"
    strings:
        $a = /ignore_user_abort\s*\(\s*(true|1)?\s*\)/ nocase
        $t = /set_time_limit\s*\(\s*0\s*\)/ nocase
        $u1 = /unlink\s*\(\s*(__FILE__|\$_SERVER\s*\[\s*['"]SCRIPT_FILENAME)/ nocase
        $l1 = /while\s*\(\s*(1|true)\s*\)/ nocase
        $l2 = /while\s*\(\s*\$[a-z_]{1,20}\s*=\s*file_get_contents\s*\(/ nocase
        $w1 = /\b(file_put_contents|fwrite|eval)\s*\(/ nocase
        $s = /\b(usleep|sleep)\s*\(/ nocase
    condition:
        filesize < 50KB and $a and $t and $w1 and $s and ($u1 or $l1 or $l2)
}

/* Small scripts where request input is copied into a variable that is
   then evaluated or called: $a=$_POST['x']; @eval($a); / $f($a);       */
rule php_small_request_dynamic_exec
{
    meta:
        severity = "high"
        family = "china_chopper"
        description = "small script reading request input and evaluating a variable or calling a variable function (indirect one-liner backdoor)"
    strings:
        $req1 = /\$_(GET|POST|REQUEST|COOKIE)\s*\[/
        $req2 = /\$HTTP_(GET|POST)_VARS\s*\[/
        $req3 = /\$_SERVER\s*\[\s*['"]HTTP_/
        $ev1 = /\b(eval|assert)\s*\(\s*@?\s*\$[a-zA-Z_][a-zA-Z0-9_]{0,30}\s*\)/ nocase
        $ev2 = /\b(eval|assert)\s*\(\s*"[^"\n]{0,40}\$[a-zA-Z_]/ nocase
        $ev3 = /\b(eval|assert)\s*\(\s*[a-z_][a-z0-9_]{0,30}\s*\(\s*\)\s*\)/ nocase
        $vf1 = /\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]\n]{1,20}\]\s*;\s*@?\$[a-zA-Z_][a-zA-Z0-9_]{0,20}\s*\(\s*@?\$[a-zA-Z_][a-zA-Z0-9_]{0,20}\s*\)/
        $vf2 = /->__invoke\s*\(\s*@?\s*\$_(GET|POST|REQUEST|COOKIE)/ nocase
        $vf3 = /\b(register_tick_function|register_shutdown_function|call_user_func|call_user_func_array|forward_static_call|forward_static_call_array|array_map)\s*\(\s*\$[a-zA-Z_][a-zA-Z0-9_]{0,20}\s*,\s*(\(array\)\s*)?(array\s*\(\s*)?\$_(GET|POST|REQUEST|COOKIE)/ nocase
        $vf4 = /\barray\s*\(\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]\n]{1,30}\]\s*=>/ nocase
        $vf5 = /@?\$_+\s*\(\s*[\$'"a-zA-Z]/
    condition:
        (filesize < 6KB and any of ($req*) and any of ($ev*, $vf1)) or
        (filesize < 50KB and any of ($vf2, $vf3, $vf4)) or
        (filesize < 20KB and $vf5)
}

/* Standalone SQL client dropped on a server: connect with supplied
   credentials, list databases/tables and run arbitrary queries. */
rule php_sql_client_standalone
{
    meta:
        severity = "medium"
        family = "php_db_dumper"
        description = "single-file MySQL client/dumper with HTML form (connect, SHOW DATABASES/TABLES, run queries): attacker database access tool"
    strings:
        $c1 = /\b(mysql_connect|mysqli_connect|mysql_pconnect)\s*\(/ nocase
        $c2 = /new\s+mysqli\s*\(/ nocase
        $s1 = /show\s+databases/ nocase
        $s2 = /show\s+tables/ nocase
        $s3 = /show\s+create\s+table/ nocase
        $f1 = "<form" nocase
        $f2 = "<input" nocase
        $q1 = /mysql_query\s*\(\s*(stripslashes\s*\()?\$_(GET|POST|REQUEST)/ nocase
        $q2 = /\$_(GET|POST|REQUEST|COOKIE)\s*\[/
        $q3 = /\$HTTP_(GET|POST)_VARS/
        $q4 = /\b(mysql_query|mysqli_query)\s*\(/ nocase
        $l1 = /\b(mysql_list_dbs|mysql_list_tables|mysql_db_name|mysql_tablename)\s*\(/ nocase
        $l2 = /select\s+\*\s+from\s+[`'"]?\$/ nocase
        $d1 = /ignore_user_abort\s*\(/ nocase
        $d2 = /\$_(GET|POST|REQUEST)\s*\[\s*['"](sn|en|ln|start|limit|table|db)['"]\s*\]/ nocase
    condition:
        filesize < 1MB and any of ($c*) and (
            (any of ($s*) and ($f1 or $f2) and any of ($q*) and #q4 >= 2) or
            ($l1 and $f1 and #q4 >= 3) or
            ($l2 and $d1 and $d2)
        )
}

/* Register-globals era shells: no $_POST at all, just a form field
   named cmd/command and an exec primitive on a variable. */
rule php_cmd_form_field_exec
{
    meta:
        severity = "high"
        family = "php_generic_exec"
        description = "HTML form with a cmd/command field posted back to a script that runs a variable through system/exec/passthru"
    strings:
        $in = /name\s*=\s*\\?['"]?(cmd|command|comando|cmmd|execute|komut|kod|shell|cmdexe|kmt)\b/ nocase
        $ex = /[^>a-zA-Z0-9_:$](system|passthru|shell_exec|exec|popen|proc_open)\s*\(\s*["']?\$[a-zA-Z_]/
        $form = "<form" nocase
    condition:
        filesize < 3MB and $in and $ex and $form
}

/* Minimal file browser / reader driven by a request parameter. */
rule php_request_file_browser
{
    meta:
        severity = "medium"
        family = "php_filemanager"
        description = "small script listing directories and dumping files at a path taken from the request (file-system browser)"
    strings:
        $d1 = /\b(opendir|scandir|glob|dir)\s*\(\s*\$[a-zA-Z_]/ nocase
        $d2 = /\breaddir\s*\(/ nocase
        $r1 = /\$_(GET|POST|REQUEST)\s*\[\s*['"]?(file|dir|d|path|p|f|folder|fichero|dosya)['"]?\s*\]/ nocase
        $o1 = /\b(fopen|readfile|file_get_contents|highlight_file|show_source|fread|is_writable)\s*\(\s*\$/ nocase
        $ns = "namespace "
        $cl = /\bclass\s+[A-Za-z_]/
    condition:
        filesize < 8KB and $d1 and $d2 and $r1 and $o1 and not $ns and not $cl
}

/* One-screen file manager: lists a folder, shows a file's content in a
   textarea for editing, changes permissions, all on paths taken from the
   request, in a few kilobytes without any application around it.
   Benign look-alikes checked: CMS media managers and elFinder connectors
   (tens of kilobytes, and chmod never takes a request value directly). */
rule php_compact_file_manager
{
    meta:
        severity = "medium"
        family = "php_filemanager"
        description = "tiny standalone file manager: directory listing, file content in a textarea and chmod on request-chosen paths"
    strings:
        $d = /(scandir|opendir|glob)\(/ nocase
        $r = /(file_get_contents|readfile|highlight_file|fread)\(/ nocase
        $c = /\bchmod\s*\([^;]{0,40}\$_(GET|POST|REQUEST)\s*\[/ nocase
        $t = "<textarea" nocase
    condition:
        filesize < 10KB and $d and $r and $c and $t
}

/* Host credential / config harvesters: walk /etc/passwd users' home
   directories looking for CMS config files, or symlink the filesystem
   root into the web root. */
rule php_config_grabber
{
    meta:
        severity = "high"
        family = "php_config_grabber"
        description = "harvests other sites' configuration files (wp-config.php, configuration.php...) via /etc/passwd home dirs or filesystem symlinks"
    strings:
        $p1 = "/etc/passwd"
        $p2 = "/public_html" nocase
        $p3 = "/home/" 
        $c1 = "wp-config.php" nocase
        $c2 = "configuration.php" nocase
        $c3 = "config.inc.php" nocase
        $c4 = "conf_global.php" nocase
        $c5 = "settings.php" nocase
        $c6 = "db.php" nocase
        $c7 = "config.php" nocase
        $c8 = "whmcs" nocase
        $l1 = /\bsymlink\s*\(\s*['"]\/['"]/ nocase
        $l2 = /\bsymlink\s*\(/ nocase
        $l3 = /\bftp_login\s*\(/ nocase
        $l4 = /\b(file_get_contents|readfile|copy|fopen|file)\s*\(/ nocase
        $h = /Options\s+(\+|all|Indexes|FollowSymLinks)/ nocase
    condition:
        filesize < 3MB and (
            $l1 or
            ($p1 and ($p2 or $p3) and 3 of ($c*) and any of ($l2, $l3, $l4)) or
            ($l2 and $h and 2 of ($c*))
        )
}

/* Runtime PHP hardening switched off by rewriting php.ini/.htaccess. */
rule php_ini_htaccess_rewrite
{
    meta:
        severity = "high"
        family = "php_bypass"
        description = "writes php.ini/.user.ini/.htaccess content that disables safe_mode/disable_functions or maps new extensions to PHP"
    strings:
        $f = /fopen\s*\(\s*['"][^'"\n]{0,40}(php\.ini|\.user\.ini|\.htaccess)['"]\s*,\s*['"][wa]/ nocase
        $f2 = /file_put_contents\s*\(\s*['"][^'"\n]{0,40}(php\.ini|\.user\.ini|\.htaccess)['"]/ nocase
        $v1 = /(safe_mode\s*=\s*(off|0)|disa?b?a?le_functions\s*=\s*(none|""|\s*['"\n\\]))/ nocase
        $v2 = /disbale_functions/ nocase
        $v3 = /(AddType|AddHandler)\s+application\/x-httpd-php/ nocase
        $v4 = /Options\s+(all|\+FollowSymLinks|FollowSymLinks)/ nocase
        $v5 = /open_basedir\s*=\s*(none|off|"")/ nocase
    condition:
        filesize < 3MB and ($f or $f2) and any of ($v*)
}

/* disable_functions bypass exploits working on PHP memory (UAF /
   filter / json PoCs that locate zif_system). */
rule php_memory_bypass_exploit
{
    meta:
        severity = "high"
        family = "php_bypass"
        description = "PHP memory-corruption exploit used to escape disable_functions (leaks zend structures, patches a closure to call system)"
    strings:
        $a1 = "zif_system"
        $a2 = "str2ptr"
        $a3 = "ptr2str"
        $a4 = "basic_funcs" nocase
        $a5 = "get_binary_base"
        $a6 = "parse_elf"
        $a7 = "stream_filter_register"
        $a8 = /leak\s*\(\s*\$[a-z_]{1,20}\s*[,)]/
        $a9 = "UAF" nocase
    condition:
        filesize < 200KB and 4 of them
}

/* Payload hidden in image metadata and evaluated. */
rule php_exif_payload_eval
{
    meta:
        severity = "critical"
        family = "php_obfuscated_eval"
        description = "reads EXIF/IPTC metadata of an image and evaluates code stored in it"
    strings:
        $x1 = /\b(exif_read_data|iptcparse|read_exif_data)\s*\(/ nocase
        $e1 = /\b(eval|assert)\s*\(\s*@?\s*(base64_decode|gzinflate|str_rot13|gzuncompress)?\s*\(?\s*\$[a-z_][a-z0-9_]{0,20}\s*\[/ nocase
        $e2 = /preg_replace\s*\(\s*\$[a-z_][a-z0-9_]{0,20}\s*\[/ nocase
    condition:
        filesize < 2MB and $x1 and ($e1 or $e2)
}

/* Bulk mailer / spam tool: recipient list taken from the request and
   mail() called in a loop. */
rule php_bulk_mailer
{
    meta:
        severity = "high"
        family = "php_mailer"
        description = "spam mailer: recipient list posted in a form, split per line and sent with mail() in a loop"
    strings:
        $l1 = /explode\s*\(\s*["'](\\r)?\\n["']\s*,\s*\$_(POST|GET|REQUEST)\s*\[/ nocase
        $l2 = /explode\s*\(\s*["'](\\r)?\\n["']\s*,\s*\$[a-z_][a-z0-9_]{0,20}\s*\)/ nocase
        $m = /\bmail\s*\(\s*\$[a-z_]/ nocase
        $t = /<textarea[^>]{0,200}name\s*=\s*['"]?(emails?|email_?list|to|mails?|maillist|list|emailz|liste)/ nocase
        $r = /\$_(POST|GET|REQUEST)\s*\[/
        $s1 = /\$_(POST|GET|REQUEST)\s*\[\s*['"](subject|konu|subj|asunto)['"]\s*\]/ nocase
    condition:
        filesize < 1MB and $m and $r and ($l1 or ($l2 and $t) or ($t and $s1))
}

/* IIS metabase credential dump through COM. */
rule php_iis_credential_dump
{
    meta:
        severity = "high"
        family = "php_recon"
        description = "enumerates IIS sites through COM IIS:// and prints anonymous-user passwords"
    strings:
        $a = "IIS://localhost/w3svc" nocase
        $b = "AnonymousUserPass" nocase
        $c = /new\s+COM\s*\(/ nocase
    condition:
        filesize < 1MB and $a and $b and $c
}

/* Classic safe_mode / open_basedir bypass tricks. */
rule php_safe_mode_bypass_tricks
{
    meta:
        severity = "high"
        family = "php_bypass"
        description = "safe_mode/open_basedir bypass tricks (compress.zlib:// copy, curl file:file://, error_log/ini_restore games) driven by a request path"
    strings:
        $a1 = /copy\s*\(\s*['"]compress\.zlib:\/\/['"]\s*\.\s*\$/ nocase
        $a2 = /['"]file:file:\/\/\/?['"]/ nocase
        $a3 = /CURLOPT_URL\s*,\s*['"]file:\/\/['"]\s*\.\s*\$/ nocase
        $a4 = /ini_restore\s*\(\s*['"](safe_mode|open_basedir)['"]\s*\)/ nocase
        $a5 = /(symlink|link)\s*\(\s*['"]\/['"]\s*,/ nocase
        $a6 = /mb_send_mail\s*\([^;]{0,100}-X\s*\$/ nocase
        $r = /\$_(GET|POST|REQUEST)\s*\[/
    condition:
        filesize < 3MB and any of ($a*) and $r
}

/* Register-globals emulation at top level: every request field becomes
   a variable. Combined with shell primitives it is a shell panel. */
rule php_extract_request_panel
{
    meta:
        severity = "high"
        family = "php_filemanager"
        description = "extract($_POST/$_GET) (register_globals emulation) combined with file-system write/delete or command primitives"
    strings:
        $x = /\bextract\s*\(\s*\$_(POST|GET|REQUEST|COOKIE)/ nocase
        $f1 = /\bunlink\s*\(/ nocase
        $f2 = /\brmdir\s*\(/ nocase
        $f3 = /\bchmod\s*\(/ nocase
        $f4 = /\bmove_uploaded_file\s*\(/ nocase
        $f5 = /\bfopen\s*\([^;]{1,80},\s*['"]w/ nocase
        $f6 = /\b(system|passthru|shell_exec|popen|proc_open)\s*\(/ nocase
        $f7 = /\brename\s*\(/ nocase
        $f8 = /\breaddir\s*\(|\bscandir\s*\(/ nocase
    condition:
        filesize < 3MB and $x and 4 of ($f*)
}

/* Generic web file manager panel (no namespaces/classes framework):
   browse, edit, upload, chmod, delete, rename driven by request. */
rule php_file_manager_panel
{
    meta:
        severity = "medium"
        family = "php_filemanager"
        description = "single-file web file manager (browse/edit/upload/chmod/delete/rename) reachable by request parameters"
    strings:
        $f1 = /\b(opendir|scandir)\s*\(/ nocase
        $f2 = /\bchmod\s*\(/ nocase
        $f3 = /\bunlink\s*\(/ nocase
        $f4 = /\brmdir\s*\(/ nocase
        $f5 = /\brename\s*\(/ nocase
        $f6 = /\b(move_uploaded_file|copy)\s*\(/ nocase
        $f7 = /\bfopen\s*\([^;]{1,80},\s*['"][wa]/ nocase
        $f8 = /\bfileperms\s*\(/ nocase
        $f9 = /\bmkdir\s*\(/ nocase
        $f10 = /\b(posix_getpwuid|fileowner)\s*\(/ nocase
        $f11 = /Content-Disposition:\s*attachment/ nocase
        $f12 = /\btouch\s*\(/ nocase
        $ui1 = "<textarea" nocase
        $ui2 = /type\s*=\s*\\?['"]?file/ nocase
        $ui3 = "<form" nocase
        $r1 = /\$_(GET|POST|REQUEST)\b/
        $r2 = /\$HTTP_(GET|POST)_VARS/
        $r3 = /\bextract\s*\(\s*\$_(POST|GET|REQUEST)/ nocase
        $ns = /^\s*namespace\s+[A-Za-z]/
        $cls = /\bclass\s+[A-Z][A-Za-z0-9_]{2,40}\s+(extends|implements)\s/
    condition:
        filesize < 3MB and 8 of ($f*) and 2 of ($ui*) and any of ($r*) and not $ns and not $cls
}

/* Function name kept in a variable as a string literal and then called:
   $fe = "system"; ... $fe($cmd).                                        */
rule php_named_exec_variable_call
{
    meta:
        severity = "high"
        family = "php_generic_exec"
        description = "OS-command/eval function name stored in a variable and invoked through it (hides the call site from text search)"
    strings:
        $n = /\$[a-zA-Z_][a-zA-Z0-9_]{0,20}\s*=\s*['"](system|passthru|shell_exec|assert|exec|popen|proc_open|pcntl_exec)['"]\s*;/ nocase
        $r1 = /\$_(GET|POST|REQUEST|COOKIE)\s*\[/
        $r2 = /\$HTTP_(GET|POST)_VARS/
        $form = "<form" nocase
    condition:
        filesize < 3MB and $n and any of ($r*) and $form
}

/* A PHP webshell written to disk through SQL (INTO OUTFILE/DUMPFILE) or
   embedded as a code-injection payload in a string. */
rule php_sql_outfile_dropper
{
    meta:
        severity = "high"
        family = "php_dropper"
        description = "SQL statement writing PHP code (system/eval/$_GET) to a file via INTO OUTFILE/DUMPFILE, or ${eval()} template-injection payload"
    strings:
        $o = /INTO\s+(OUT|DUMP)FILE/ nocase
        $p = /<\?(php)?[^\n]{0,40}(system|eval|passthru|assert|shell_exec|exec)\s*\(\s*\\?\$_?(GET|POST|REQUEST|HTTP_GET_VARS|_GET|_POST)/ nocase
        $t = /\{\\?\$\{\s*(eval|assert|system|passthru)\s*\(/ nocase
    condition:
        filesize < 3MB and (($o and $p) or $t)
}

/* Serv-U local privilege escalation through its admin port. */
rule php_servu_privesc
{
    meta:
        severity = "high"
        family = "php_privesc"
        description = "talks to a local Serv-U admin port and issues SITE EXEC to run commands as SYSTEM (privilege escalation)"
    strings:
        $a = "SITE EXEC" nocase
        $b = /fsockopen\s*\(\s*['"]?(127\.0\.0\.1|localhost)/ nocase
        $c = /\bfsockopen\s*\(/ nocase
        $d = /-SETUSERSETUP|-DELETEDOMAIN|-SETDOMAIN/ nocase
    condition:
        filesize < 3MB and $a and ($b or ($c and $d))
}

/* Session used as a payload store: decoded cookie written into
   $_SESSION (first half of a split backdoor). */
rule php_session_payload_store
{
    meta:
        severity = "medium"
        family = "php_split_backdoor"
        description = "stores decoded cookie/request data in $_SESSION, the staging half of a split session backdoor"
    strings:
        $a = /\$_SESSION\s*\[[^\]\n]{1,30}\]\s*=\s*@?\s*(base64_decode|gzinflate|str_rot13|gzuncompress|hex2bin|strrev)\s*\(\s*\$_(COOKIE|POST|GET|REQUEST)/ nocase
    condition:
        filesize < 50KB and $a
}

/* China Chopper / AntSword "custom script" servers: the client protocol
   sends the action in z0, z1, z2... request parameters. */
rule php_chopper_custom_server
{
    meta:
        severity = "critical"
        family = "antsword"
        description = "server side of the caidao/AntSword custom-script protocol (z0/z1/z2 request parameters driving file, shell and SQL actions)"
    strings:
        $z = /\$_(POST|REQUEST|GET)\s*\[\s*['"]z[0-9]['"]\s*\]/
        $a1 = /\b(system|exec|shell_exec|passthru|popen|proc_open)\s*\(/ nocase
        $a2 = /\b(mysql_connect|mysqli_connect|opendir|scandir|fopen)\s*\(/ nocase
    condition:
        filesize < 500KB and #z >= 3 and any of ($a*)
}
