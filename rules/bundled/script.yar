/*
 * shellwatch bundled rules: Perl / Python / shell CGI webshells, reverse and bind shells,
 * IRC bots, downloaders and droppers, attack tools dropped on servers (scanners, mass
 * defacers, root-shell droppers, backdoor clients). ColdFusion rules are in cfm.yar.
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
        $x6 = /`[^`\n]{0,40}\$(param\b|FORM\b|in\{|cmd\b|command\b|req\b)/ ascii
        $x9 = /\b(system|exec)\s*\(?\s*param\s*\(/ ascii
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

/* Perl reverse / bind shell: socket dup'ed onto STDIN/STDOUT and a shell exec'ed, or the
 * socket fdopen'ed as STDIN and STDOUT and every line passed to system (no shell path needed:
 * system runs one). */
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
        $e1 = /\b(exec|system)\s*[\s($]/ ascii
        $f1 = /STDIN\s*->\s*fdopen\s*\(/ ascii
        $f2 = /\$~\s*->\s*fdopen\s*\(/ ascii
        $f3 = /STDOUT\s*->\s*fdopen\s*\(/ ascii
    condition:
        filesize < 500KB and any of ($s*) and $e1 and (
            (any of ($d*) and any of ($sh*))
            or ($f1 and ($f2 or $f3))
        )
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
        $x6 = /subprocess\.(Popen|call|check_output|run)\s*\(\s*\[\s*["'](\/bin\/)?(ba|da|z)?sh["']\s*,\s*["']-c["']/ ascii
        $x7 = /\b(exec|eval)\s*\(\s*[a-zA-Z_]\w{0,20}\.(getvalue|getfirst)\s*\(/ ascii
        $x8 = /\b(exec|eval)\s*\(\s*[a-zA-Z_]\w{0,20}\[["'][^"'\n]{1,30}["']\]\.value/ ascii
    condition:
        filesize < 500KB and any of ($in*) and any of ($x*)
}

/* Python web-framework backdoors (Flask, Django, Bottle, Tornado handlers): the request's
 * arguments go straight into os.system/os.popen/subprocess/eval/exec. Written as one nested
 * call, the shape of a planted route; a view that happens to call subprocess elsewhere in
 * the file is not matched. (No white space inside the call: "sink( request" would leave only
 * the sink name as a search atom, several times dearer to scan for.) */
rule python_web_request_exec
{
    meta:
        severity = "critical"
        family = "python_cgi_shell"
        description = "Python web handler passes request arguments straight to os.system/popen/subprocess/eval/exec"
    strings:
        $a = /(os\.(system|popen)|subprocess\.(Popen|call|check_output|run|getoutput)|commands\.getoutput|eval|exec)\(request\.(args|form|values|GET|POST|data|json|cookies|headers)/ ascii
        $b = /(os\.(system|popen)|subprocess\.(Popen|call|check_output|run|getoutput)|eval|exec)\(self\.get_(argument|body_argument|query_argument)\(/ ascii
    condition:
        filesize < 500KB and ($a or $b)
}

/* Node.js backdoors: an Express/http handler passes req.query/body/params to child_process
 * (exec, execSync, spawn, execFile) or to eval / Function. Browser JavaScript has neither
 * child_process nor a req object. */
rule node_request_exec
{
    meta:
        severity = "critical"
        family = "node_shell"
        description = "Node.js handler runs request input through child_process or eval"
    strings:
        $cp = "child_process" ascii
        $x1 = /(exec|execSync|spawn|spawnSync|execFile|execFileSync)\(req(uest)?\.(query|body|params|headers|cookies)\b/ ascii
        $x2 = /\b(exec|execSync|spawn|spawnSync)\s*\(\s*[\w.]{0,40}\.query\.\w{1,30}/ ascii
        $e1 = /(eval|Function)\(req(uest)?\.(query|body|params|headers|cookies)\b/ ascii
    condition:
        filesize < 1MB and (($cp and any of ($x*)) or $e1)
}

/* Ruby (Rails/Sinatra/ERB) backdoors: params[...] passed to system/exec/spawn/IO.popen/Open3,
 * interpolated into backticks or %x{}, or evaluated. */
rule ruby_params_exec
{
    meta:
        severity = "critical"
        family = "ruby_shell"
        description = "Ruby code runs request params as a command or evaluates them"
    strings:
        $a = /(system|exec|spawn|IO\.popen|Open3\.(popen3|popen2e?|capture2e?|capture3)|eval|instance_eval|class_eval)[( ]params\[/ ascii
        $b = /`[^`\n]{0,40}#\{params\[/ ascii
        $c = /%x[({\[][^\n]{0,40}#\{params\[/ ascii
    condition:
        filesize < 1MB and any of them
}

/* OpenResty / nginx Lua backdoors: request arguments (ngx.req.get_uri_args, get_post_args,
 * ngx.var.arg_*) and io.popen / os.execute / loadstring in the same handler. */
rule lua_ngx_request_exec
{
    meta:
        severity = "critical"
        family = "lua_shell"
        description = "nginx Lua handler runs request arguments through io.popen/os.execute/loadstring"
    strings:
        $i1 = "ngx.req.get_uri_args" ascii
        $i2 = "ngx.req.get_post_args" ascii
        $i3 = "ngx.var.arg_" ascii
        $i4 = "ngx.req.get_body_data" ascii
        $x1 = "io.popen(" ascii
        $x2 = "os.execute(" ascii
        $x3 = "loadstring(" ascii
        $x4 = /\bload\s*\(\s*ngx\./ ascii
    condition:
        filesize < 500KB and any of ($i*) and any of ($x*)
}

/* Python reverse / bind shells: socket file descriptors dup2'ed onto 0/1/2 (or handed to
 * Popen as stdin=s.fileno()) and a shell spawned, or a receive loop feeding
 * subprocess/os.popen. */
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
        $d2 = /stdin\s*=\s*\w{1,20}\.fileno\s*\(\s*\)/ ascii
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
            (($d or $d2) and (any of ($sh*) or any of ($x*)))
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
        // e[v]al, e[x]ecute: looked for by its rarer words, not by "eval" (see
        // php_obf_decode_eval_chain).
        $b = /\be[v]al\s*\(?\s*(param|\$q(uery)?->param|\$cgi->param)\s*\(/ ascii
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

/* Perl that evaluates a decoded blob: eval(b64decode($shell_code)), eval(unpack(...)); or,
 * with nothing else in the file, eval(decode_base64('<long literal>')) (the whole program is the
 * blob: packed IRC bots and shells). decode_base64 is Perl's MIME::Base64 name (PHP's is
 * base64_decode). */
rule perl_eval_decoded
{
    meta:
        severity = "high"
        family = "perl_cgi_shell"
        description = "Perl script evaluates code decoded from an embedded blob (packed/obfuscated shell)"
    strings:
        // e[v]al, e[x]ecute: looked for by its rarer words, not by "eval" (see
        // php_obf_decode_eval_chain).
        $a = /\be[v]al\s*\(?\s*(\w{0,20}decode\w{0,20}|unpack|pack|uncompress|inflate)\s*\(/ ascii
        $s = /\bsub\s+\w{1,30}\s*\{/ ascii
        $b = /\beval\s*\(?\s*(MIME::Base64::)?decode_base64\s*\(\s*["'][A-Za-z0-9+\/]{100}/ ascii
    condition:
        filesize < 1MB and (($a and $s) or $b)
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

/* Shell-level reverse and bind shells, in a script or as a one-liner saved in any file:
 * bash -i >& /dev/tcp/host/port, exec 5<>/dev/tcp/..., netcat/ncat with -e /bin/sh or
 * cmd.exe (bind: nc -l -p N -e /bin/sh), the mkfifo/mknod pipe relayed through nc or telnet,
 * socat EXEC:, telnet | /bin/sh | telnet, an interactive shell with fds redirected
 * ("/bin/sh -i <&3 >&3 2>&3", or "<&%d" format strings), ncat --exec, gawk's /inet/tcp/
 * coprocess, and the PowerShell TCPClient loop that pipes the stream into iex /
 * Invoke-Expression. Each of these only exists to hand a shell to the other end of a
 * connection; documentation of /dev/tcp (host/port placeholders, no interactive shell or fd
 * redirection) does not match. Literals rather than regexes where a regex's best search atom
 * would be a common fragment ("sh -", "am()"). */
rule shell_reverse_shell_oneliner
{
    meta:
        severity = "critical"
        family = "reverse_shell"
        description = "Reverse/bind shell one-liner: /dev/tcp redirection, nc -e /bin/sh, mkfifo|nc, socat exec, PowerShell TCPClient|iex"
    strings:
        $t1 = /sh\s+-i\s+[0-9]?>&\s*\/dev\/(tcp|udp)\// ascii
        $t2 = /[0-9]<>\s*\/dev\/(tcp|udp)\// ascii
        $t3 = /\/dev\/(tcp|udp)\/[^\s\/]{1,80}\/[^\s<>&|;]{1,12}\s*0>&1/ ascii
        $nc1 = /(nc|ncat|netcat)(\.exe|\.traditional|\.openbsd)?\s[^\n]{0,60}-[a-z]{0,4}e\s*\/bin\/(ba|da|z|k)?sh/ ascii
        $nc2 = /(nc|ncat|netcat)(\.exe)?\s[^\n]{0,60}-[a-z]{0,4}e\s*cmd\.exe/ ascii
        $nc3 = /(nc|ncat|netcat)(\.traditional|\.openbsd)?\s[^\n]{0,60}\s-c\s*["']?\/bin\/(ba|da|z|k)?sh\b/ ascii
        $ff1 = /mkfifo\s[^\n]{0,120}\|\s*(nc|ncat|netcat|telnet|openssl)\s/ ascii
        $ff2 = /mknod\s+\S{1,60}\s+p\b[^\n]{0,120}(nc|ncat|netcat|telnet)\s/ ascii
        $so = /socat\s[^\n]{0,120}exec:[^\n]{0,40}(sh|bash|cmd)/ ascii nocase
        $tn = /telnet\s[^\n|]{1,80}\|\s*\/bin\/(ba)?sh\s[^\n]{0,20}\|\s*telnet\s/ ascii
        $fmt = /\/bin\/(ba)?sh -i <&%d/ ascii
        $fd3 = "-i <&3 >&3 2>&3" ascii
        $fd4 = "-i <&4 >&4 2>&4" ascii
        $fd5 = "-i <&5 >&5 2>&5" ascii
        $fd6 = "-i <&6 >&6 2>&6" ascii
        $nx1 = "--sh-exec" ascii
        $nx2 = "--exec /bin/" ascii
        $nx3 = "--exec cmd" ascii
        $nx4 = "--exec=/bin/" ascii
        $aw1 = "/inet/tcp/" ascii
        $aw2 = "|&" ascii
        $ps1 = "Net.Sockets.TCPClient" ascii nocase
        $ps2 = "Invoke-Expression" ascii nocase
        $ps3 = "(iex " ascii nocase
        $ps4 = "| iex" ascii nocase
        $ps5 = "|iex" ascii nocase
    condition:
        filesize < 1MB and (any of ($t*, $nc*, $ff*, $so, $tn, $fmt, $fd*, $nx*) or ($ps1 and any of ($ps2, $ps3, $ps4, $ps5)) or all of ($aw*))
}

/* Downloaders and cron droppers in shell: fetch a URL with wget/curl/fetch and run it (pipe into
 * a shell or perl -- not php or python, which install guides pipe into -- or chmod +x / an
 * interpreter on the fetched file) while hiding the traces (rm -rf
 * after the run, /tmp or /dev/shm as the drop place, nohup). Only in shell scripts (a #!
 * line) or files of a few lines, and for a pipe-to-shell also in crontab lines: install
 * instructions in README/Markdown files say "curl ... | sh" too. Deployment scripts that
 * download and run a tool (composer, a PHP build) neither delete it nor run from /tmp, and
 * usually name the URL in a variable: checked on the Debian tree's 46 shell scripts. */
rule shell_downloader_exec
{
    meta:
        severity = "high"
        family = "downloader"
        description = "Shell dropper: downloads a file with wget/curl and runs it (pipe to a shell or chmod +x and execute), hiding traces"
    strings:
        $sb = /^#!\s*\/(usr\/)?(local\/)?bin\/(env\s+)?(ba|da|z|k)?sh\b/ ascii
        $dl = /\b(wget|curl|fetch|lwp-download)\s[^\n]{0,120}(https?|ftp):\/\// ascii
        $pipe = /\b(wget|curl|fetch)\s[^\n|;]{0,200}\|\s*(sudo\s+)?((ba|da|z|k)?sh|perl)\b/ ascii
        $cron = "crontab" ascii
        $chmod = /chmod\s+(a?\+x|[0-7]?7[0-7][0-7])\s/ ascii
        $run1 = /\b(perl|python[23]?|bash)\s+[\w.\/-]{1,60}/ ascii
        $run2 = "; ./" ascii
        $run3 = "&& ./" ascii
        $run4 = "\n./" ascii
        $run5 = "sh /tmp/" ascii
        $run6 = "sh /dev/shm/" ascii
        $run7 = "sh /var/tmp/" ascii
        $hide1 = "rm -rf " ascii
        $hide2 = "rm -f " ascii
        $hide3 = "rm -fr " ascii
        $hide4 = "/tmp/" ascii
        $hide5 = "/dev/shm" ascii
        $hide6 = "/var/tmp" ascii
        $hide7 = "nohup " ascii
    condition:
        filesize < 100KB and (
            ($pipe and ($sb at 0 or filesize < 1KB or $cron))
            or ($dl and $chmod and any of ($run*) and any of ($hide*) and ($sb at 0 or filesize < 1KB))
        )
}

/* Network sweep drivers of scanning kits: a shell loop over the last octet (.. 254/255) that
 * starts a program on every address built from the argument ("sh go $1.$x",
 * "./pscan $1.$i 22"). Administrators' ping sweeps run ping, which is not matched. Medium: it
 * scans others, it does not take the server. */
rule shell_subnet_sweep
{
    meta:
        severity = "medium"
        family = "scanner"
        description = "Shell script loops over a /24 and runs a program against every address (mass-scanner driver)"
    strings:
        $l1 = /-l[te]\s+25[45]\b/ ascii
        $l2 = /seq\s+[01]\s+25[45]\b/ ascii
        $l3 = /\{[01]\.\.25[45]\}/ ascii
        $run1 = /(sh|bash|perl|python[23]?|\.\/[\w.-]{1,30})\s+([\w.-]{1,30}\s+)?"?\$1\.\$/ ascii
        $run2 = /(sh|bash|perl|python[23]?|\.\/[\w.-]{1,30})\s+([\w.-]{1,30}\s+)?"?\$\{1\}\.\$/ ascii
    condition:
        filesize < 20KB and any of ($l*) and any of ($run*)
}

/* IRC-controlled attack bots: an IRC client (NICK/JOIN/PRIVMSG on a raw socket) that takes
 * "!command" lines from the channel and runs web attacks for them (Google-dork crawling for
 * SQL injection / LFI / RFI targets, injection payloads) or floods. The command-executing
 * kind is perl_irc_bot; this one catches the scanner bots. Benign IRC bots (titles of URLs,
 * logging) carry no injection payloads or dork crawls. */
rule irc_bot_web_attack
{
    meta:
        severity = "high"
        family = "irc_bot"
        description = "IRC bot that runs web attacks (dork crawling, SQLi/LFI/RFI scanning) or floods on channel commands"
    strings:
        $i1 = "PRIVMSG" ascii
        $i2 = /["']NICK / ascii
        $i3 = /["']JOIN / ascii
        $cmd = /PRIVMSG[^\n]{0,40}:[!.@][a-z]/ ascii
        $a1 = /union(\+|%20|\/\*\*\/)+(all(\+|%20|\/\*\*\/)+)?select/ ascii nocase
        $a2 = "../../etc/passwd" ascii
        $a3 = "inurl:" ascii nocase
        $a4 = /google\.[a-z.]{2,10}\/search\?/ ascii
        $a5 = "SOCK_DGRAM" ascii
        $a6 = /udp.?flood/ ascii nocase
        $a7 = "/proc/self/environ" ascii
    condition:
        filesize < 500KB and all of ($i*) and $cmd and 2 of ($a*)
}

/* SQL-injection / vulnerability-scanner tools in Perl or Python: an HTTP client whose URLs
 * carry injection payloads (union+select, concat(0x...), information_schema extraction, LFI
 * traversal to /etc/passwd) or that crawls search engines for targets. Attack tooling dropped
 * on servers; benign code that knows SQL keywords (ORM introspection, WAF filters) neither
 * URL-encodes "union+select" nor sends it with an HTTP client. Medium: nothing on this
 * server runs because of it. */
rule web_attack_tool_script
{
    meta:
        severity = "medium"
        family = "attack_tool"
        description = "Perl/Python tool that sends SQL-injection / LFI payloads with an HTTP client (injection scanner or exploiter)"
    strings:
        $h1 = "LWP::UserAgent" ascii
        $h2 = "HTTP::Request" ascii
        $h3 = "LWP::Simple" ascii
        $h4 = "import requests" ascii
        $h5 = "import urllib" ascii
        $h6 = "from urllib" ascii
        $h7 = "import httplib" ascii
        $h8 = "import http.client" ascii
        $h9 = "from requests" ascii
        $u = /union(\+|%20|\/\*\*\/)+(all(\+|%20|\/\*\*\/)+)?select(\+|%20|\/\*\*\/)/ ascii nocase
        $c = /concat(_ws)?\(0x[0-9a-f]{2}/ ascii nocase
        $s = /from(\+|%20|\/\*\*\/|'\s*\.\s*\$\w{1,10}\s*\.\s*')information_schema/ ascii nocase
        $l = "../../../etc/passwd" ascii
    condition:
        filesize < 1MB and any of ($h*) and ($u or ($c and ($s or $l)) or ($l and $c))
}

/* Python/Perl clients that push PHP code to a planted backdoor: the script posts with an HTTP
 * client a PHP payload that writes a file (fopen/fwrite, file_put_contents of a decoded blob)
 * or runs commands (a PHP-only function such as file_put_contents, fwrite, passthru or
 * base64_decode within 300 bytes after <?php; Python's own os.system/eval do not count), or it
 * loops
 * over the PHP command functions (system, passthru, exec, shell_exec) to find the one the
 * backdoor allows. Scripts that generate PHP source files (MediaWiki's zhtable Makefile.py)
 * write data arrays, not such calls. */
rule script_php_backdoor_client
{
    meta:
        severity = "medium"
        family = "webshell_client"
        description = "Perl/Python client that sends PHP code-execution or file-writing payloads to a planted backdoor"
    strings:
        $h1 = "LWP::UserAgent" ascii
        $h2 = "LWP::Simple" ascii
        $h3 = "HTTP::Request" ascii
        $h4 = "import requests" ascii
        $h5 = "import urllib" ascii
        $h6 = "from urllib" ascii
        $h7 = "import httplib" ascii
        $h8 = "import http.client" ascii
        $h9 = "from requests" ascii
        $php = "<?php" ascii
        $pw1 = "file_put_contents(" ascii
        $pw2 = "fwrite(" ascii
        $pw3 = "fputs(" ascii
        $pw4 = "passthru(" ascii
        $pw5 = "shell_exec(" ascii
        $pw6 = "base64_decode(" ascii
        $pw7 = "proc_open(" ascii
        $fl1 = "\"passthru\"" ascii
        $fl2 = "'passthru'" ascii
        $fl3 = "\"shell_exec\"" ascii
        $fl4 = "'shell_exec'" ascii
        $fo1 = "\"system\"" ascii
        $fo2 = "'system'" ascii
        $fo3 = "\"exec\"" ascii
        $fo4 = "'exec'" ascii
        $fo5 = "\"proc_open\"" ascii
        $fo6 = "'proc_open'" ascii
    condition:
        filesize < 200KB and not ($php at 0) and any of ($h*) and (
            (any of ($fl*) and 2 of ($fl*, $fo*))
            or for any i in (1..#php) : (for any of ($pw*) : ($ in (@php[i] .. @php[i] + 300)))
        )
}

/* Local root exploits that drop a set-uid shell: C source calling setuid(0) and exec of
 * /bin/sh, compiled on the spot and/or made set-uid (chmod +s / 4755). Any language: the
 * same dropper is written in Perl, shell, Python or PHP. */
rule suid_rootshell_dropper
{
    meta:
        severity = "high"
        family = "privesc"
        description = "Script writes, compiles and/or sets the set-uid bit on a setuid(0) + /bin/sh program (local root shell dropper)"
    strings:
        $uid = /setuid\s*\(\s*0\s*\)/ ascii
        $sh = /exec(l|lp|le|v|vp|ve)\s*\(\s*\\?["']\/bin\/(ba)?sh/ ascii
        $cc = /\b(gcc|cc)\s+[^\n]{0,80}-o\s/ ascii
        $suid = /chmod\s+([ugoa]{0,3}\+s|[0-7]?[46][0-7]{3})\s/ ascii
    condition:
        filesize < 500KB and $uid and $sh and ($cc or $suid)
}

/* Mass defacers: walk the directory tree and overwrite every site's index page with the
 * attacker's page. Recognised by a directory walk plus a write/copy, together with either a
 * list of index page names of several platforms (index.html, index.php, default.asp, ...)
 * or the tool's own "mass deface" wording. Benign code lists several index names only in
 * server configuration (DirectoryIndex, web.config default documents), which has no
 * directory walk and writes nothing. */
rule script_mass_defacer
{
    meta:
        severity = "high"
        family = "defacer"
        description = "Script walks directories and overwrites index pages with its own (mass defacer)"
    strings:
        $i1 = "index.html" ascii
        $i2 = "index.htm\"" ascii
        $i3 = "index.htm'" ascii
        $i4 = "index.php" ascii
        $i5 = "index.asp" ascii
        $i6 = "default.asp" ascii
        $i7 = "index.cfm" ascii
        $i8 = "default.htm" ascii
        $i9 = "index.jsp" ascii
        $i10 = "index.shtml" ascii
        $d1 = "mass deface" ascii nocase
        $d2 = "defacer" ascii nocase
        $w1 = "opendir" ascii
        $w2 = "readdir" ascii
        $w3 = "os.walk(" ascii
        $w4 = "os.listdir(" ascii
        $w5 = "File::Find" ascii
        $c1 = "File::Copy" ascii
        $c2 = /open\s*\(\s*\w{1,20}\s*,\s*["']>\s*\$/ ascii
        $c3 = "shutil.copy" ascii
        $c4 = ", 'w')" ascii
        $c5 = ", \"w\")" ascii
        $c6 = ", 'wb')" ascii
        $c7 = ", \"wb\")" ascii
        $s1 = /(^|\n)#!\s*\/\S{0,30}(perl|python)/ ascii
        $s2 = "use strict" ascii
        $s3 = "use Getopt" ascii
        $s4 = "use File::" ascii
        $s5 = "import os" ascii
        $s6 = "import sys" ascii
        $s7 = "import shutil" ascii
    condition:
        filesize < 500KB and any of ($s*) and any of ($w*) and any of ($c*) and (4 of ($i*) or any of ($d*))
}

/* Perl/Python CGI uploaders: store a file posted in a multipart form under the client's file
 * name, with no check of who posts. The dropper behind most web compromises; also what an old
 * site's upload.cgi does, hence medium. Perl: CGI.pm upload handle read in chunks into a file
 * opened for writing from a variable; Python: cgi.FieldStorage item .filename and .file.read()
 * written with open(..., 'wb'). */
rule script_cgi_uploader
{
    meta:
        severity = "medium"
        family = "cgi_uploader"
        description = "Perl/Python CGI stores an uploaded file under its client-supplied name"
    strings:
        $pc1 = "use CGI" ascii
        $pc2 = "CGI->new" ascii
        $pc3 = "new CGI" ascii
        $pu1 = /->upload\s*\(/ ascii
        $pu2 = /\bread\s*\(\s*\$\w{1,30}\s*,\s*\$\w{1,30}\s*,\s*\d{3,6}\s*\)/ ascii
        $pw = /open\s*\(\s*\w{1,20}\s*,\s*["']>\s*\$\w/ ascii
        $pb = "binmode" ascii
        $yc = "cgi.FieldStorage" ascii
        $yr = ".file.read(" ascii
        $yw1 = ", 'wb')" ascii
        $yw2 = ", \"wb\")" ascii
        $form = "multipart/form-data" ascii
        $form2 = "start_multipart_form" ascii
    condition:
        filesize < 200KB and ($form or $form2) and (
            (any of ($pc*) and any of ($pu*) and $pw and $pb)
            or ($yc and $yr and any of ($yw*))
        )
}
