/*
 * shellwatch bundled rules: Perl / Python / shell CGI webshells, reverse and bind shells,
 * IRC bots, and ColdFusion (CFML) webshells.
 *
 * CGI shells combine a CGI input source (QUERY_STRING, param(), cgi.FieldStorage, form
 * parsing of STDIN) with command execution (backticks, qx, system, exec, pipe open,
 * os.popen, subprocess). Reverse shells tie a socket to a shell's standard streams.
 */

/* Perl CGI: request input reaches backticks / system / exec / a pipe open. */
rule perl_cgi_cmd_exec
{
    meta:
        severity = "critical"
        family = "perl_cgi_shell"
        description = "Perl CGI script runs shell commands built from request input (QUERY_STRING / param / form data)"
    strings:
        $in1 = "QUERY_STRING" ascii
        $in2 = /\bparam\s*\(/ ascii
        $in6 = "parse_parameters" ascii
        $in3 = "ReadParse" ascii
        $in4 = /read\s*\(\s*STDIN\s*,/ ascii
        $in5 = "CONTENT_LENGTH" ascii
        $x1 = /`\$\w{1,30}`/ ascii
        $x2 = /\bqx\s*[\/({]\s*\$\w/ ascii
        $x3 = /\bsystem\s*\(?\s*\$\w/ ascii
        $x4 = /\bexec\s*\(?\s*\$\w/ ascii
        $x5 = /open\s*\(?\s*["']?\w{1,30}["']?\s*,\s*"[^"\n]{0,40}\$[^"\n]{1,60}\|\s*"/ ascii
        $x7 = /open3\s*\([^;]{0,80}["']\/bin\/(ba)?sh/ ascii
        $x8 = /(`|\bsystem\s*\(?|\bexec\s*\(?|\bqx\s*[\/({])\s*\$\w{1,20}->param\s*\(/ ascii
        $x6 = /`[^`\n]{0,40}\$(param|FORM|in|cmd|command|req)\b/ ascii
        $p1 = "#!/usr/bin/perl" ascii
        $p2 = "#!/usr/local/bin/perl" ascii
        $p3 = "#!/usr/bin/env perl" ascii
        $p4 = "print \"Content-type" ascii nocase
        $p5 = "use CGI" ascii
        $html = /<(form|input|textarea)\b/ ascii nocase
        $ct = "Content-type" ascii nocase
        $ct2 = "->header" ascii
    condition:
        filesize < 500KB and any of ($p*) and any of ($in*) and any of ($x*) and ($html or $ct or $ct2)
}

/* Perl reverse / bind shell: socket dup'ed onto STDIN/STDOUT and a shell exec'ed. */
rule perl_reverse_shell
{
    meta:
        severity = "critical"
        family = "reverse_shell"
        description = "Perl script redirects STDIN/STDOUT to a socket and starts a shell (reverse/bind shell)"
    strings:
        $s1 = /socket\s*\(\s*\w{1,20}\s*,\s*&?PF_INET/ ascii
        $s2 = "IO::Socket::INET" ascii
        $d1 = /open\s*\(\s*STDIN\s*,\s*["']>&/ ascii
        $d2 = /open\s*\(\s*STDOUT\s*,\s*["']>&/ ascii
        $sh1 = "/bin/sh" ascii
        $sh2 = "/bin/bash" ascii
        $sh3 = "cmd.exe" ascii nocase
        $e1 = /\b(exec|system)\s*[\s(]/ ascii
    condition:
        filesize < 500KB and any of ($s*) and any of ($d*) and any of ($sh*) and $e1
}

/* Perl bind shell / telnetd: a listening socket whose clients get a shell. */
rule perl_bind_shell
{
    meta:
        severity = "critical"
        family = "reverse_shell"
        description = "Perl script listens on a TCP port and hands connections to a shell"
    strings:
        $l1 = /Listen\s*=>\s*\d/ ascii
        $l2 = /\blisten\s*\(\s*\w{1,20}\s*,/ ascii
        $s = "Socket" ascii
        $sh1 = /\$SHELL\s*=\s*["']\/bin\/(ba)?sh/ ascii
        $sh2 = /exec\s*[({]?\s*["']?\/bin\/(ba)?sh/ ascii
        $sh3 = /exec\s*\(?\s*"?\$SHELL/ ascii
        $d = /open\s*\(\s*STD(IN|OUT)\s*,\s*["'][<>]&/ ascii
    condition:
        filesize < 500KB and $s and any of ($l*) and any of ($sh*) and ($d or $sh3 or $sh2)
}

/* IRC-controlled bots (shellbot/perlbot): IRC protocol plus command execution. */
rule perl_irc_bot
{
    meta:
        severity = "high"
        family = "irc_bot"
        description = "Perl IRC bot that executes shell commands received over IRC (backdoor/DDoS bot)"
    strings:
        $i1 = "PRIVMSG" ascii
        $i2 = /["']NICK / ascii
        $i3 = /["']JOIN / ascii
        $s = "IO::Socket" ascii
        $x1 = /\bsystem\s*\(?\s*["$]/ ascii
        $x2 = "`$" ascii
        $x3 = /open\s*\(\s*\w{1,20}\s*,\s*["'][^"']{0,40}\|/ ascii
        $x4 = /\bexec\s*\(?\s*["$]/ ascii
        $f = "fork" ascii
    condition:
        filesize < 500KB and all of ($i*) and $s and any of ($x*) and $f
}

/* Python CGI: cgi.FieldStorage / QUERY_STRING input passed to os.popen/os.system/subprocess. */
rule python_cgi_cmd_exec
{
    meta:
        severity = "critical"
        family = "python_cgi_shell"
        description = "Python CGI script executes shell commands taken from CGI form input"
    strings:
        $in1 = "cgi.FieldStorage" ascii
        $in2 = /os\.environ\s*(\[|\.get\s*\()\s*['"]QUERY_STRING/ ascii
        $in3 = "sys.stdin.read" ascii
        $x1 = /os\.(popen[234]?|system)\s*\(\s*[a-zA-Z_][\w.]{0,30}\s*[,)+(\[]/ ascii
        $x2 = /subprocess\.(Popen|call|check_output|run|getoutput)\s*\(\s*[a-zA-Z_][\w.]{0,30}\s*[,)+(\[][^\n]{0,80}shell\s*=\s*True/ ascii
        $x3 = /commands\.getoutput\s*\(\s*[a-zA-Z_]/ ascii
        $x4 = /popen2\.popen[234]\s*\(\s*[a-zA-Z_]/ ascii
        $x5 = /subprocess\.getoutput\s*\(\s*[a-zA-Z_]/ ascii
    condition:
        filesize < 500KB and any of ($in*) and any of ($x*)
}

/* Python reverse / bind shells: socket file descriptors dup2'ed onto 0/1/2 and a shell
 * spawned, or a receive loop feeding subprocess/os.popen. */
rule python_reverse_shell
{
    meta:
        severity = "critical"
        family = "reverse_shell"
        description = "Python script connects a socket to a shell (dup2 of socket fds or recv->popen loop)"
    strings:
        $s1 = "socket.socket(" ascii
        $s2 = /\bsocket\s*\(\s*(socket\.)?AF_INET/ ascii
        $s3 = "sctp" ascii
        $d = /os\.dup2\s*\(\s*\w{1,20}\.fileno\(\)\s*,\s*[012]\s*\)/ ascii
        $sh1 = "/bin/sh" ascii
        $sh2 = "/bin/bash" ascii
        $sh3 = "cmd.exe" ascii nocase
        $x1 = /subprocess\.(Popen|call)\s*\(/ ascii
        $x2 = /os\.(popen[234]?|system)\s*\(/ ascii
        $x3 = "pty.spawn" ascii
        $r = ".recv(" ascii
        $f = "os.fork()" ascii
    condition:
        filesize < 500KB and any of ($s*) and (
            ($d and (any of ($sh*) or any of ($x*)))
            or (any of ($x*) and $r and (any of ($sh*) or $f))
        )
}

/* Shell CGI: QUERY_STRING / CONTENT_LENGTH used as command text in a shell script. */
rule sh_cgi_cmd_exec
{
    meta:
        severity = "high"
        family = "sh_cgi_shell"
        description = "Shell CGI script passes QUERY_STRING/POST data into commands (command execution or file access)"
    strings:
        $sb = /^#!\s*\/(usr\/)?bin\/(ba|k|z|da)?sh/ ascii
        $ct = "Content-type" ascii nocase
        $q = "QUERY_STRING" ascii
        $x6 = /\beval\s+"?\$[A-Za-z_]\w{0,30}"?\s*[\r\n]/ ascii
        $x1 = /`[^`\n]{0,40}\$\{?QUERY_STRING/ ascii
        $x2 = /\$\([^)\n]{0,40}\$\{?QUERY_STRING/ ascii
        $x3 = /eval\s+["']?\$\{?QUERY_STRING/ ascii
        $x4 = /\n\s*(cat|ls|rm|cp|mv|sh|bash)\s+["']?\$\{?QUERY_STRING/ ascii
        $x5 = /dd\s+[^\n]{0,40}count=\$\{?CONTENT_LENGTH/ ascii
    condition:
        filesize < 200KB and $sb at 0 and $ct and (any of ($x1, $x2, $x3, $x4, $x5) or ($q and $x6))
}

/* Perl "eval the posted code" consoles. */
rule perl_eval_request
{
    meta:
        severity = "critical"
        family = "perl_cgi_shell"
        description = "Perl CGI evaluates Perl code posted in the request"
    strings:
        $a = /\beval\s*\(?\s*\$(in|FORM|param|query)\s*\{/ ascii
        $b = /\beval\s*\(?\s*(param|\$q(uery)?->param|\$cgi->param)\s*\(/ ascii
        $c = /\beval\s*\(?\s*\$(code|perlcode|PerlCode)\b/ ascii
        $in = /(QUERY_STRING|param\s*\(|ReadParse|CONTENT_LENGTH)/ ascii
    condition:
        filesize < 500KB and $in and any of ($a, $b, $c)
}

/* Perl CGI file manager / uploader: writes request-named files. */
rule perl_cgi_file_writer
{
    meta:
        severity = "high"
        family = "perl_cgi_shell"
        description = "Perl CGI writes uploaded or posted data to a file path taken from the request"
    strings:
        $o1 = /open\s*\(\s*\w{1,20}\s*,\s*["']>{1,2}\s*\$(FORM|in|param)\{/ ascii
        $o2 = /open\s*\(\s*\w{1,20}\s*,\s*["']>{1,2}["']\s*,\s*\$(FORM|in|param)\{/ ascii
        $o3 = /open\s*\(\s*\w{1,20}\s*,\s*["']>{1,2}\s*\$\w{1,30}\s*["']\s*\)/ ascii
        $in1 = "QUERY_STRING" ascii
        $in2 = "ReadParse" ascii
        $in3 = /filename=/ ascii
        $up = "multipart/form-data" ascii nocase
        $x = /`\$\w{1,30}`/ ascii
    condition:
        filesize < 500KB and ($o1 or $o2 or ($o3 and $up and $x)) and any of ($in*)
}

/* ColdFusion: <cfexecute> (OS command execution) driven by form/url input, or any
 * cfexecute of cmd.exe / a shell. */
rule cfm_cfexecute
{
    meta:
        severity = "critical"
        family = "cfm_cmd_exec"
        description = "ColdFusion page executes OS commands with <cfexecute> from form/url input or a shell binary"
    strings:
        $e = "<cfexecute" nocase ascii
        $i1 = /<cfexecute[^>]{0,200}#(form|url|attributes)\./ nocase ascii
        $i2 = /<cfexecute[^>]{0,80}name\s*=\s*["'][^"']{0,60}(cmd\.exe|\/bin\/(ba)?sh|powershell)/ nocase ascii
        $i3 = /<cfexecute[^>]{0,200}#\w{1,30}#/ nocase ascii
        $f = /#(form|url)\./ nocase ascii
    condition:
        filesize < 2MB and $e and ($i1 or $i2 or ($i3 and $f))
}

/* ColdFusion: cffile / cfdirectory operations on paths that come from the request. */
rule cfm_file_ops_request
{
    meta:
        severity = "critical"
        family = "cfm_filemanager"
        description = "ColdFusion page reads/writes/deletes files or lists directories named by form/url input"
    strings:
        $a = /<cffile[^>]{0,200}(file|source|destination)\s*=\s*["']#(form|url)\./ nocase ascii
        $a2 = /<cfdirectory[^>]{0,200}directory\s*=\s*["']#(form|url)\./ nocase ascii
        $b = /<cffile[^>]{0,60}action\s*=\s*["']?upload[^>]{0,200}destination\s*=\s*["']#/ nocase ascii
    condition:
        filesize < 2MB and any of them
}

/* ColdFusion SQL console: datasource and SQL from the form. */
rule cfm_sql_console
{
    meta:
        severity = "high"
        family = "cfm_sql_browser"
        description = "ColdFusion page runs SQL against a datasource chosen in the request"
    strings:
        $a = /<cfquery[^>]{0,200}datasource\s*=\s*["']#(form|url)\./ nocase ascii
    condition:
        filesize < 2MB and $a
}

/* ColdFusion cfscript reaching java.lang.Runtime through createObject("java", ...). */
rule cfm_java_runtime
{
    meta:
        severity = "critical"
        family = "cfm_cmd_exec"
        description = "ColdFusion creates java.lang.Runtime/ProcessBuilder objects to run commands"
    strings:
        $a = /createObject\s*\(\s*["']java["']\s*,\s*["']java\.lang\.(Runtime|ProcessBuilder)/ nocase ascii
    condition:
        filesize < 2MB and $a
}

/* Encrypted (cfencode'd) ColdFusion template: the source is hidden; webshell kits ship this
 * way. Legitimate sites rarely deploy encoded templates, so treat it as needing a look. */
rule cfm_encrypted_template
{
    meta:
        severity = "medium"
        family = "cfm_obfuscation"
        description = "Encrypted ColdFusion template (source hidden from review)"
    strings:
        $m = "Allaire Cold Fusion Template" ascii
    condition:
        $m at 0
}

/* Perl that evaluates a decoded blob: eval(b64decode($shell_code)), eval(unpack(...)). */
rule perl_eval_decoded
{
    meta:
        severity = "high"
        family = "perl_cgi_shell"
        description = "Perl script evaluates code decoded from an embedded blob (packed/obfuscated shell)"
    strings:
        $a = /\beval\s*\(?\s*(\w{0,20}decode\w{0,20}|unpack|pack|uncompress|inflate)\s*\(/ ascii
        $s = /\bsub\s+\w{1,30}\s*\{/ ascii
    condition:
        filesize < 1MB and $a and $s
}

/* Perl CGI file browser: directory listing and file reads of paths taken from the query. */
rule perl_cgi_file_browser
{
    meta:
        severity = "medium"
        family = "perl_cgi_shell"
        description = "Perl CGI lists directories and reads files whose paths come from the query string"
    strings:
        $q = "QUERY_STRING" ascii
        $f = /\$FORM\s*\{/ ascii
        $od = /opendir\s*\(\s*\w{1,20}\s*,\s*\$\w/ ascii
        $op = /open\s*\(\s*\w{1,20}\s*,\s*"<\s*\$\w{1,30}"\s*\)/ ascii
        $ct = "Content-type" ascii nocase
    condition:
        filesize < 200KB and $q and $f and $od and $op and $ct
}

/* Python clients / generators for PHP webshells: the source carries PHP code-exec payloads
 * (system('%s'), @eval(...)) to post to a planted backdoor. Attack tooling, not application
 * code. */
rule python_webshell_client
{
    meta:
        severity = "medium"
        family = "webshell_client"
        description = "Python script that builds or sends PHP code-execution payloads to a webshell (attack tooling)"
    strings:
        $py1 = "import " ascii
        $py2 = "sys.argv" ascii
        $py3 = "def " ascii
        $e1 = /(system|shell_exec|passthru|exec|eval|assert)\s*\(\s*['"]?%s/ ascii
        $e2 = "@eval(" ascii
        $php = "<?php" ascii
        $h1 = "requests." ascii
        $h2 = "urllib" ascii
        $h3 = "random" ascii
    condition:
        filesize < 200KB and $py1 and ($py2 or $py3) and any of ($h*) and ($e1 or ($php and $e2))
}
