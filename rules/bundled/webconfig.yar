/*
 * shellwatch bundled rules: per-directory web server configuration used as a backdoor.
 *
 *   .htaccess  - AddType/AddHandler/SetHandler/ForceType that make images or text files run
 *                as PHP/CGI, auto_prepend_file/auto_append_file injection, .htaccess files
 *                that carry their own code.
 *   .user.ini  - auto_prepend_file/auto_append_file (PHP-FPM/CGI per-directory ini).
 *   web.config - IIS handler mappings that execute images/text/.config as script, and
 *                web.config files that embed ASP/ASP.NET code.
 *
 * Content rules work without the file name; the `filename` external only adds confidence
 * for weaker indicators (a directive that is normal in the main server config but
 * suspicious when dropped into a web folder).
 */

/* AddType/AddHandler mapping a non-script extension (image, text, archive, document,
 * .htaccess itself) to the PHP engine, CGI or SSI. */
rule htaccess_handler_nonscript_ext
{
    meta:
        severity = "critical"
        family = "htaccess_handler"
        description = "Apache AddType/AddHandler makes image/text/other non-script files execute as PHP or CGI"
    strings:
        // AddType or AddHandler in one regex, and at most 100 bytes of other
        // extensions before the one that gives it away, none of them a '/'
        // or '<': a file padded with "AddType application/x-httpd-php "
        // had each of its AddType followed over the next 200 bytes, by two
        // regexes (4 s a MiB; issue 10, go test ./rules -bench RulePadding).
        $a = /Add(Type|Handler)\s+["']?(application\/x-httpd-(ea-)?php[\w.-]{0,12}|x-httpd-php[\w.-]{0,12}|php[\w.-]{0,8}-script|application\/x-httpd-cgi|cgi-script|server-parsed|text\/x-server-parsed-html)["']?\s+[^\r\n<\/]{0,100}\.(jpe?g|png|gif|bmp|ico|tiff?|webp|svg|txt|text|log|css|js|json|xml|csv|md|pdf|docx?|xlsx?|zip|rar|gz|tar|7z|mp3|mp4|avi|swf|htaccess|ini|ttf|woff2?|eot|bak|tmp|dat|cer)\b/ nocase ascii
    condition:
        filesize < 200KB and $a
}

/* SetHandler/ForceType to PHP/CGI inside a <Files>/<FilesMatch> section whose pattern
 * names image/text files (or .htaccess). */
rule htaccess_files_section_php
{
    meta:
        severity = "critical"
        family = "htaccess_handler"
        description = "Apache <Files> section selecting image/text files forces them through the PHP/CGI handler"
    strings:
        $a = /<Files(Match)?\s[^>\r\n]{0,120}(jpe?g|png|gif|bmp|ico|txt|log|css|js|htaccess|ht\b|\^\\\.ht)[^>\r\n]{0,60}>[^<]{0,400}(SetHandler|ForceType|AddHandler|AddType)\s+["']?(application\/x-httpd-(ea-)?php|x-httpd-php|php\d?-script|proxy:unix[^\s"']{0,120}php|cgi-script|server-parsed)/ nocase ascii
    condition:
        filesize < 200KB and $a
}

/* Directory-wide SetHandler/ForceType to PHP without any <Files>/<FilesMatch> restriction:
 * every file in the folder (uploads included) becomes executable. */
rule htaccess_sethandler_all_php
{
    meta:
        severity = "high"
        family = "htaccess_handler"
        description = ".htaccess forces every file in the directory through the PHP/CGI handler (SetHandler/ForceType without Files filter)"
    strings:
        $s = /(^|\n)[ \t]*(SetHandler|ForceType)\s+["']?(application\/x-httpd-(ea-)?php[\w.-]{0,12}|x-httpd-php[\w.-]{0,12}|php\d?-script|cgi-script)/ nocase ascii
        $f = /<(Files|FilesMatch|Location|LocationMatch|Directory|DirectoryMatch)\b/ nocase ascii
    condition:
        filesize < 20KB and $s and not $f
}

/* AddType/AddHandler PHP for unusual, non-PHP extensions that are not images/text (e.g.
 * .html, .xyz, extension-less). Common in legacy sites for .html, hence only medium. */
rule htaccess_handler_php_other_ext
{
    meta:
        severity = "medium"
        family = "htaccess_handler"
        description = "Apache AddType/AddHandler maps HTML or another language's extension to the PHP engine"
    strings:
        // AddType or AddHandler in one regex, and at most 100 bytes of other
        // extensions before the one that gives it away, none of them a '/'
        // or '<': a file padded with "AddType application/x-httpd-php "
        // had each of its AddType followed over the next 200 bytes, by two
        // regexes (4 s a MiB; issue 10, go test ./rules -bench RulePadding).
        $a = /Add(Type|Handler)\s+["']?(application\/x-httpd-(ea-)?php[\w.-]{0,12}|x-httpd-php[\w.-]{0,12}|php[\w.-]{0,8}-script)["']?[ \t]+([^\r\n<\/]{0,100}[ \t])?\.?(html?|shtml|xhtml|asp|aspx|ashx|jsp|cgi|pl|py|rb|sh|tpl|cfg|conf|dat|do|action|cfm|nsf|x|xx|xxx|\d{1,4})\b/ nocase ascii
    condition:
        filesize < 200KB and $a and (filename == ".htaccess" or filesize < 4KB)
}

/* .htaccess that carries code: PHP/ASP/Perl source inside the config plus a directive that
 * makes the .htaccess file itself executable or reachable. */
rule htaccess_self_executing
{
    meta:
        severity = "critical"
        family = "htaccess_webshell"
        description = ".htaccess makes itself executable and contains script code (self-contained .htaccess webshell)"
    strings:
        $d1 = /Add(Type|Handler)\s+[^\r\n]{0,80}(php|cgi)[^\r\n]{0,80}\.htaccess/ nocase ascii
        $d2 = /<Files\s+["']?(~\s*["']?\^?\\?\.ht|\.htaccess)/ nocase ascii
        $d3 = /(SetHandler|ForceType)\s+[^\r\n]{0,40}(php|cgi-script)/ nocase ascii
        $c1 = "<?php" nocase ascii
        $c2 = /<\?=?\s{0,3}(eval|system|assert|passthru|exec|shell_exec)\s*\(/ nocase ascii
        $c3 = /#!\/usr\/bin\/(perl|python)/ ascii
    condition:
        filesize < 200KB and ($d1 or ($d2 and $d3)) and any of ($c*)
}

/* PHP auto_prepend_file/auto_append_file pointing at something that is not a normal PHP
 * include: stream wrappers, temp dirs, images/text, the .htaccess/.user.ini itself. */
rule htaccess_auto_prepend_suspicious
{
    meta:
        severity = "critical"
        family = "htaccess_prepend"
        description = "php_value/ini auto_prepend_file or auto_append_file loads code from a stream wrapper, temp dir or non-PHP file"
    strings:
        $a = /(php_value\s+|^|\n)[ \t]*auto_(prepend|append)_file\s*[= \t]\s*["']?[^\r\n"']{0,200}(php:\/\/(input|filter)|data:|expect:|zip:|phar:|\/tmp\/|\/dev\/shm|\/var\/tmp|\/uploads?\/|\/cache\/|\/images?\/|\/upfiles?\/|\\\\[\w.-]{1,60}\\|\.(jpe?g|png|gif|bmp|ico|txt|log|css|js|json|htaccess|ini|xml|dat|tmp|bak|zip|svg|webp)\b)/ nocase ascii
    condition:
        filesize < 200KB and $a
}

/* Any php_value auto_prepend_file/auto_append_file in an .htaccess. Security plugins
 * (WAFs) legitimately use it, so this is a "needs a look" indicator. */
rule htaccess_auto_prepend
{
    meta:
        severity = "medium"
        family = "htaccess_prepend"
        description = ".htaccess injects a PHP file into every request with php_value auto_prepend_file/auto_append_file"
    strings:
        $a = /php_value\s+auto_(prepend|append)_file\s+["']?[^\s"';#]/ nocase ascii
    condition:
        filesize < 200KB and $a
}

/* .user.ini (PHP per-directory ini) with auto_prepend_file/auto_append_file set. */
rule userini_auto_prepend
{
    meta:
        severity = "medium"
        family = "user_ini_prepend"
        description = ".user.ini makes PHP include a file before/after every script in the directory (auto_prepend_file/auto_append_file)"
    strings:
        $a = /(^|\n)[ \t]*auto_(prepend|append)_file[ \t]*=[ \t]*["']?[^\s"';]/ nocase ascii
        $sec = /(^|\n)\[(PHP|Date|mail function|Session)\]/ nocase ascii
    condition:
        $a and (filename == ".user.ini" or (filesize < 2KB and not $sec))
}

/* .user.ini/.htaccess/php.ini fragments that switch PHP back on, or strip security settings,
 * in a directory (e.g. an uploads folder). */
rule htaccess_php_engine_reenabled
{
    meta:
        severity = "medium"
        family = "htaccess_handler"
        description = "Per-directory config re-enables the PHP engine or removes disable_functions/open_basedir"
    strings:
        $a = /php_(flag|admin_flag|value|admin_value)\s+engine\s+(on|1)\b/ nocase ascii
        $b = /php_(value|admin_value)\s+disable_functions\s+["']?(none|\s*[\r\n"'])/ nocase ascii
        $c = /php_(value|admin_value)\s+open_basedir\s+["']?(none|\/)["']?\s*[\r\n]/ nocase ascii
        $d = /(^|\n)[ \t]*disable_functions[ \t]*=[ \t]*["']?[ \t]*["']?[ \t]*[\r\n]/ nocase ascii
    condition:
        filesize < 20KB and (any of ($a, $b, $c) or ($d and filename == ".user.ini"))
}

/* Options +ExecCGI together with a CGI handler for non-CGI extensions or all files.
 * Besides the data extensions listed in $h1, any extension that is not one CGI scripts
 * use ($cgi: .cgi .pl .py .sh .rb .fcgi .tcl .lua) counts: a dropped .htaccess makes
 * ".cin" run as CGI, then a Perl shell named x.cin follows. An AddHandler or AddType line
 * ($any) that is not made only of conventional CGI extensions ($cgi) is the sign.
 * Benign look-alikes checked: "AddHandler cgi-script .cgi .pl" with ExecCGI (Debian's
 * awstats, nagios, munin trees: none flagged). */
rule htaccess_execcgi_handler
{
    meta:
        severity = "high"
        family = "htaccess_handler"
        description = ".htaccess enables ExecCGI and maps unusual extensions (or everything) to the CGI handler"
    strings:
        $o = /Options\s+[^\r\n]{0,60}\+?ExecCGI/ nocase ascii
        $h1 = /AddHandler\s+cgi-script\s+[^\r\n]{0,200}\.(jpe?g|png|gif|txt|log|css|js|htaccess|ini|php\d?|phtml|html?|ico|bmp|xml|json)\b/ nocase ascii
        $h2 = /SetHandler\s+cgi-script/ nocase ascii
        $any = /(AddHandler\s+cgi-script|AddType\s+application\/x-httpd-cgi)[ \t]+\.?\w/ nocase ascii
        $cgi = /(AddHandler\s+cgi-script|AddType\s+application\/x-httpd-cgi)([ \t]+\.?(cgi|pl|py|sh|rb|fcgi|tcl|lua))+[ \t]*(\r?\n|$)/ nocase ascii
    condition:
        filesize < 200KB and $o and ($h1 or $h2 or #any > #cgi)
}

/* A phishing kit's visitor filter: everyone is denied but a few address blocks (the
 * victims' country, "allow from 177."), and a rewrite sends some visitors (by user agent
 * or Accept header) to an outside host. Sites restrict admin areas by address, and old
 * sites sent phones to an m. host, but not both with whole-number address blocks.
 * Medium: alerted, not moved. */
rule htaccess_visitor_filter_redirect
{
    meta:
        severity = "medium"
        family = "phishing_kit"
        description = ".htaccess admits only a few address blocks and rewrites some visitors to an outside host (a phishing kit's filter)"
    strings:
        $deny = /deny\s+from\s+all/ nocase ascii
        $allow = /allow\s+from\s+\d{1,3}\.[ \t]*(\r?\n|$)/ nocase ascii
        $cond = /RewriteCond\s+%\{HTTP_(USER_AGENT|ACCEPT|REFERER)\}/ nocase ascii
        $rule = /RewriteRule\s+\S+\s+https?:\/\/[^\s\/]{3,80}/ nocase ascii
    condition:
        filesize < 200KB and $deny and #allow >= 3 and $cond and $rule
}

/* IIS web.config handler that sends images/text/.config through ASP, ASP.NET or CGI. */
rule webconfig_handler_nonscript_ext
{
    meta:
        severity = "critical"
        family = "webconfig_handler"
        description = "web.config handler mapping executes image/text/.config files as ASP/ASP.NET/CGI script"
    strings:
        $h = /<add\s[^>]{0,300}path\s*=\s*["'][^"']{0,40}\.(jpe?g|png|gif|bmp|ico|txt|log|css|js|config|xml|json|htaccess|ini)["'][^>]{0,400}(asp\.dll|aspnet_isapi|PageHandlerFactory|SimpleHandlerFactory|WebServiceHandlerFactory|CgiModule|FastCgiModule|IsapiModule|scriptProcessor)/ nocase ascii wide
        $h2 = /<add\s[^>]{0,300}(asp\.dll|aspnet_isapi|PageHandlerFactory|SimpleHandlerFactory|CgiModule|FastCgiModule|scriptProcessor)[^>]{0,400}path\s*=\s*["'][^"']{0,40}\.(jpe?g|png|gif|bmp|ico|txt|log|css|js|config|xml|json|htaccess|ini)["']/ nocase ascii wide
        $b = /<buildProviders>[^<]{0,200}<add\s[^>]{0,100}extension\s*=\s*["']\.(jpe?g|png|gif|txt|config|xml|json|ico|css|js)["']/ nocase ascii wide
    condition:
        filesize < 500KB and any of them
}

/* web.config that contains ASP/ASP.NET code blocks outside XML comments' usual use: the
 * classic web.config webshell maps .config to asp.dll (or removes it from hidden segments)
 * and embeds <% ... %> code. */
rule webconfig_embedded_code
{
    meta:
        severity = "critical"
        family = "webconfig_webshell"
        description = "web.config contains server-side ASP/ASP.NET code and enables execution of .config files"
    strings:
        $cfg = "<configuration" nocase ascii wide
        $x1 = /<remove\s+fileExtension\s*=\s*["']\.config["']/ nocase ascii wide
        $x2 = /<remove\s+segment\s*=\s*["']web\.config["']/ nocase ascii wide
        $x3 = /path\s*=\s*["']\*\.config["']/ nocase ascii wide
        $o1 = "<%@" ascii wide
        $o2 = "<% " ascii wide
        $o3 = "<%\n" ascii wide
        $o4 = "<%\r" ascii wide
        $o5 = "<%=" ascii wide
        $k1 = "Response.Write" nocase ascii wide
        $k2 = "CreateObject" nocase ascii wide
        $k3 = "Request(" nocase ascii wide
        $k4 = "Request[" nocase ascii wide
        $k5 = "Process.Start" nocase ascii wide
        $c2 = /<script\s+runat\s*=\s*["']?server/ nocase ascii wide
    condition:
        filesize < 500KB and $cfg and any of ($x*) and ($c2 or (any of ($o*) and any of ($k*)))
}
