/*
 * shellwatch bundled rules: attacker-dropped PHP/HTML files that are not
 * request-to-code-execution shells (behaviour).
 *
 * The PHP analyzer (phpscan) follows request input to execution sinks;
 * these rules cover what attackers drop beside their shells and what has
 * no request-to-sink path: binary droppers, DoS flooders, IRC bots, mass
 * defacers, deface pages, phishing kits and credential harvesters,
 * mass-mailer UIs, SEO doorway generators, infection beacons, recon
 * pages and the old safe_mode / symlink / exploit helper pages.
 * JavaScript injected into pages lives in php_js.yar.
 *
 * Each rule says above it what it matches, why benign code does not, and
 * which benign look-alikes were checked (Debian web packages and the
 * benign-web application set).
 */

/* ------------------------------------------------------------------ */
/* Native binary droppers.                                             */
/* ------------------------------------------------------------------ */

/* An ELF executable or shared object embedded in the PHP source (as a
   "\x7f\x45\x4c\x46..." escaped string or as base64 "f0VMRg..."), written
   to disk and then run: through system/exec, LD_PRELOAD, at or crontab
   (the lib-worker.so / spam-bot droppers).
   Benign: file-type detectors hold the 4-byte ELF magic, never a whole
   escaped header (magic + class + endianness + version) next to a file
   write and a launcher; no Debian or benign-web file carries one. */
rule php_embedded_elf_dropper
{
    meta:
        severity = "critical"
        family = "php_dropper"
        description = "embedded ELF binary (escaped or base64) written to disk and launched (exec, LD_PRELOAD, at/crontab): native malware dropper"
    strings:
        $elf1 = /\\x7f\\x45\\x4c\\x46\\x0[12]\\x0[12]\\x01/ nocase
        $elf2 = "\\177\\105\\114\\106\\00"
        $elf3 = /["']f0VMRg[EI]BAQ/
        $w1 = "file_put_contents(" nocase
        $w2 = "fwrite(" nocase
        $w3 = "fputs(" nocase
        $x1 = "exec(" nocase
        $x2 = "system(" nocase
        $x3 = "passthru(" nocase
        $x4 = "popen(" nocase
        $x5 = "proc_open(" nocase
        $x6 = "LD_PRELOAD"
        $x7 = "crontab"
        $x8 = "nohup "
    condition:
        filesize < 8MB and any of ($elf*) and any of ($w*) and any of ($x*)
}

/* ------------------------------------------------------------------ */
/* Denial of service run from the web.                                 */
/* ------------------------------------------------------------------ */

/* UDP/TCP flooder: a socket to udp://<variable> (or tcp://) written in a
   loop that stops on a wall-clock deadline, with a large junk packet,
   random ports and the request abort/time limits switched off.
   Benign: statsd/syslog/GELF clients open udp:// sockets and fwrite one
   datagram; they never combine that with ignore_user_abort, a
   time()-deadline loop, random destination ports or 64 KB junk packets. */
rule php_socket_flooder
{
    meta:
        severity = "high"
        family = "php_flooder"
        description = "UDP/TCP flood: socket to a variable host written in a loop until a deadline, with junk packets, random ports and no time limit"
    strings:
        $s1 = /fsockopen\s*\(\s*["'](udp|tcp):\/\/["']?\s*\.\s*\$/ nocase
        $s2 = /fsockopen\s*\(\s*["'](udp|tcp):\/\/\{?\$/ nocase
        $s3 = /socket_create\s*\(\s*AF_INET\s*,\s*SOCK_(DGRAM|RAW)/ nocase
        $w1 = "fwrite(" nocase
        $w2 = "fputs(" nocase
        $w3 = "socket_sendto(" nocase
        $w4 = "socket_write(" nocase
        $f1 = "ignore_user_abort(" nocase
        $f2 = /time\(\) ?>/
        $f3 = /rand\(1, ?6[45]/
        $f4 = /(6500|6553)[0-9]/
        $f5 = "flood" nocase
        $f6 = /while ?\((1|true|TRUE|\$[a-z_]{1,20} ?== ?true)\)/
        $f7 = "set_time_limit(0)" nocase
    condition:
        filesize < 1MB and any of ($s*) and any of ($w*) and 4 of ($f*)
}

/* HTTP/socket flooder that names itself and forks workers or loops for
   ever: "HTTP flood" / "UDP flood" wording with a network primitive and
   an endless loop or process forking.
   Benign: "flood" in phpBB/Drupal/Nextcloud means flood *control* (rate
   limits); none of those forks processes or hammers sockets in
   while(true). */
rule php_named_flooder
{
    meta:
        severity = "high"
        family = "php_flooder"
        description = "script describing itself as a UDP/TCP/HTTP/SYN flood that loops on sockets or curl, forking workers or running without time limit"
    strings:
        $n = /\b(udp|tcp|syn|http|socket|ack|icmp)[ _-]?flood(er|ing)?\b/ nocase
        $p1 = "fsockopen(" nocase
        $p2 = "socket_create(" nocase
        $p3 = "curl_exec(" nocase
        $p4 = "curl_multi_exec(" nocase
        $l1 = /while ?\((1|true|TRUE|!feof)/
        $l2 = "pcntl_fork(" nocase
        $l3 = "ignore_user_abort(" nocase
        $l4 = "set_time_limit(0)" nocase
    condition:
        filesize < 1MB and #n >= 2 and any of ($p*) and 2 of ($l*)
}

/* PHP IRC bot (pBot and kin): connects to an IRC server, speaks the IRC
   protocol (NICK/USER/JOIN/PRIVMSG/PING-PONG) and runs the commands it
   receives through shell_exec/system/exec or floods on command.
   Benign: IRC notification libraries speak the protocol but never run
   received text as a command nor carry flood routines. */
rule php_irc_bot
{
    meta:
        severity = "critical"
        family = "irc_bot"
        description = "IRC bot: joins a channel over a raw socket and runs received commands (shell_exec/system/exec) or floods on command"
    strings:
        $i1 = "PRIVMSG" ascii
        $i2 = "NICK "
        $i3 = "JOIN "
        $i4 = "PONG"
        $i5 = "USER $"
        $c = "fsockopen(" nocase
        $x1 = /(shell_exec|system|passthru|exec|popen|proc_open)\(\$/ nocase
        $x2 = "flood" nocase
    condition:
        filesize < 1MB and $i1 and 3 of ($i2, $i3, $i4, $i5) and $c and any of ($x*)
}

/* ------------------------------------------------------------------ */
/* Mass defacers / infectors and deface pages.                         */
/* ------------------------------------------------------------------ */

/* Walks every folder and writes the same file into each one (mass
   defacer / infector): directory iteration, an is-dir test and a write,
   with either a <dir>/index.* target near the loop and content from the
   request or deface wording, or a <dir>/<name> join near the loop and
   deface wording ("hacked", "was here", "mass deface").
   Benign look-alikes checked: recursive copy/delete helpers and
   installers (DokuWiki install.php joins dir/file in a readdir loop and
   reads $_REQUEST, but writes no index file and has no deface wording),
   and "Silence is golden" index.php protectors (no request input, no
   deface wording: negative fixture upload_dir_index_guard.php). */
rule php_mass_defacer
{
    meta:
        severity = "high"
        family = "php_defacer"
        description = "walks every directory and writes the same index/deface file into each one, content from the request or deface wording (mass defacer)"
    strings:
        $it = /(readdir|scandir|glob)\(|RecursiveDirectoryIterator/ nocase
        $d1 = "is_dir(" nocase
        $d2 = /filetype\s*\([^;]{1,60}\)\s*==\s*["']dir["']/ nocase
        $d3 = "->isDir()" nocase
        $w1 = /\.\s*["']\/(index|default|home)\.(php|html?|asp)["']/ nocase
        $w2 = "'/' . $"
        $w3a = "'/'.$"
        $w4 = "\"/\" . $"
        $w5 = "\"/\".$"
        $p1 = "file_put_contents(" nocase
        $p2 = "copy(" nocase
        $p3 = "fwrite(" nocase
        $c1a = "$_POST["
        $c1b = "$_GET["
        $c1c = "$_REQUEST["
        $c2 = /(hacked|defaced|was here|pwned)/ nocase
        $c3 = /mass ?deface/ nocase
    condition:
        filesize < 100KB and #it < 200 and #w1 < 200 and any of ($d*) and any of ($p*) and (
            (any of ($c*) and for any i in (1..#it) : ($w1 in (@it[i] .. @it[i] + 1500))) or
            (($c2 or $c3) and for any i in (1..#it) : (
                $w2 in (@it[i] .. @it[i] + 1500) or $w3a in (@it[i] .. @it[i] + 1500) or
                $w4 in (@it[i] .. @it[i] + 1500) or $w5 in (@it[i] .. @it[i] + 1500)))
        )
}

/* Deface page: a page whose title or headline announces "Hacked by" /
   "Defaced by" (dropped as index.php/.html).
   Benign: no Debian or benign-web file has these words in a title or
   heading (they occur only in prose: changelogs, advisories). */
rule php_deface_page
{
    meta:
        severity = "high"
        family = "php_deface"
        description = "deface page: title or headline announcing \"hacked by\" / \"defaced by\" / \"0wned by\" a crew"
    strings:
        $w = /(h[a4]ck[e3]d|d[e3]f[a4]c[e3]d|0wn[e3]d|pwn[e3]d)\s+by\b/ nocase
        $t = "<title" nocase
        $h1 = /<h[1-6][ >]/ nocase
        $h2 = "<font" nocase
        $h3 = "<center" nocase
        $h4 = "<marquee" nocase
    condition:
        filesize < 1MB and #w < 50 and for any i in (1..#w) : (
            $t in (@w[i] - 80 .. @w[i]) or
            for any of ($h*) : ($ in (@w[i] - 300 .. @w[i]))
        )
}

/* ------------------------------------------------------------------ */
/* safe_mode / open_basedir breakers, symlink and exploit helpers.     */
/* ------------------------------------------------------------------ */

/* Safe-mode breaker: brute-forces paths with glob() and reads the names
   back out of the "SAFE MODE Restriction in effect" / open_basedir
   warning captured by a custom error handler.
   Benign: applications do not parse PHP's safe_mode/open_basedir
   warnings to learn file names. */
rule php_safe_mode_error_leak
{
    meta:
        severity = "high"
        family = "php_bypass"
        description = "lists forbidden directories by brute-forcing glob() and parsing the safe_mode/open_basedir warning in an error handler"
    strings:
        $m1 = /SAFE\\? MODE\\? Restriction/
        $m2 = /open_basedir\\? restriction\\? in\\? effect/ nocase
        $g = "glob(" nocase
        $h = "set_error_handler(" nocase
        $p = "preg_match(" nocase
    condition:
        filesize < 200KB and any of ($m*) and $g and $h and $p
}

/* Symlink bypass tool: links other users' files or the whole tree into
   the web root after enumerating the host's users (a posix_getpwuid
   loop over every uid, or cPanel's /etc/valiases, /etc/named.conf maps).
   Benign: no application enumerates every uid nor reads the cPanel
   domain maps, let alone next to symlink(). */
rule php_symlink_user_bypass
{
    meta:
        severity = "high"
        family = "php_config_grabber"
        description = "symlink tool: enumerates the host's users/domains (uid loop, /etc/valiases, /etc/named.conf) and symlinks their files into reach"
    strings:
        $u1 = /for\s*\(\s*\$[a-z_]{1,20}\s*=\s*0\s*;\s*\$[a-z_]{1,20}\s*<\s*[0-9]{4,6}\s*;[^)]{1,30}\)\s*\{?\s*\$[a-z_]{1,20}\s*=\s*@?posix_getpwuid\s*\(/ nocase
        $u2 = "/etc/valiases"
        $u3 = "/etc/named.conf"
        $u4 = "/etc/userdomains"
        $s = "symlink(" nocase
    condition:
        filesize < 2MB and any of ($u*) and $s
}

/* Windows command execution through the WScript.Shell (or
   Shell.Application) COM object: new COM("WScript.Shell") then
   ->Exec/->Run/->ShellExecute (typically "cmd.exe /c <variable>").
   Benign: PHP applications do not start programs through these COM
   objects; no Debian or benign-web file does. */
rule php_com_wscript_shell
{
    meta:
        severity = "high"
        family = "php_generic_exec"
        description = "runs programs through the WScript.Shell/Shell.Application COM object (new COM(\"WScript.Shell\")->Exec/Run)"
    strings:
        $c = /["'](WScript\.Shell|Shell\.Application)["']/ nocase
        $n = "COM(" nocase
        $m1 = "->exec(" nocase
        $m2 = "->run(" nocase
        $m3 = "->ShellExecute(" nocase
    condition:
        filesize < 2MB and $c and $n and any of ($m*)
}

/* Exploit helper run against other sites: posts a PHP code payload
   (system/eval/passthru of $_GET, url-encoded or not) with curl and then
   checks the target's answer for the output of `id` ("uid=").
   Benign: HTTP clients do not post PHP code nor grep answers for uid=. */
rule php_remote_exploit_client
{
    meta:
        severity = "high"
        family = "php_exploit"
        description = "exploit client: posts a PHP code-execution payload to another site with curl and checks the reply for command output (uid=)"
    strings:
        $c = /curl_setopt\s*\(\s*\$[a-z_]{1,20}\s*,\s*CURLOPT_POSTFIELDS/ nocase
        $p1 = /(system|passthru|shell_exec|eval|assert)(\(|%28)\s*\\?\$_(GET|POST|REQUEST)(\[|%5b)/ nocase
        $u = /["'\/]uid=["'\/]/
    condition:
        filesize < 500KB and $c and any of ($p*) and $u
}

/* Upload-filter bypass page: a form posting a file to another site's
   upload handler with a forged server-side name (x.php;.jpg, x.asp;.jpg,
   x.php%00.jpg) that the target's IIS/Apache then runs as a script.
   Benign: upload forms post to their own application and never carry a
   hidden file name with a script extension before ';' or a NUL. */
rule php_upload_bypass_form
{
    meta:
        severity = "high"
        family = "php_exploit"
        description = "form posting a file to a remote upload handler under a forged script name (x.php;.jpg / x.asp;.jpg / %00): upload bypass exploit page"
    strings:
        $f = /<form[^>]{0,200}enctype\s*=\s*["']multipart\/form-data["'][^>]{0,200}action\s*=\s*["']https?:\/\//  nocase
        $f2 = /<form[^>]{0,200}action\s*=\s*["']https?:\/\/[^>]{0,200}enctype\s*=\s*["']multipart\/form-data/ nocase
        $n = /\.(php[345s]?|phtml|asp|aspx|asa|cer|jsp)(;|%00)[^"'\s]{0,20}\.(jpe?g|gif|png|txt|bmp)["']/ nocase
    condition:
        filesize < 200KB and any of ($f*) and $n
}

/* ------------------------------------------------------------------ */
/* Recon / info pages and infection beacons.                           */
/* ------------------------------------------------------------------ */

/* Infection beacon that mails a fixed free-mail address the victim's
   host, URL, system name or path (so the attacker learns where the
   dropped file landed). Complements php_mail_beacon in php.yar.
   Benign: applications mail configured addresses, not literal webmail
   addresses, and never with php_uname()/get_current_user() reports. */
rule php_recon_mail_beacon
{
    meta:
        severity = "high"
        family = "php_beacon"
        description = "mails the server's host/URL/uname/path to a hard-coded webmail address: infection beacon of a dropped file"
    strings:
        $m = "mail(" nocase
        $a = /@(gmail|yahoo|hotmail|outlook|live|yandex|aol|gmx|rambler|inbox|protonmail|tutanota|bol|uol|terra|qq|163|126)\.[a-z]{2,3}\b/
        $h = "HTTP_HOST"
        $u = "REQUEST_URI"
        $s2 = "php_uname(" nocase
        $s3 = "get_current_user(" nocase
        $s4 = "SCRIPT_FILENAME"
        $s5 = "DOCUMENT_ROOT"
    condition:
        filesize < 50KB and $m and $a and (($h and $u and any of ($s*)) or 2 of ($s*))
}

/* Infection beacon that reports the site's host name to a server given
   by a literal IP address and throws the answer away (the first line of
   an injected page: <?php file_get_contents("http://1.2.3.4/x.php?h=".HOST)).
   Benign: update and licence checks talk to named vendor hosts, and use
   the reply. */
rule php_ip_host_beacon
{
    meta:
        severity = "medium"
        family = "php_beacon"
        description = "sends the site's host name to a literal-IP server and discards the reply (infection beacon)"
    strings:
        $b = /(;|<\?php|\{)\s*@?(file_get_contents|file|fopen|get_headers)\s*\(\s*["']https?:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}[:\/][^"'\n]{0,80}["']\s*\.\s*(urlencode\s*\(\s*|base64_encode\s*\(\s*)?\$_SERVER\s*\[\s*["'](HTTP_HOST|SERVER_NAME)["']\s*\]\s*\)?\s*\)\s*;/ nocase
    condition:
        filesize < 2MB and $b
}

/* Bare recon pages: a tiny file that only runs phpinfo(), or that prints
   php_uname() with the safe_mode state (the "is it uploaded / is it
   vulnerable" checkers dropped by upload scanners).
   Benign: phpinfo()/php_uname() appear inside admin controllers and
   installers of real applications, never as a whole file of a few
   hundred bytes; no Debian or benign-web file is one. */
rule php_recon_probe_page
{
    meta:
        severity = "medium"
        family = "php_recon"
        description = "tiny recon page: only phpinfo(), or php_uname() printed with the safe_mode state (upload/vulnerability check)"
    strings:
        $i = /phpinfo\s*\(\s*(-1|INFO_ALL)?\s*\)/ nocase
        $u = "php_uname(" nocase
        $s = /ini_get\s*\(\s*["']safe_mode["']\s*\)/ nocase
    condition:
        (filesize < 200 and uint16(0) == 0x3f3c and $i) or
        (filesize < 3KB and $u and $s)
}

/* Database dumper: a standalone script that connects to MySQL itself
   (credentials written in the file), removes the time limit and keeps
   running when the client leaves, and prints a table in LIMIT-sized
   slices whose range (and often table/columns) comes from the request
   ("wget 'x.php?sn=0&en=5000000' -O dump.sql").
   Benign look-alikes checked: export features of phpMyAdmin/Adminer and
   CMS backup plugins (classes, the application's own DB layer, no
   ignore_user_abort + request-driven LIMIT loop in a tiny file). */
rule php_db_dumper_script
{
    meta:
        severity = "medium"
        family = "php_db_dumper"
        description = "standalone MySQL dumper: own connection, no time limit, ignore_user_abort, table printed in LIMIT slices chosen by request parameters"
    strings:
        $c = /\b(mysql_connect|mysqli_connect|new\s+mysqli|new\s+PDO)\s*\(/ nocase
        $a = "ignore_user_abort(" nocase
        $t = "set_time_limit(0)" nocase
        $l1 = "limit \"." nocase
        $l2 = "limit '." nocase
        $l3 = "limit \" ." nocase
        $l4 = "limit ' ." nocase
        $g1 = "$_GET["
        $g2 = "$_REQUEST["
    condition:
        filesize < 30KB and $c and $a and $t and any of ($l*) and any of ($g*)
}

/* ------------------------------------------------------------------ */
/* SEO spam doorways.                                                  */
/* ------------------------------------------------------------------ */

/* Doorway generator: picks its spam content by the victim's host name
   (table or key derived from $_SERVER SERVER_NAME/HTTP_HOST), fills a
   page template ({title}/{content}/{keyword} placeholders) and writes
   the result as .html files, often into new keyword-named folders.
   Benign look-alikes checked: template engines replacing {title}
   (no host-derived table, no bulk .html writes) and multi-site apps
   looking a host up in a sites table (no template writes). */
rule php_seo_doorway_generator
{
    meta:
        severity = "high"
        family = "php_seo_spam"
        description = "SEO doorway generator: spam content chosen by the site's host name, filled into a page template and written out as .html files"
    strings:
        $h = /(from|table|into)\s*["']?\s*\.\s*(str_replace\s*\([^;]{1,30},\s*)?\$_SERVER\s*\[\s*["'](SERVER_NAME|HTTP_HOST)["']/ nocase
        $t1 = /str_replace\s*\(\s*["']\{(title|content|keywords?|description|kw|key)\}["']/ nocase
        $t2 = /str_replace\s*\(\s*["']\[(title|content|keywords?|description|kw|key)\]["']/ nocase
        $w = /\.html?["']/ nocase
        $w2 = "fwrite(" nocase
        $w3 = "file_put_contents(" nocase
    condition:
        filesize < 200KB and $h and any of ($t*) and $w and ($w2 or $w3)
}

/* ------------------------------------------------------------------ */
/* Phishing kits, credential harvesters, mass-mailer UIs.              */
/* ------------------------------------------------------------------ */

/* Phishing kit page: a copy of another site's page saved with HTTrack
   ("Mirrored from ... by HTTrack" / "Added by HTTrack") that has been
   given a PHP handler reading the posted form fields.
   Benign: applications do not ship HTTrack mirrors of other sites, and
   a mirror never contains server-side form handling. */
rule php_phishing_mirrored_page
{
    meta:
        severity = "high"
        family = "php_phishing"
        description = "phishing kit page: an HTTrack mirror of another site given a PHP handler that reads the posted form fields"
    strings:
        $m1 = /Mirrored from [^\n]{1,200} by HTTrack/ nocase
        $m2 = "Added by HTTrack" nocase
        $p1 = "$_POST["
        $p2 = "$_REQUEST["
        $p3 = "$_GET["
    condition:
        filesize < 2MB and any of ($m*) and #p1 + #p2 + #p3 >= 3
}

/* Credential harvester: posted fields labelled as passwords, card data
   or account-recovery data are mailed or written with the victim's IP,
   and the victim is then sent on to an absolute https URL (the real
   site) with a Location header or a script redirect.
   Benign look-alikes: contact forms mail posted fields with the visitor's
   IP, but carry no password/card/recovery labels (negative fixture
   contact_form_mail.php); sign-up and login-alert code may mail a
   "Password: "/"Login: " line and redirect to a literal https URL, but it
   hashes passwords or stores rows (password_hash, INSERT INTO, prepare),
   which a harvester never does (negative fixture signup_welcome_mail.php).
   A redirect to "https://" . $host (own site) is not counted. */
rule php_credential_harvester
{
    meta:
        severity = "high"
        family = "php_phishing"
        description = "mails/writes posted credential, card or account-recovery fields with the victim's IP, then redirects to the real site"
    strings:
        $p1 = "$_POST["
        $p2 = "$_REQUEST["
        $ip1 = "REMOTE_ADDR"
        $ip2 = "HTTP_CLIENT_IP"
        $ip3 = "HTTP_X_FORWARDED_FOR"
        $o1 = "mail(" nocase
        $o2 = "fwrite(" nocase
        $o3 = "fputs(" nocase
        $o4 = "file_put_contents(" nocase
        // a labelled value: "Password: " . $p  or  "<b>Senha: </b>$senha"
        $l = /(senha|password|passwd|passwort|contrase|mot de passe|cvv|card ?number|num_card|recovery[a-z ]{0,12}|login)[a-z\x80-\xff]{0,4}\s{0,3}:?\s{0,3}(<\/b>)?\s{0,3}(["']\s*\.\s*)?\$[a-z_]/ nocase
        $r1 = /location(\.href)?\s*=\s*\\?["']https?:\/\/[a-z0-9]/
        $r2 = /location\.replace\s*\(\s*\\?["']https?:\/\/[a-z0-9]/
        $r3 = /header\s*\(\s*["']Location:\s*https?:\/\/[a-z0-9]/ nocase
        $r4 = /http-equiv\s*=\s*\\?["']refresh\\?["'][^>]{0,40}url=https?:\/\/[a-z0-9]/ nocase
        // an application's own account code: hashes passwords, stores rows
        $app1 = "password_hash(" nocase
        $app2 = "password_verify(" nocase
        $app3 = "INSERT INTO" nocase
        $app4 = "->prepare(" nocase
    condition:
        filesize < 500KB and any of ($p*) and any of ($ip*) and any of ($o*) and $l and any of ($r*) and
        not any of ($app*)
}

/* Mass-mailer UI: a form with a textarea, request input and mail(), plus
   a spam-tool trait: a recipient list split per line, a Bcc header
   filled from a variable, a spoofed desktop-client X-Mailer, or a
   %EMAIL% placeholder personalised per recipient.
   Benign look-alikes checked: contact forms (fixed recipient, no list,
   no Bcc from input, no client spoofing) and mail libraries (no form). */
rule php_mass_mailer_ui
{
    meta:
        severity = "high"
        family = "php_mailer"
        description = "spam mailer UI: form + mail() with a posted recipient list, Bcc from input, spoofed X-Mailer or per-recipient %EMAIL% placeholder"
    strings:
        $m = "mail(" nocase
        $r1 = "$_POST["
        $r2 = "$_GET["
        $r3 = "$_REQUEST["
        $ta = "<textarea" nocase
        $s1 = /explode\s*\(\s*["'](\\r)?\\n["']\s*,\s*\$[a-z_]{1,30}\s*\)/ nocase
        $s2 = /["']Bcc:\s*["']?\s*\.\s*\$/ nocase
        $s3 = /["']Bcc:\s*\$[a-z_]/ nocase
        $s4 = /X-Mailer:\s*(Microsoft|Outlook|The Bat|Apple Mail|Thunderbird|Mozilla)/ nocase
        $s5 = /["']%(EMAIL|email|Email|e-mail|TO|to)%["']/
    condition:
        filesize < 1MB and $m and $ta and any of ($r*) and any of ($s*)
}

/* Headless phishing/spam sender: a small script that reads the request
   and calls mail() with a Bcc header filled from a variable, so one call
   reaches a whole posted list (driven by a remote sending tool).
   Medium: a members-only "mail everybody" page can be written the same
   way; the form-based mass-mailer rule above is the high-confidence one. */
rule php_request_bcc_mailer
{
    meta:
        severity = "medium"
        family = "php_mailer"
        description = "small script calling mail() with a Bcc header built from a variable next to request input (list mailer without a form)"
    strings:
        $m = "mail(" nocase
        $r1 = "$_POST["
        $r2 = "$_GET["
        $r3 = "$_REQUEST["
        $b1 = /["']Bcc:\s*["']?\s*\.\s*\$/ nocase
        $b2 = /["']Bcc:\s*\$[a-z_]/ nocase
    condition:
        filesize < 100KB and $m and any of ($r*) and any of ($b*)
}
