/*
 * shellwatch bundled rules: classic ASP (VBScript/JScript) webshells and backdoors.
 * ASP.NET (ASPX/ASHX/ASMX) is in asp_dotnet.yar; droppers, SEO relays and privilege-escalation
 * pages common to both are in asp_tools.yar.
 *
 * VBScript is case-insensitive, so most strings are nocase. The rules look for what makes a
 * page a shell: request input handed to a code evaluator (Execute/ExecuteGlobal/Eval), to a
 * command interpreter (WScript.Shell, Shell.Application), to file or database primitives with
 * a path or connection chosen by the request, or code that is hidden on purpose and then
 * executed. They are measured against 9,434 real classic-ASP application pages (CMSs, admin
 * panels, installers, server probes): writing fixed-path files, CMS uploaders, template
 * editors, database access with fixed connection strings, ProgIDs split against antivirus
 * false alarms and VBScript.Encode'd pages are all common there and are not, alone, a shell.
 *
 * "Statement start" below means the keyword begins a VBScript statement: at a line start,
 * after ':' or '<%', or after Then/Else. That keeps out obj.Execute(sql) (ADO), client-side
 * JavaScript eval(x).style..., and eval() used inside an If condition.
 */

/* China Chopper and friends: <%eval request("x")%>, execute request(...), ExecuteGlobal, and
 * the same through a session variable that was filled from the request. Request input as the
 * direct argument of the evaluator: no application does that. */
rule asp_eval_request
{
    meta:
        severity = "critical"
        family = "china_chopper"
        description = "ASP evaluates request input as code (eval/Execute/ExecuteGlobal of Request)"
    strings:
        $a = /(^|[\s:%>(;])(eval|execute|executeglobal)[\s(]{1,5}request\s*(\.item|\.form|\.querystring|\.cookies)?\s*[(\[]/ nocase ascii wide
        $b = /(^|[\s:%>(;])(eval|execute|executeglobal)[\s(]{1,5}session\s*\(/ nocase ascii wide
    condition:
        filesize < 2MB and any of them
}

/* The request value is first copied into a variable, then a variable is evaluated:
 *   x1 = request("h") ... eval x2   or   a=request(chr(97)) : ExecuteGlobal(StrReverse(a))
 *   k = Request(key) : Execute(check(k))
 * Small pages only (one-liners and their obfuscated variants), and the evaluator must start a
 * statement. Dreamweaver pages ("' execute the update" comments, MM_editCmd.Execute) and
 * Z-Blog plugin hooks ("Call Execute(sAction_...)") were checked and do not match. */
rule asp_eval_request_indirect
{
    meta:
        severity = "high"
        family = "china_chopper"
        description = "Small ASP page reads request input into a variable and evaluates a variable with eval/Execute"
    strings:
        $r = /=\s*request\s*(\.item|\.form|\.querystring)?\s*[(\[]/ nocase ascii wide
        // What may end the statement after the name is one class, not an
        // alternation tried after each of its letters: a file padded with
        // "eval(" cost this regex 0.3 s a MiB (issue 10).
        $e = /(^|[\r\n:]|<%|\bthen|\belse)[ \t]*(eval|execute|executeglobal)([ \t]+|[ \t]*\([ \t]*)(strreverse\s*\(\s*)?[a-z_][a-z0-9_]{0,30}[ \t)]*[(\r\n%:]/ nocase ascii wide
        $e2 = /[\s>)](execute|executeglobal)[ \t]*\([ \t]*(strreverse[ \t]*\([ \t]*)?[a-z_][a-z0-9_]{0,30}[ \t]*\)/ nocase ascii wide
    condition:
        filesize < 8KB and $r and ($e or $e2)
}

/* Execute/ExecuteGlobal/Eval of a string the page assembles at run time from pieces that hide
 * what it is: Chr(101)&Chr(118).., Array(101,118,97,108) decoded in a loop, StrReverse("lave"),
 * Join(Array("e","v","a","l")), "e|v|a|l" split on a filler, "ev"&"a"&"l", a literal that
 * carries request(" inside a code string, XOR decoders. That is how one-line shells are
 * re-written to pass signature scanners; the evaluated string is code, and hiding the words
 * eval/request/WScript.Shell from a reader has no use in an application.
 * Benign look-alikes checked: CMS admin pages that test "localhost" with Chr() lists inside an
 * If condition (eval is not at statement start there), probe pages that Execute
 * 'runstr & ".exec()"' (counted: 2 of 9,434), an ad-injector that Executes a Chr() array. */
rule asp_execute_hidden_string
{
    meta:
        severity = "high"
        family = "asp_obfuscated_eval"
        description = "ASP executes a string built from hidden pieces (Chr lists, char-code arrays, StrReverse, split fragments)"
    strings:
        // What may end the statement after the name is one class, not an
        // alternation tried after each of its letters: a file padded with
        // "eval(" cost this regex 0.3 s a MiB (issue 10).
        $e1 = /(^|[\r\n:]|<%|\bthen|\belse)[ \t]*(execute|executeglobal|eval)([ \t]+|[ \t]*\([ \t]*)[a-z_][a-z0-9_.]{0,40}[ \t)]*[&(\r\n%:']/ nocase ascii wide
        $e2 = /(^|[\r\n:]|<%)[ \t]*(execute|executeglobal|eval)[ \t(]{0,6}(""[ \t]*&[ \t]*\(|"[^" \r\n]{1,3}"[ \t]*&[ \t]*"[^" \r\n]{1,3}"[ \t]*&)/ nocase ascii wide
        $e3 = /(^|[\r\n:]|<%)[ \t]*(execute|executeglobal|eval)[ \t(]{1,6}(eval[ \t(]{1,4})?chr[bw]?\s*\(\s*\d/ nocase ascii wide
        $h1 = /chr[bw]?\s*\(\s*\d{2,3}\s*\)\s*[&+]\s*chr[bw]?\s*\(\s*\d{2,3}\s*\)\s*[&+]\s*chr[bw]?\s*\(\s*\d{2,3}\s*\)/ nocase ascii wide
        $h2 = /array\s*\(\s*(3[2-9]|[4-9]\d|1[01]\d|12[0-6])\s*,\s*(3[2-9]|[4-9]\d|1[01]\d|12[0-6])\s*,\s*(3[2-9]|[4-9]\d|1[01]\d|12[0-6])\s*,\s*(3[2-9]|[4-9]\d|1[01]\d|12[0-6])\s*,/ nocase ascii wide
        $h3 = /strreverse\s*\(/ nocase ascii wide
        $h4 = /array\s*\(\s*"[^"\r\n]{1,3}"\s*,\s*"[^"\r\n]{1,3}"\s*,\s*"[^"\r\n]{1,3}"/ nocase ascii wide
        $h5 = /"[^"\r\n]{1,2}"&"[^"\r\n]{1,2}"&"[^"\r\n]{1,2}"&"/ nocase ascii wide
        $h5b = /"[^"\r\n]{1,2}" & "[^"\r\n]{1,2}" & "[^"\r\n]{1,2}" & "/ nocase ascii wide
        $h6 = /"\s*\(?\s*request\s*(\.\w+\s*)?\(\s*""/ nocase ascii wide
        $h7 = /join\s*\(\s*split\s*\([^\r\n]{1,60}\)\s*,\s*""\s*\)/ nocase ascii wide
        $h7b = /join\s*\(\s*[a-z_]\w{0,30}\s*,\s*""\s*\)/ nocase ascii wide
        $h8 = /\)\s*xor\s+(asc|cint|clng|&h)/ nocase ascii wide
        $h9 = /chr[bw]?\s*\(\s*\(?\s*(asc[bw]?\s*\(|"&h"|[a-z_]\w{0,20}\s*\(\s*[a-z_]\w{0,10}\s*\)\s*(-|\+|\*|\\|\/|xor))/ nocase ascii wide
        $e4 = /(^|[\r\n:]|<%|\bthen|\belse)[ \t]*(execute|executeglobal|eval)[ \t(]{1,5}(unescape|strreverse)\s*\(/ nocase ascii wide
    condition:
        filesize < 1MB and ($e2 or $e3 or $e4 or ($e1 and any of ($h*)))
}

/* Classic Godzilla/Behinder-style ASP: the request body is base64- and XOR-decoded, kept in the
 * session and executed on later requests (Execute of a session or dictionary value). */
rule asp_decrypt_session_execute
{
    meta:
        severity = "critical"
        family = "godzilla"
        description = "ASP decodes (base64/XOR) request data, stores it in the session and executes it"
    strings:
        $req = /request\s*(\.form|\.item)?\s*\(/ nocase ascii wide
        $b64 = "bin.base64" nocase ascii wide
        $xor = /\bxor\s/ nocase ascii wide
        $ses = /session\s*\(\s*"[^"\r\n]{1,30}"\s*\)\s*=/ nocase ascii wide
        $ex = /(^|[\r\n:]|<%|\bthen|\belse)[ \t]*(execute|executeglobal)[ \t(]/ nocase ascii wide
    condition:
        filesize < 200KB and all of them
}

/* JScript(.NET) eval with the "unsafe" flag: <%@ Page Language="Jscript"%><%eval(Request.Item["x"],"unsafe");%>
 * and obfuscated variants that build the word "unsafe" or the code string piecewise. */
rule aspx_jscript_eval_unsafe
{
    meta:
        severity = "critical"
        family = "china_chopper"
        description = "ASP.NET JScript page calls eval() in unsafe mode (China Chopper style code runner)"
    strings:
        $lang1 = /(<%@\s*page\s[^>]{0,60}language\s*=\s*"?\s*jscript|language\s*=\s*"?\s*jscript"?[^>]{0,60}runat\s*=\s*"?server|runat\s*=\s*"?server"?[^>]{0,60}language\s*=\s*"?\s*jscript)/ nocase ascii wide
        $eval = /\beval\s*\(/ nocase ascii wide
        $u1 = "\"unsafe\"" nocase ascii wide
        $u2 = "'unsafe'" nocase ascii wide
        $u3 = /"u"\s*\+\s*"n/ nocase ascii wide
        $u4 = "afe\"" nocase ascii wide
        $u5 = "\\x75\\x6E\\x73" nocase ascii wide
        $req = /Request(\.Item|\.Form|\.QueryString)?\s*\[/ nocase ascii wide
        $b64 = "FromBase64String" nocase ascii wide
    condition:
        filesize < 1MB and $lang1 and $eval and (any of ($u*) or $req or $b64)
}

/* Script Control / XSLT script hosts used to run VBScript/JScript passed in by the request. */
rule asp_scriptcontrol_exec
{
    meta:
        severity = "critical"
        family = "asp_obfuscated_eval"
        description = "ASP hosts a script engine (ScriptControl AddObject/ExecuteStatement) to run injected code"
    strings:
        $a1 = ".AddObject" nocase ascii wide
        $a2 = /\.(ExecuteStatement|Eval|Run)\s*\(/ nocase ascii wide
        $a3 = /\.language\s*=/ nocase ascii wide
        $c = "CreateObject" nocase ascii wide
        $ctx = "<%" ascii wide
        $r = "request" nocase ascii wide
    condition:
        filesize < 500KB and all of them
}

rule asp_xslt_script_exec
{
    meta:
        severity = "high"
        family = "asp_cmd_exec"
        description = "ASP/ASPX runs commands through an msxsl:script block inside an XSLT transform"
    strings:
        $x = "msxsl:script" nocase ascii wide
        $t = /transform(node)?\s*\(/ nocase ascii wide
        $s1 = "wscript.shell" nocase ascii wide
        $s2 = "Process.Start" nocase ascii wide
        $s3 = "ProcessStartInfo" nocase ascii wide
        $s4 = /\beval\s*\(/ nocase ascii wide
        $s5 = "cmd /c" nocase ascii wide
    condition:
        filesize < 500KB and $x and $t and any of ($s*)
}

/* VBScript.Encode'd source. Encoding a page is common in Chinese CMSs (120 of the 9,434 benign
 * pages), always in small blocks or short files. Packed webshells ship as one encoded block of
 * tens of kilobytes (the whole shell). The block length is the distance between the #@~^ start
 * and the ^#~@ end marker of the same block. */
rule asp_encoded_large_block
{
    meta:
        severity = "high"
        family = "asp_obfuscated_eval"
        description = "ASP page hides a large program (30 KB or more) in one VBScript.Encode block, as packed webshells do"
    strings:
        $l = /language\s*=\s*"?\s*(vbscript|jscript)\.encode/ nocase ascii wide
        $s = "#@~^" ascii wide
        $e = "^#~@" ascii wide
    condition:
        filesize < 4MB and $l and #s < 6 and for any i in (1..#e) : (@e[i] - @s[i] > 30000)
}

/* An encoded page whose plain-text prologue is a shell's settings block: the login password
 * variable and an unlimited script timeout, or the WScript.Shell/Shell.Application objects
 * declared by class id. */
rule asp_encoded_shell_prologue
{
    meta:
        severity = "high"
        family = "asp_obfuscated_eval"
        description = "VBScript.Encode'd ASP page with a webshell prologue (password variable, unlimited timeout, shell objects by class id)"
    strings:
        $l = /language\s*=\s*"?\s*(vbscript|jscript)\.encode/ nocase ascii wide
        $m = "#@~^" ascii wide
        $p = /\b(userpass|password|pass|pwd)\s*=\s*"[^"\r\n]{1,40}"/ nocase ascii wide
        $t = /scripttimeout\s*=\s*\d{6,}/ nocase ascii wide
        $c1 = "72C24DD5-D70A-438B-8A42-98424B88AFB8" nocase ascii wide
        $c2 = "13709620-C279-11CE-A49E-444553540000" nocase ascii wide
    condition:
        filesize < 2MB and $l and $m and (($p and $t) or any of ($c*))
}

rule asp_utf7_codepage
{
    meta:
        severity = "high"
        family = "asp_obfuscated_eval"
        description = "ASP page switches to the UTF-7 code page (65000) and carries UTF-7 encoded script"
    strings:
        $cp = /codepage\s*=\s*65000/ nocase ascii wide
        $u = /\+A[A-Za-z0-9+\/]{20}/ ascii
    condition:
        filesize < 500KB and $cp and $u
}

/* Command execution through WScript.Shell / Shell.Application where the request reaches the
 * command: on the same statement as .Run/.Exec/.ShellExecute, or through a "cmd /c " & x string.
 * Server probes that test objects with Execute 'runstr & ".exec()"' and media converters that
 * .Run a fixed ffmpeg command line do not match. (In $x1, "re[q]u[e]st" keeps YARA from
 * choosing the very common word "request" as the atom and matching 120 bytes backwards from
 * each of them.) */
rule asp_wscript_shell_request
{
    meta:
        severity = "critical"
        family = "asp_cmd_exec"
        description = "ASP runs commands with WScript.Shell/Shell.Application using request input"
    strings:
        $o1 = "wscript.shell" nocase ascii wide
        $o2 = "shell.application" nocase ascii wide
        $o4 = "72C24DD5-D70A-438B-8A42-98424B88AFB8" nocase ascii wide
        $o5 = "13709620-C279-11CE-A49E-444553540000" nocase ascii wide
        $o6 = /"wscr"\s*&|"wscript\."\s*&|"shell\."\s*&|&\s*"ipt\.shell"|&\s*"\.shell"/ nocase ascii wide
        $x1 = /\w\.(run|exec|shellexecute)\b[ \t(]{1,5}[^\r\n]{0,120}re[q]u[e]st\s*(\.form|\.querystring|\.item)?\s*[(\[]/ nocase ascii wide
        $x2 = /\w\.(run|exec|shellexecute)\b[ \t(]{1,5}[^\r\n]{0,60}(cmd(\.exe)?|command\.com|%comspec%)[ \t]*\/[ck][^\r\n]{0,20}"[ \t]*&/ nocase ascii wide
        $x3 = /"(cmd(\.exe)?|%comspec%)[ \t]*\/[ck][ \t]*"[ \t]*&[ \t]*(trim[ \t]*\([ \t]*)?request/ nocase ascii wide
        $c1 = /"(cmd(\.exe)?|%comspec%|command\.com)[ \t]*(\/\w[ \t]*){0,3}\/[ck][ \t]*"[ \t]*[&+]/ nocase ascii wide
        $c2 = /\w\.(run|exec|shellexecute)\b[ \t]*[ (]/ nocase ascii wide
        $x6 = /\w\.(run|exec)\b[ \t(]{1,5}[a-z_][a-z0-9_]{0,30}[ \t]*&[ \t]*"[ \t]*\/[ck][ \t]*"[ \t]*&/ nocase ascii wide
        $x5 = /\w\.shellexecute[ \t(]{1,3}[a-z_][a-z0-9_]{0,30}[ \t]*,[ \t]*[a-z_][a-z0-9_]{0,30}[ \t]*,/ nocase ascii wide
        $x4 = /\w\.(run|exec)\b[ \t(]{1,5}[a-z_][a-z0-9_]{0,30}[ \t]*(&[ \t]*"[ \t]*>|,[ \t]*0[ \t]*,[ \t]*(true|false))/ nocase ascii wide
        $r = /request\s*(\.form|\.querystring|\.item)?\s*[(\[]/ nocase ascii wide
        $ctx1 = "<%" ascii wide
        $ctx2 = /runat\s*=\s*"?server/ nocase ascii wide
    condition:
        filesize < 2MB and any of ($ctx*) and any of ($o*) and $r and (any of ($x*) or ($c1 and $c2))
}

/* Uploaders and writers whose target path comes straight from the request:
 * Request.Files[0].SaveAs(Server.MapPath(Request["f"])), StreamWriter on a request-chosen path,
 * ADODB.Stream SaveToFile / FSO CreateTextFile of Request(...). A CMS builds the path from its
 * upload folder and a generated name; only a writer meant to drop files anywhere hands the
 * request to the file API directly. */
rule asp_upload_to_request_path
{
    meta:
        severity = "critical"
        family = "asp_file_writer"
        description = "ASP/ASPX writes uploaded or posted content to a path chosen by the request"
    strings:
        $a = /\.SaveAs\s*\(\s*(Server\.MapPath\s*\(\s*)?(this\.)?(Request|\w{1,30}\.Text\b)/ nocase ascii wide
        $b = /StreamWriter\s*\(\s*(this\.)?(Request|\w{1,30}\.Text\b)/ nocase ascii wide
        $c = /SaveToFile\s*\(?\s*(Server\.MapPath\s*\(\s*)?(trim\s*\(\s*)?Request/ nocase ascii wide
        $d = /CreateTextFile\s*\(\s*(Server\.MapPath\s*\(\s*)?(trim\s*\(\s*)?Request/ nocase ascii wide
        $e = /File\.WriteAll(Text|Bytes)\s*\(\s*(Server\.MapPath\s*\(\s*)?Request/ nocase ascii wide
        $f = /OpenTextFile\s*\(\s*(Server\.MapPath\s*\(\s*)?(trim\s*\(\s*)?Request[^\r\n]{0,60},\s*[28]\s*,\s*true/ nocase ascii wide
    condition:
        filesize < 2MB and any of them
}

/* File copy into the web root: ADODB.Stream LoadFromFile of a request-chosen file, then
 * SaveToFile (how shells are planted from an upload elsewhere, or renamed to .asp). */
rule asp_stream_copy_request_file
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP loads a request-chosen file with ADODB.Stream and saves it under a new name"
    strings:
        $l = /LoadFromFile[ \t(]{1,3}[a-z_][a-z0-9_]{0,30}[ \t)]*[\r\n:']/ nocase ascii wide
        $s = /SaveToFile\s*\(?\s*(server\.mappath\s*\(\s*)?[^\r\n]{0,40}\.(asp|asa|cer|cdx|aspx)\b/ nocase ascii wide
        $r = /=\s*request\s*(\.form|\.querystring|\.item)?\s*\(/ nocase ascii wide
    condition:
        filesize < 50KB and all of them
}

/* FSO file writer of a shell: a file opened for writing on a path that is a bare variable (not
 * a Server.MapPath of a fixed folder), text written from the request, and the browsing context
 * of a shell (absolute drive paths or the drive list). CMS template editors write under
 * Server.MapPath(their template folder) and do not list drives. */
rule asp_fso_writer_form
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP writes posted text to a request-chosen file with Scripting.FileSystemObject"
    strings:
        $fso = "filesystemobject" nocase ascii wide
        $w1 = /CreateTextFile\s*\(\s*[a-z_][a-z0-9_]{0,30}\s*[,)]/ nocase ascii wide
        $w2 = /OpenTextFile\s*\(\s*[a-z_][a-z0-9_]{0,30}\s*,\s*[28]\s*,\s*true/ nocase ascii wide
        $wr = /\.write(line)?[ \t(]{1,3}(trim\s*\(\s*)?request\s*(\.form)?\s*\(/ nocase ascii wide
        $p1 = /"[a-z]:\\[^"\r\n]{0,60}"/ nocase ascii wide
        $p2 = /\.Drives\b/ nocase ascii wide
        $p3 = "GetSpecialFolder" nocase ascii wide
    condition:
        filesize < 300KB and $fso and ($w1 or $w2) and $wr and any of ($p*)
}

/* Classic ASP file manager of a shell: FSO folder browsing from request input, operations that
 * change files, and what a CMS file manager never has: the server's drive list or system
 * folders, absolute drive-letter paths, Shell.Application or WScript.Network.
 * Server probes (ASP探针) list drives but only read; CMS file managers stay under
 * Server.MapPath of their upload folder. */
rule asp_fso_file_manager
{
    meta:
        severity = "high"
        family = "asp_filemanager"
        description = "ASP file manager: browses any folder or drive from request input and deletes/moves/writes files via FileSystemObject"
    strings:
        $fso = "filesystemobject" nocase ascii wide
        $fso2 = "CONST_FSO" nocase ascii wide
        $g = ".GetFolder(" nocase ascii wide
        $req = /request\s*(\.form|\.querystring)?\s*\(/ nocase ascii wide
        $o1 = ".DeleteFile" nocase ascii wide
        $o2 = ".DeleteFolder" nocase ascii wide
        $o3 = ".CopyFile" nocase ascii wide
        $o4 = ".MoveFile" nocase ascii wide
        $o5 = ".CreateTextFile" nocase ascii wide
        $o6 = ".CreateFolder" nocase ascii wide
        $o7 = ".MoveFolder" nocase ascii wide
        $o8 = ".CopyFolder" nocase ascii wide
        $o9 = /\.attributes\s*=/ nocase ascii wide
        $s1 = /\.Drives\b/ nocase ascii wide
        $s2 = "GetSpecialFolder" nocase ascii wide
        $s3 = /"[a-z]:\\"/ nocase ascii wide
        $s4 = "shell.application" nocase ascii wide
        $s5 = "wscript.network" nocase ascii wide
        $s6 = /\.Namespace\s*\(/ nocase ascii wide
    condition:
        filesize < 2MB and ($fso or $fso2) and $g and $req and 3 of ($o*) and 2 of ($s*)
}

/* Remote downloader / dropper: fetch a file over HTTP and write it to disk as a script or
 * program, to an absolute drive path, or to a place or from a URL chosen by the request.
 * CMSs that save remote pictures or data files write them under their own folders with data
 * extensions, and installers fetch fixed data files; neither matches. */
rule asp_http_download_to_file
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP downloads remote content (XMLHTTP) and saves it to disk as a script/program or to a request-chosen path (dropper)"
    strings:
        $h1 = "XMLHTTP" nocase ascii wide
        $h2 = "WinHttp.WinHttpRequest" nocase ascii wide
        $w = "SaveToFile" nocase ascii wide
        $b = "responseBody" nocase ascii wide
        $t1 = /SaveToFile[ \t(]{1,3}(server\.mappath\s*\(\s*)?""?[^"\r\n]{0,120}\.(asp|aspx|asa|cer|cdx|ashx|asmx|php\d?|jsp|exe|vbs|bat|dll|com|scr)""?/ nocase ascii wide
        $t2 = /SaveToFile[ \t(]{1,3}""?[a-z]:\\/ nocase ascii wide
        $t3 = /\.open[ \t(]{1,3}"(get|post)"\s*,\s*(trim\s*\(\s*)?request/ nocase ascii wide
        $t4 = /SaveToFile[ \t(]{1,3}(server\.mappath\s*\(\s*)?(trim\s*\(\s*)?request/ nocase ascii wide
    condition:
        filesize < 500KB and any of ($h*) and $w and $b and any of ($t*)
}

/* SQL Server command execution from a page: xp_cmdshell / sp_oacreate issued through a
 * connection, in a statement (exec master..xp_cmdshell '...' & x) and not in the SQL-injection
 * blacklists of CMS filters ("xp_cmdshell" as a forbidden word). */
rule asp_mssql_cmdshell
{
    meta:
        severity = "high"
        family = "asp_sql_browser"
        description = "ASP/ASPX page issues xp_cmdshell/sp_oacreate through a database connection"
    strings:
        $x1 = /(exec(ute)?\s+)?(master\s*\.\s*(dbo)?\s*\.\s*)?xp_cmdshell\s+'/ nocase ascii wide
        $x2 = /sp_oacreate\s+'/ nocase ascii wide
        $x3 = /sp_addextendedproc\s+'?xp_cmdshell/ nocase ascii wide
        $x4 = /xp_cmdshell[ \t]*'?[ \t]*"[ \t]*[&+]/ nocase ascii wide
        $c1 = "ADODB.Connection" nocase ascii wide
        $c2 = "SqlConnection" nocase ascii wide
        $c3 = "OleDbConnection" nocase ascii wide
        $r = "request" nocase ascii wide
    condition:
        filesize < 2MB and any of ($x*) and any of ($c*) and $r
}

/* Remote code runner: the page fetches code over HTTP (XMLHTTP) and runs it with Execute. The
 * fetched text must reach the evaluator in the same statement or through the response
 * variable. CMS template engines that Execute their own compiled templates do not fetch them
 * over HTTP. */
rule asp_remote_code_execute
{
    meta:
        severity = "critical"
        family = "asp_obfuscated_eval"
        description = "ASP downloads script code over HTTP and runs it with Execute/Eval"
    strings:
        $h1 = "XMLHTTP" nocase ascii wide
        $h2 = "WinHttpRequest" nocase ascii wide
        // e[v]al, e[x]ecute in $e1 and $e2: looked for by their rarer words, not
        // by "eval" (see php_obf_decode_eval_chain).
        $e1 = /(^|[\r\n:]|<%|\bthen|\belse)[ \t]*(e[x]ecute|e[x]ecuteglobal|e[v]al)[ \t(]{1,5}[a-z_][a-z0-9_]{0,30}\.(responsetext|responsebody)/ nocase ascii wide
        $e2 = /(^|[\r\n:]|<%|\bthen|\belse)[ \t]*(e[x]ecute|e[x]ecuteglobal|e[v]al)[ \t(]{1,5}(bytes2bstr|bytestobstr|gethttppage|getbody|gethtml|geturl|getpage)\s*\(/ nocase ascii wide
    condition:
        filesize < 500KB and any of ($h*) and any of ($e*)
}

/* Server-side JScript pages that evaluate request input or decode-and-eval blobs (AntSword
 * "customize" JScript servers keep eval in an object to avoid the literal eval( call). */
rule asp_jscript_server_eval
{
    meta:
        severity = "critical"
        family = "antsword"
        description = "Server-side JScript ASP evaluates request input / unescaped blobs with eval"
    strings:
        $rs = /runat\s*=\s*"?server"?/ nocase ascii wide
        $lang = /language\s*=\s*"?(javascript|jscript)/ nocase ascii wide
        $e1 = /[:=(,\s]eval\s*[,})\]]/ ascii wide
        // e[v]al, e[x]ecute: looked for by its rarer words, not by "eval" (see
        // php_obf_decode_eval_chain).
        $e2 = /\be[v]al\s*\(\s*(unescape|Request|[a-z_]\w{0,20}\s*\(\s*Request)/ ascii wide
        $req = /Request(\.form|\.item|\.querystring)?\s*[(\[]/ nocase ascii wide
        $d1 = "unescape(" ascii wide
        $d2 = "FromBase64String" ascii wide
    condition:
        filesize < 1MB and $rs and $lang and ($e1 or $e2) and $req and any of ($d*)
}

/* Classic ASP SQL consoles: ADODB connection opened from request input and arbitrary SQL
 * from the request executed. */
rule asp_adodb_sql_console
{
    meta:
        severity = "high"
        family = "asp_sql_browser"
        description = "ASP SQL console: ADODB connection string and SQL statement taken from the request"
    strings:
        $c = "ADODB.Connection" nocase ascii wide
        $o = /\.open\s*\(?\s*request/ nocase ascii wide
        $x = /\.execute\s*\(?\s*request/ nocase ascii wide
        $o2 = /connstr\s*=\s*request/ nocase ascii wide
        $x2 = /sql\s*=\s*request/ nocase ascii wide
    condition:
        filesize < 2MB and $c and ($o or $o2) and ($x or $x2)
}

/* Classic ASP database managers: ADODB connection, schema enumeration and a free-form SQL box. */
rule asp_db_manager
{
    meta:
        severity = "medium"
        family = "asp_sql_browser"
        description = "ASP database manager: enumerates schemas and runs request-supplied SQL through ADODB"
    strings:
        $c = "ADODB.Connection" nocase ascii wide
        $s = ".OpenSchema" nocase ascii wide
        $r = /request\s*(\.form)?\s*\(\s*"sql"\s*\)/ nocase ascii wide
        $ex = /\.execute\s*\(/ nocase ascii wide
    condition:
        filesize < 2MB and $c and $s and $r and $ex
}

/* A SQL Server client whose server, user and password all come from the request (cookies or
 * form): a page for logging into any database server. Installers do the same but check their
 * install lock file and run the application's own SQL script; this rule wants no lock-file
 * check on the page. */
rule asp_remote_db_login
{
    meta:
        severity = "medium"
        family = "asp_sql_browser"
        description = "ASP opens a database connection to a server, user and password taken from the request"
    strings:
        $c = "ADODB.Connection" nocase ascii wide
        $s1 = /(data source|server)\s*=\s*"\s*&\s*(trim\s*\(\s*)?request\s*(\.form|\.cookies|\.querystring)?\s*\(/ nocase ascii wide
        $s2 = /(user id|uid)\s*=\s*"\s*&\s*(trim\s*\(\s*)?request\s*(\.form|\.cookies|\.querystring)?\s*\(/ nocase ascii wide
        $s3 = /(password|pwd)\s*=\s*"\s*&\s*(trim\s*\(\s*)?request\s*(\.form|\.cookies|\.querystring)?\s*\(/ nocase ascii wide
        $lock = /\.lock"/ nocase ascii wide
    condition:
        filesize < 500KB and $c and all of ($s*) and not $lock
}

/* Small file writer ("小马"): a short page that takes a file name and the file's text from the
 * request and writes one into the other with FileSystemObject. CMS template editors are longer
 * pages that build the path from their template folder. */
rule asp_small_request_file_writer
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "Small ASP page writes request text to a file whose name comes from the request (FSO writer)"
    strings:
        $fso = "filesystemobject" nocase ascii wide
        $w1 = /CreateTextFile\s*\(\s*(server\.mappath\s*\(\s*)?[a-z_][a-z0-9_]{0,30}\s*\)?\s*[,)]/ nocase ascii wide
        $w2 = /OpenTextFile\s*\(\s*(server\.mappath\s*\(\s*)?[a-z_][a-z0-9_]{0,30}\s*\)?\s*,\s*[28]\s*,\s*true/ nocase ascii wide
        $wr = /\.write(line)?[ \t(]{1,3}[a-z_][a-z0-9_]{0,30}[ \t)]*[\r\n:%']/ nocase ascii wide
        $r = /=\s*(trim\s*\(\s*)?request\s*(\.form|\.querystring|\.item)?\s*\(/ nocase ascii wide
    condition:
        filesize < 6KB and $fso and ($w1 or $w2) and $wr and #r >= 2
}

/* File browser that starts at a drive root ("c:\") and opens or lists whatever path the
 * request names. Application file managers start at their own folder under Server.MapPath. */
rule asp_fso_drive_browser
{
    meta:
        severity = "high"
        family = "asp_filemanager"
        description = "ASP file browser: lists or reads any request-chosen path, starting from a drive root"
    strings:
        $fso = "filesystemobject" nocase ascii wide
        $g1 = /\.GetFolder\s*\(\s*[a-z_][a-z0-9_]{0,30}\s*\)/ nocase ascii wide
        $g2 = /\.OpenTextFile\s*\(\s*[a-z_][a-z0-9_]{0,30}\s*[,)]/ nocase ascii wide
        $root = /=\s*"[a-z]:\\"/ nocase ascii wide
        $r = /=\s*(trim\s*\(\s*)?request\s*(\.form|\.querystring|\.item)?\s*\(/ nocase ascii wide
    condition:
        filesize < 500KB and $fso and any of ($g*) and $root and $r
}

/* ADODB.Stream writer: the text posted to the page is put straight into a stream and saved
 * under a path assembled from request variables (folder and file name). A CMS saves edited
 * text to a file it names itself. */
rule asp_stream_write_request_text
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP saves request text with ADODB.Stream to a path built from request variables"
    strings:
        $t = /\.WriteText[ \t(=]{1,4}(trim\s*\(\s*)?request\s*(\.form|\.item)?\s*\(/ nocase ascii wide
        $s = /\.SaveToFile[ \t(]{1,3}[^\r\n]{0,40}&\s*[a-z_]\w{0,30}\s*&\s*"\\"\s*&\s*[a-z_]\w{0,30}/ nocase ascii wide
    condition:
        filesize < 100KB and $t and $s
}

/* A page that appends posted text to its own script file (OpenTextFile(Server.MapPath(<its
 * SCRIPT_NAME>), 8)): whatever is posted, <% code %> included, becomes part of the page and runs
 * on the next request. Guestbooks append to a data file, never to the .asp that serves them. */
rule asp_append_request_to_self
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP appends request text to its own script file (posted code becomes executable)"
    strings:
        $n = /=\s*request\.servervariables\s*\(\s*"(script_name|path_info|url)"\s*\)/ nocase ascii wide
        $o = /OpenTextFile\s*\(\s*server\.mappath\s*\(\s*[a-z_]\w{0,30}\s*\)\s*,\s*8/ nocase ascii wide
        $r = /request\s*\.form\s*\(/ nocase ascii wide
        $w = /\.write(line)?[ \t(]/ nocase ascii wide
    condition:
        filesize < 50KB and all of them
}

/* An encoded page (VBScript.Encode hides its server code) that also plants an invisible iframe
 * to a remote site: hidden code plus a hidden malware/traffic iframe. Encoded application pages
 * in the benign set carry no zero-size remote iframes. */
rule asp_encoded_hidden_iframe
{
    meta:
        severity = "high"
        family = "asp_obfuscated_eval"
        description = "VBScript.Encode'd ASP page that also embeds a zero-size iframe to a remote site"
    strings:
        $l = /language\s*=\s*"?\s*(vbscript|jscript)\.encode/ nocase ascii wide
        $m = "#@~^" ascii wide
        $i = /<iframe\s+src\s*=\s*["']?https?:\/\/[^>\r\n]{1,120}(width|height)\s*=\s*["']?0\b/ nocase ascii wide
    condition:
        filesize < 2MB and all of them
}
