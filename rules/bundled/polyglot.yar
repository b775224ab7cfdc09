/*
 * shellwatch bundled rules: server-side script hidden in image files.
 *
 * Attackers prefix a webshell with an image signature (GIF89a, PNG, JPEG, BMP) to pass
 * upload checks based on magic bytes / getimagesize(), or hide code in image metadata
 * (EXIF comment, PNG tEXt) to be pulled in later through include() or a handler mapping.
 * A real image never contains a PHP/ASP/JSP opening tag followed by code, so the rules ask
 * for the magic at offset 0 plus an opening tag with enough context to rule out chance
 * matches in compressed pixel data.
 */

private rule polyglot_image_magic
{
    condition:
        uint32be(0) == 0x47494638 /* GIF8 (GIF87a / GIF89a) */
        or uint32be(0) == 0x89504E47 /* \x89PNG */
        or (uint16be(0) == 0xFFD8 and uint8(2) == 0xFF) /* JPEG SOI */
        or (uint16be(0) == 0x424D and uint32(2) == filesize) /* BMP with matching size field */
        or uint32be(0) == 0x52494646 /* RIFF (WebP) */
        or uint32be(0) == 0x49492A00 or uint32be(0) == 0x4D4D002A /* TIFF */
}

/* PHP code in an image: <?php, <script language="php">, or short tags followed by code. */
rule polyglot_image_php
{
    meta:
        severity = "critical"
        family = "image_polyglot"
        description = "Image file (GIF/PNG/JPEG/BMP/WebP/TIFF magic) contains PHP code (<?php / <?= / <script language=php>)"
    strings:
        $p1 = "<?php" nocase ascii
        $p2 = /<script\s+language\s*=\s*["']?php/ nocase ascii
        $p3 = /<\?=?\s{0,5}(@?(eval|assert|system|passthru|shell_exec|exec|popen|proc_open|include|require|include_once|require_once|base64_decode|gzinflate|str_rot13|create_function|call_user_func|file_put_contents|fwrite|fputs|move_uploaded_file|preg_replace|echo|print|if|error_reporting|set_time_limit|ini_set|header|die|exit)\s*[\s(]|\$_(GET|POST|REQUEST|COOKIE|SERVER|FILES)\b|@?\$[a-zA-Z_]\w{0,20}\s*=)/ ascii
        $p4 = /<\?=?\s{0,3}`[^`\r\n]{1,80}`/ ascii
    condition:
        polyglot_image_magic and any of them
}

/* ASP / ASP.NET / JSP code in an image: <%eval request(...)%>, <%@ Page ...%>, scriptlets
 * calling the request or the runtime. */
rule polyglot_image_asp_jsp
{
    meta:
        severity = "critical"
        family = "image_polyglot"
        description = "Image file contains ASP/ASP.NET/JSP server code (<%eval request, <%@ Page, <%@ page import, runat=server)"
    strings:
        $a1 = /<%\s{0,5}(eval|execute|executeglobal)[\s(]/ nocase ascii
        $a2 = /<%@\s{0,5}(page|webhandler|webservice|language)\b/ nocase ascii
        // At most 40 bytes from "<%" to the call: libyara finds this by the
        // call's name and looks back for the "<%", over 100 bytes at each
        // "request." of a file padded with them (issue 10).
        $a3 = /<%[^%]{0,40}(request\s*[(.\[]|server\.createobject|response\.write|wscript\.shell|getRuntime\(\)|getParameter\()/ nocase ascii
        $a4 = /<script[^>]{0,40}runat\s*=\s*["']?server/ nocase ascii
        $a5 = /<jsp:(scriptlet|declaration|directive)/ ascii
    condition:
        polyglot_image_magic and any of them
}

/* PHP payload stored in metadata without an opening tag: eval/assert of request input or of
 * a base64/gzip blob inside an image (executed via include() or preg_replace /e). */
rule polyglot_image_metadata_payload
{
    meta:
        severity = "high"
        family = "image_polyglot"
        description = "Image metadata carries a code-execution payload (eval/assert of request input or decoded blob)"
    strings:
        $a = /(eval|assert|system|passthru|shell_exec|create_function)\s*\(\s*(@?\$_(GET|POST|REQUEST|COOKIE|SERVER)|base64_decode\s*\(|gzinflate\s*\(|str_rot13\s*\(|gzuncompress\s*\()/ nocase ascii
        $b = /preg_replace\s*\(\s*["'](.).{0,40}\/e["']/ ascii
    condition:
        polyglot_image_magic and filesize < 20MB and ($a or $b)
}

/* ASP or JSP server code saved under an image name (x.asp;.jpg and x.asp/x.jpg tricks on
 * IIS, or a page waiting to be renamed): the file starts with a page directive or an
 * encoded script block. A real image never starts with "<%". (Text names are left out:
 * collections store samples as .txt, and a rule must not learn that.) */
rule server_page_image_name
{
    meta:
        severity = "high"
        family = "image_polyglot"
        description = "A file named as an image starts with ASP/JSP server code (<%@ directive or encoded script)"
    strings:
        $d = /^(\xEF\xBB\xBF)?\s{0,8}<%\s{0,5}@\s{0,5}(page|language|webhandler)\b/ nocase ascii
        $e = /^(\xEF\xBB\xBF)?\s{0,8}<%#@~\^/ ascii
    condition:
        (extension == ".jpg" or extension == ".jpeg" or extension == ".gif" or extension == ".png" or
         extension == ".bmp" or extension == ".ico") and ($d or $e)
}
