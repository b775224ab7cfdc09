/*
 * shellwatch bundled rules: attacker tools dropped as ASP/ASP.NET pages that are not command
 * shells but are never part of an application: SEO relays and cloakers that serve a remote
 * server's content on the victim's site, local privilege-escalation pages (Serv-U), credential
 * loggers, writable-folder scanners and file-time forgers.
 */

/* SEO relay ("doorway") pages: the page builds its own full address ("http://" & HTTP_HOST &
 * SCRIPT_NAME) or takes its query string and passes it to a hard-coded remote server, whose
 * answer (spam built for that page) is written to the visitor. Applications that call a vendor
 * (version or licence checks) pass at most the host name or a version, and do not forward the
 * visitor's page and query; scrapers fetch pages they name themselves. */
rule asp_seo_remote_relay
{
    meta:
        severity = "high"
        family = "asp_seo_spam"
        description = "ASP/ASPX SEO relay: serves content fetched from a remote server for the visitor's page and query"
    strings:
        $h1 = "XMLHTTP" nocase ascii wide
        $h2 = "WinHttpRequest" nocase ascii wide
        $h3 = "HttpWebRequest" ascii wide
        $h4 = "WebClient" ascii wide
        $l1 = "\"http://" nocase ascii
        $l2 = "\"https://" nocase ascii
        $self = /"https?:\/\/"\s*[&+]\s*request\.servervariables\s*[(\[]\s*"(http_host|server_name)"\s*[)\]]\s*[&+]\s*request\.servervariables\s*[(\[]\s*"(script_name|url|path_info)"/ nocase ascii wide
        $par = /[?&](host|url|domain|h|u|site|ref|referer|uri|page)="\s*[&+]/ nocase ascii wide
        $f2 = /[a-z0-9_][ \t]*[&+][ \t]*"\?"[ \t]*[&+][ \t]*request\.querystring[ \t]*([&,)\r\n]|$)/ nocase ascii wide
        $f3 = /"https?:\/\/[a-z0-9.:\/_-]{4,80}"[ \t]*[&+][ \t]*request\.querystring[ \t]*([&,)\r\n]|$)/ nocase ascii
        $f4 = /\(\s*[a-z_]\w{0,30}\s*&\s*request\.querystring\s*\)/ nocase ascii wide
        $f5 = /"https?:\/\/[a-z0-9.:\/_-]{4,80}\?"[ \t]*[&+][ \t]*[a-z_]/ nocase ascii
        $out1 = /response\.write[ \t(]{1,3}[a-z_][a-z0-9_]{0,30}[ \t)]*[\r\n%;]/ nocase ascii wide
        $out2 = /response\.write[ \t(]{1,3}(get\w{0,20}|bytes2bstr|bytestobstr)\s*\(/ nocase ascii wide
    condition:
        filesize < 300KB and any of ($h*) and any of ($l*) and (($self and $par) or any of ($f*)) and any of ($out*)
}

/* Search-engine cloaking: the page (often global.asa, run for every session) tests the
 * visitor's user agent or referrer for search-engine names and then serves content fetched
 * from a remote server, or sends the visitor to a remote site; some also hide their own file
 * (attributes 7 = read-only, hidden, system). The fetch, redirect or hiding must follow the
 * spider test within 2 KB: CMSs that log which bot visited and, elsewhere, fetch remote images
 * do not match; analytics snippets do not test the user agent for spider names. */
rule asp_seo_spider_cloaker
{
    meta:
        severity = "high"
        family = "asp_seo_spam"
        description = "ASP/ASPX cloaker: serves remote content or redirects when the visitor is a search-engine spider or comes from a search"
    strings:
        $sp1 = /instr\s*\([^\r\n]{0,60}(http_user_agent|http_referer|agent|referer|ua)[^\r\n]{0,10},\s*"[^"\r\n]{0,12}(baidu|googlebot|google|sogou|soso|360spider|yisou|bingbot|spider|sm\.cn|so\.com|yahoo)/ nocase ascii wide
        $sp2 = /\.(Contains|IndexOf)\s*\(\s*"[^"\r\n]{0,12}(baidu|googlebot|sogou|360spider|yisou|bingbot|spider)/ nocase ascii
        $h1 = "XMLHTTP" nocase ascii wide
        $h2 = "HttpWebRequest" ascii wide
        $h3 = "WebClient" ascii wide
        $h4 = "WinHttpRequest" nocase ascii wide
        $red = /redirect[ \t(]{1,3}"https?:\/\// nocase ascii wide
        $l1 = "\"http://" nocase ascii
        $l2 = "\"https://" nocase ascii
        $hide = /\.attributes\s*=\s*(7|6|39|38)\b/ nocase ascii wide
    condition:
        filesize < 300KB and any of ($l*) and (
            for any i in (1..#sp1) : (
                for any of ($h*, $red, $hide) : ($ in (@sp1[i] .. @sp1[i] + 2000))
            ) or
            for any i in (1..#sp2) : (
                for any of ($h*, $red, $hide) : ($ in (@sp2[i] .. @sp2[i] + 2000))
            )
        )
}

/* Serv-U local privilege escalation: the page talks to Serv-U's local admin port on 127.0.0.1
 * with the SITE MAINTENANCE / -SETUSERSETUP admin protocol or logs in and runs SITE EXEC, to add
 * a system-level FTP user or run commands as SYSTEM. */
rule asp_servu_privesc
{
    meta:
        severity = "critical"
        family = "asp_privesc"
        description = "ASP/ASPX page drives Serv-U's local admin interface (SITE MAINTENANCE / SITE EXEC) to escalate privileges"
    strings:
        $a1 = "SITE MAINTENANCE" nocase ascii wide
        $a2 = "-SETUSERSETUP" nocase ascii wide
        $a3 = /site exec [^\r\n]{0,40}(cmd|command)/ nocase ascii wide
        $a4 = "-Maintenance=System" nocase ascii wide
        $l = "127.0.0.1" ascii wide
        $h1 = "XMLHTTP" nocase ascii wide
        $h2 = "Socket" ascii wide
        $h3 = "TcpClient" ascii wide
    condition:
        filesize < 1MB and any of ($a*) and $l and any of ($h*)
}

/* Credential logger dropped next to a login page: appends the user name and password posted
 * to it, with the visitor's IP, to a text file. */
rule asp_credential_logger
{
    meta:
        severity = "high"
        family = "asp_recon"
        description = "Small ASP page appends posted user names and passwords with the client IP to a file"
    strings:
        $p = /request\s*(\.form|\.querystring)?\s*\(\s*"(pass|password|pwd|passwd|pw)"\s*\)/ nocase ascii wide
        $o = /OpenTextFile\s*\([^\r\n]{1,120},\s*8\s*,\s*true/ nocase ascii wide
        $w = ".writeline" nocase ascii wide
        $ip = "REMOTE_ADDR" nocase ascii wide
    condition:
        filesize < 5KB and all of them
}

/* Writable-folder scanner: walks the sub-folders of a request-given root and, in each, creates
 * and deletes a temporary file to learn where a shell could be written. */
rule asp_writable_dir_scanner
{
    meta:
        severity = "high"
        family = "asp_recon"
        description = "ASP page probes folders for write access by creating and deleting a test file in each"
    strings:
        $c = /CreateTextFile\s*\(\s*[a-z_]\w{0,30}\s*&\s*"\\[^"\r\n]{1,30}"/ nocase ascii wide
        $d = /DeleteFile\s*\(?\s*[a-z_]\w{0,30}\s*&\s*"\\[^"\r\n]{1,30}"/ nocase ascii wide
        $t = /=\s*[^\r\n]{0,60}&\s*\w{1,20}\.GetTempName/ nocase ascii wide
        $c2 = /CreateTextFile\s*\(?\s*[a-z_]\w{0,30}\s*\)?\s*[\r\n']/ nocase ascii wide
        $d2 = /DeleteFile\s*\(?\s*[a-z_]\w{0,30}\s*\)?\s*[\r\n']/ nocase ascii wide
        $s = ".subfolders" nocase ascii wide
        $r = "request" nocase ascii wide
        $lock = /\.lock"/ nocase ascii wide
    condition:
        filesize < 200KB and $s and $r and not $lock and (($c and $d) or ($t and $c2 and $d2))
}

/* File-time and attribute forger: sets a file's attributes and its modification date (through
 * Shell.Application's ParseName(..).ModifyDate) to values posted to the page, so a planted file
 * blends in with its neighbours. */
rule asp_file_time_forger
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP page forges file modification times / attributes from request input (hides planted files)"
    strings:
        $sa = "shell.application" nocase ascii wide
        $m = /\.modifydate\s*=\s*[a-z_]\w{0,30}/ nocase ascii wide
        $a = /\.attributes\s*=\s*[a-z_]\w{0,30}/ nocase ascii wide
        $r = /request\s*(\.form|\.querystring)?\s*\(/ nocase ascii wide
    condition:
        filesize < 200KB and $sa and $m and $r and ($a or #m >= 1)
}

/* FileSystemObject operations on a path taken raw from the request (no Server.MapPath of an
 * application folder): GetFolder(Request("path")), OpenTextFile(Request("f")). That is a browser
 * of the whole disk. Server variables (APPL_PHYSICAL_PATH) are not request input here. */
rule asp_fso_raw_request_path
{
    meta:
        severity = "high"
        family = "asp_filemanager"
        description = "ASP opens, lists or writes a file system path taken as-is from the request"
    strings:
        $a = /\.(GetFolder|GetFile|OpenTextFile|CreateTextFile|LoadFromFile|SaveToFile|CopyFile|MoveFile)[ \t(]{1,3}(trim\s*\(\s*)?request\s*(\.form|\.querystring|\.item)?\s*\(\s*"/ nocase ascii wide
    condition:
        filesize < 2MB and $a
}

/* Reads the Remote Desktop port from the registry (WScript.Shell RegRead of the RDP-Tcp
 * PortNumber): the first thing a shell shows its operator before pivoting to RDP. Server
 * probes in the benign set do not read it. */
rule asp_rdp_port_recon
{
    meta:
        severity = "medium"
        family = "asp_recon"
        description = "ASP reads the Remote Desktop (RDP-Tcp) port number from the registry"
    strings:
        $r = /regread[ \t(]{1,3}/ nocase ascii wide
        $k = /WinStations\\RDP-Tcp/ nocase ascii wide
        $p = "PortNumber" nocase ascii wide
    condition:
        filesize < 2MB and all of them
}

/* Uploader that offers an absolute drive path ("C:\") as the place to store the upload and
 * parses the raw request body itself: the target folder is the visitor's choice. Application
 * uploaders store under their own upload folder. */
rule asp_upload_any_path
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP uploader stores the posted file under an absolute path typed into the form"
    strings:
        $b = "BinaryRead" nocase ascii wide
        $w1 = /CreateTextFile\s*\(\s*[a-z_]\w{0,30}\s*[,)]/ nocase ascii wide
        $w2 = /SaveToFile\s*\(?\s*[a-z_]\w{0,30}\s*[,)\r\n]/ nocase ascii wide
        $v = /<input[^>\r\n]{1,100}value\s*=\s*["']?[a-z]:\\/ nocase ascii wide
    condition:
        filesize < 200KB and $b and any of ($w*) and $v
}

/* Site packer: walks every folder and file, copies each file's bytes into one pack stream
 * (stream.Write otherStream.Read(...)) and saves the pack, and can unpack one elsewhere. Used
 * to carry a site's source (and its configuration secrets) away in one download. Application
 * backups dump their database, not every file of the site. */
rule asp_site_packer
{
    meta:
        severity = "medium"
        family = "asp_filemanager"
        description = "ASP packs every file of a folder tree into one archive stream (source theft tool)"
    strings:
        $l = "LoadFromFile" nocase ascii wide
        $s = "SaveToFile" nocase ascii wide
        $sf = ".SubFolders" nocase ascii wide
        $f = ".Files" nocase ascii wide
        $c = /\.write[ \t(]{1,3}[a-z_]\w{0,30}\.read\s*\(/ nocase ascii wide
    condition:
        filesize < 500KB and all of them
}

/* Login brute-forcer: reads a password list from a file, posts each entry to a login URL with
 * a server-side HTTP client and looks for the failure text in the answer. */
rule asp_login_bruteforcer
{
    meta:
        severity = "medium"
        family = "asp_recon"
        description = "ASP posts each line of a password list to a login URL (brute-forcer)"
    strings:
        $h1 = "XMLHTTP" nocase ascii wide
        $h2 = "WinHttpRequest" nocase ascii wide
        $p = /\.open[ \t(]{1,3}"POST"/ nocase ascii wide
        $rd = /\.(readall|readline)\b/ nocase ascii wide
        $sp = /split\s*\(\s*[a-z_]\w{0,30}\s*,\s*(chr\s*\(\s*1[03]\s*\)|vbcrlf|vblf|vbcr)\s*\)/ nocase ascii wide
        $lp = /for\s+[a-z_]\w{0,20}\s*=[^\r\n]{1,60}ubound\s*\(/ nocase ascii wide
        $ck = /instr\s*\(\s*[a-z_]\w{0,30}\s*,\s*[a-z_]\w{0,30}\s*\)\s*<\s*1/ nocase ascii wide
    condition:
        filesize < 100KB and any of ($h*) and $p and $rd and $sp and $lp and $ck
}

/* Hidden SEO link farm injected into a page: dozens of links to outside sites in a block that
 * the page hides from visitors, either with a script that sets the block's display to none
 * right before the block, or by placing the block far off screen (top/left: -999px). The
 * search engine sees the links, the site owner does not. Not ASP-specific: the same injection
 * is found in .html and .php files. Checked on the benign ASP, PHP and JSP pages and the Debian
 * tree: menus and tab panels hidden with display:none are not written this way. */
rule seo_hidden_link_farm
{
    meta:
        severity = "medium"
        family = "asp_seo_spam"
        description = "Page carries a hidden block of many outside links (SEO link-farm injection)"
    strings:
        $a = /<a\s+href\s*=\s*["']?https?:\/\/[a-z0-9.-]{4,60}/ nocase ascii wide
        $h1 = /getElementById\s*\(\s*["'][^"']{1,30}["']\s*\)\s*\.style\.display\s*=\s*["']none["'];?\s*<\/script>\s*<div\s+id\s*=/ nocase ascii wide
        $h2 = /<div[^>]{0,40}style\s*=\s*["'][^"']{0,40}(top|left)\s*:\s*-\d{3,}px[^>]{0,60}>\s*<a\s+href/ nocase ascii wide
    condition:
        filesize < 200KB and #a >= 30 and any of ($h*)
}

/* A page whose only job is to print every server variable (paths, accounts, headers): recon
 * dropped to learn the server. Server probes print them among much else; this wants a small
 * page. */
rule asp_server_variables_dump
{
    meta:
        severity = "medium"
        family = "asp_recon"
        description = "Small ASP page lists every server variable (recon)"
    strings:
        $f = /for\s+each\s+\w+\s+in\s+request\.servervariables/ nocase ascii wide
    condition:
        filesize < 4KB and $f
}
