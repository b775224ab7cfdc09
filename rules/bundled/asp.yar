/*
 * shellwatch bundled rules: classic ASP (VBScript/JScript) and ASP.NET (ASPX/ASHX/ASMX)
 * webshells and backdoors.
 *
 * VBScript is case-insensitive, so most strings are nocase. The rules look for what makes a
 * page a shell: request input handed to a code evaluator (eval/Execute/ExecuteGlobal, JScript
 * eval(..,"unsafe")), to a command interpreter (WScript.Shell, Shell.Application,
 * Process.Start), to a .NET assembly loader, or to file-system / database primitives.
 */

/* China Chopper and friends: <%eval request("x")%>, execute request(...), ExecuteGlobal.
 * The keyword must start a statement (not obj.Execute(sql), which is ADO). */
rule asp_eval_request
{
    meta:
        severity = "critical"
        family = "china_chopper"
        description = "ASP evaluates request input as code (eval/Execute/ExecuteGlobal of Request)"
    strings:
        $a = /(^|[\s:%>(;])(eval|execute|executeglobal)[\s(]{1,5}request\s*(\.item|\.form|\.querystring)?\s*[(\[]/ nocase ascii wide
        $b = /(^|[\s:%>(;])(eval|execute|executeglobal)[\s(]{1,5}session\s*\(/ nocase ascii wide
    condition:
        filesize < 2MB and any of them
}

/* The request value is first copied into a variable, then evaluated:
 *   x1 = request("h") ... eval x2      or    a=request(chr(97)) ExecuteGlobal(StrReverse(a)) */
rule asp_eval_request_indirect
{
    meta:
        severity = "high"
        family = "china_chopper"
        description = "Small ASP page reads request input into a variable and evaluates a variable with eval/Execute"
    strings:
        $r = /\w{1,20}\s*=\s*request\s*(\.item|\.form|\.querystring)?\s*[(\[]/ nocase ascii wide
        $e = /(^|[\s:%>;])(eval|execute|executeglobal)[\s(]{1,5}(strreverse\s*\(\s*)?[a-z_][a-z0-9_]{0,20}\s*\)?\s*(%>|[\r\n:])/ nocase ascii wide
    condition:
        filesize < 20KB and $r and $e
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

/* Decode-then-execute: Execute/Eval applied to the result of a decoding function built on
 * Chr()/Asc()/Mid()/StrReverse/Xor/unescape (classic ASP obfuscation and WAF bypasses). */
rule asp_execute_decoded
{
    meta:
        severity = "high"
        family = "asp_obfuscated_eval"
        description = "ASP executes the output of a string decoder (Chr/Mid/StrReverse/Xor/unescape): obfuscated code runner"
    strings:
        $e = /(^|[\s:%>;(])(eval|execute|executeglobal)[\s(]{1,5}[a-z_][a-z0-9_]{0,30}\s*\(/ nocase ascii wide
        $e2 = /(^|[\s:%>;(])(eval|execute|executeglobal)[\s(]{1,5}[a-z_][a-z0-9_]{0,30}\s*\)?\s*(%>|[\r\n:])/ nocase ascii wide
        $d1 = /\bchr[bw]?\s*\(/ nocase ascii wide
        $d2 = "strreverse" nocase ascii wide
        $d3 = "unescape" nocase ascii wide
        $d4 = /\)\s*xor\s/ nocase ascii wide
        $d5 = "binaryread" nocase ascii wide
        $d6 = /\bmid\s*\(/ nocase ascii wide
        $d7 = /session\s*\(\s*"[^"]{1,20}"\s*\)\s*=\s*[a-z_]\w{0,30}\s*\(/ nocase ascii wide
        $fn = /function\s+\w{1,30}\s*\(/ nocase ascii wide
        $ctx1 = "<%" ascii wide
        $ctx2 = /runat\s*=\s*"?server/ nocase ascii wide
    condition:
        filesize < 200KB and any of ($ctx*) and (
            ($e and any of ($d*) and ($fn or $d2 or $d3))
            or ($e2 and $d5 and ($d1 or $d4))
            or ($e2 and $fn and ($d1 or $d6) and $d7)
        )
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

/* Encoded or charset tricks that hide ASP source: VBScript.Encode (#@~^ blobs) and UTF-7
 * code page 65000 pages. */
rule asp_encoded_script
{
    meta:
        severity = "medium"
        family = "asp_obfuscated_eval"
        description = "ASP page uses VBScript.Encode/JScript.Encode encoded source (hides code from review)"
    strings:
        $l = /language\s*=\s*"?\s*(vbscript|jscript)\.encode/ nocase ascii wide
        $m = "#@~^" ascii wide
    condition:
        filesize < 2MB and $l and $m
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

/* Command execution through WScript.Shell / Shell.Application with request input. */
rule asp_wscript_shell_request
{
    meta:
        severity = "critical"
        family = "asp_cmd_exec"
        description = "ASP runs commands with WScript.Shell/Shell.Application using request input"
    strings:
        $o1 = "wscript.shell" nocase ascii wide
        $o2 = "shell.application" nocase ascii wide
        $o3 = "wscript.network" nocase ascii wide
        $o4 = "72C24DD5-D70A-438B-8A42-98424B88AFB8" nocase ascii wide
        $o5 = "13709620-C279-11CE-A49E-444553540000" nocase ascii wide
        $x1 = /\.(run|exec)\s*[\s(]/ nocase ascii wide
        $x2 = ".shellexecute" nocase ascii wide
        $x3 = "cmd.exe" nocase ascii wide
        $x4 = "cmd /c" nocase ascii wide
        $r = /request\s*(\.form|\.querystring|\.item)?\s*[(\[]/ nocase ascii wide
        $ctx1 = "<%" ascii wide
        $ctx2 = /runat\s*=\s*"?server/ nocase ascii wide
    condition:
        filesize < 2MB and any of ($ctx*) and any of ($o*) and any of ($x*) and $r
}

/* ASP.NET command execution: Process.Start / ProcessStartInfo with request input. */
rule aspx_process_start_request
{
    meta:
        severity = "critical"
        family = "asp_cmd_exec"
        description = "ASP.NET page/handler starts OS processes (cmd.exe, Process.Start) with request input"
    strings:
        $p1 = "ProcessStartInfo" nocase ascii wide
        $p2 = "Process.Start" nocase ascii wide
        $p3 = /new\s+Process\s*\(\s*\)/ nocase ascii wide
        $p4 = ".StartInfo.FileName" nocase ascii wide
        $p5 = "System.Diagnostics.Process" nocase ascii wide
        $r1 = /Request(\.Form|\.QueryString|\.Item|\.Params)?\s*[(\[]/ nocase ascii wide
        $r2 = /\w\.text\b/ nocase ascii wide
        $r3 = "Request.BinaryRead" nocase ascii wide
        $r4 = "Request.InputStream" nocase ascii wide
        $s1 = "cmd.exe" nocase ascii wide
        $s2 = "cmd /c" nocase ascii wide
        $s3 = "/bin/sh" ascii wide
        $s4 = "/bin/bash" ascii wide
        $s5 = "powershell" nocase ascii wide
        $s6 = ".FileName" nocase ascii wide
        $direct = /(Process\.Start|ProcessStartInfo)\s*\(\s*(HttpContext\.Current\.|context\.|Context\.|this\.)?Request(\.Form|\.QueryString|\.Item|\.Params)?\s*[(\[]/ nocase ascii wide
        $ctx1 = "<%@" ascii wide
        $ctx2 = "runat=\"server\"" nocase ascii wide
        $ctx3 = "IHttpHandler" ascii wide
        $ctx4 = "WebService" ascii wide
    condition:
        filesize < 2MB and ($direct or (any of ($ctx*) and any of ($p*) and any of ($r*) and any of ($s*)))
}

/* .NET in-memory loaders (Behinder/Godzilla/AntSword for ASP.NET): decrypt the request body
 * and load it as an assembly. */
rule aspx_assembly_loader
{
    meta:
        severity = "critical"
        family = "aspx_assembly_loader"
        description = "ASP.NET loads an assembly from request bytes (Behinder/Godzilla .NET payload loader)"
    strings:
        $l1 = /Assembly\s*\.\s*Load\s*\(/ nocase ascii wide
        $l2 = "System.Reflection.Assembly" nocase ascii wide
        $l3 = /\.GetMethod\s*\(\s*"Load"/ nocase ascii wide
        $r1 = "Request.BinaryRead" nocase ascii wide
        $r2 = "Request.InputStream" nocase ascii wide
        $r3 = /Request(\.Form|\.Item|\.Params)?\s*\[/ nocase ascii wide
        $r4 = "FromBase64String" nocase ascii wide
        $c1 = "RijndaelManaged" nocase ascii wide
        $c2 = "CreateDecryptor" nocase ascii wide
        $c3 = "TransformFinalBlock" nocase ascii wide
        $i1 = "CreateInstance" nocase ascii wide
        $i2 = ".Invoke(" nocase ascii wide
    condition:
        filesize < 2MB and any of ($l*) and any of ($r*) and (any of ($c*) or any of ($i*))
}

/* Uploaders: Request.Files[0].SaveAs(Server.MapPath(Request["f"])), StreamWriter on a
 * request-chosen path, ADODB.Stream SaveToFile with request input. */
rule asp_upload_to_request_path
{
    meta:
        severity = "critical"
        family = "asp_file_writer"
        description = "ASP/ASPX writes uploaded or posted content to a path chosen by the request"
    strings:
        $a = /\.SaveAs\s*\(\s*(Server\.MapPath\s*\(\s*)?(this\.)?(Request|\w{1,30}\.Text\b)/ nocase ascii wide
        $b = /StreamWriter\s*\(\s*(this\.)?(Request|\w{1,30}\.Text\b)/ nocase ascii wide
        $c = /SaveToFile\s*\(?\s*(Server\.MapPath\s*\(\s*)?Request/ nocase ascii wide
        $d = /CreateTextFile\s*\(\s*(Server\.MapPath\s*\(\s*)?Request/ nocase ascii wide
        $e = /File\.WriteAll(Text|Bytes)\s*\(\s*(Server\.MapPath\s*\(\s*)?Request/ nocase ascii wide
    condition:
        filesize < 2MB and any of them
}

/* Remote downloader: fetch a file over HTTP with XMLHTTP and write it to disk with ADODB.Stream. */
rule asp_http_download_to_file
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP downloads remote content (XMLHTTP) and saves it to disk with ADODB.Stream (dropper)"
    strings:
        $h1 = "Microsoft.XMLHTTP" nocase ascii wide
        $h2 = "MSXML2.ServerXMLHTTP" nocase ascii wide
        $h3 = "WinHttp.WinHttpRequest" nocase ascii wide
        $s = "ADODB.Stream" nocase ascii wide
        $w = "SaveToFile" nocase ascii wide
        $b = "responseBody" nocase ascii wide
    condition:
        filesize < 500KB and any of ($h*) and $s and $w and $b
}

/* SQL Server command execution from a page: xp_cmdshell / sp_oacreate. */
rule asp_mssql_cmdshell
{
    meta:
        severity = "high"
        family = "asp_sql_browser"
        description = "ASP/ASPX page issues xp_cmdshell/sp_oacreate through a database connection"
    strings:
        $x1 = "xp_cmdshell" nocase ascii wide
        $x2 = "sp_oacreate" nocase ascii wide
        $x3 = "sp_addextendedproc" nocase ascii wide
        $c1 = "ADODB.Connection" nocase ascii wide
        $c2 = "SqlConnection" nocase ascii wide
        $c3 = "OleDbConnection" nocase ascii wide
        $r = "request" nocase ascii wide
    condition:
        filesize < 2MB and any of ($x*) and any of ($c*) and $r
}

/* Remote code runner: the page fetches code over HTTP (XMLHTTP) and runs it with Execute. */
rule asp_remote_code_execute
{
    meta:
        severity = "critical"
        family = "asp_obfuscated_eval"
        description = "ASP downloads script code over HTTP and runs it with Execute/Eval"
    strings:
        $h1 = "XMLHTTP" nocase ascii wide
        $h2 = "WinHttpRequest" nocase ascii wide
        $b1 = "responseBody" nocase ascii wide
        $b2 = "responseText" nocase ascii wide
        $e = /(^|[\s:%>;])(execute|executeglobal|eval)[\s(]{1,5}[a-z_][a-z0-9_]{0,30}\s*\)?\s*(%>|[\r\n:])/ nocase ascii wide
        $co = "createobject" nocase ascii wide
        $ctx = "<%" ascii wide
    condition:
        filesize < 500KB and $ctx and $co and any of ($h*) and any of ($b*) and $e
}

/* ProgIDs assembled from fragments ("Scri"&"pting.FileSyste"&"mObject", "WScr"&"ipt.Shell",
 * chr() inside CreateObject): signature evasion that legitimate code has no reason for. */
rule asp_split_progid
{
    meta:
        severity = "high"
        family = "asp_obfuscated_eval"
        description = "ASP builds COM ProgIDs (FileSystemObject, WScript.Shell, ScriptControl, ADODB.Stream) from string fragments"
    strings:
        $a = /"(scri|scrip|script|scripti|wscr|wscri|wscrip|wscript|shel|she|adod|adodb|msscr|mssc)"\s*&/ nocase ascii wide
        $b = /(Fil"\s*&|"ing\.F|eSyst|emObject"|"ipt\.Sh|"ell\.Appl|"hell"|"Stre"|odb\.St)/ nocase ascii wide
        $c = /createobject\s*\(\s*"[^"\r\n]{1,20}"\s*&\s*(chr|")/ nocase ascii wide
        $d = /CONST_FSO\s*=\s*"[^"]{1,12}"\s*&/ nocase ascii wide
        $co = "createobject" nocase ascii wide
    condition:
        filesize < 2MB and $co and (($a and $b) or $c or $d)
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
        $e2 = /\beval\s*\(/ ascii wide
        $req = /Request(\.form|\.item|\.querystring)?\s*[(\[]/ nocase ascii wide
        $d1 = "unescape(" ascii wide
        $d2 = "FromBase64String" ascii wide
    condition:
        filesize < 1MB and $rs and $lang and ($e1 or $e2) and $req and any of ($d*)
}

/* FSO writer: a text file whose *path* is a variable (not a literal) is created or opened for
 * writing, in a page that offers a textarea and reads request input. */
rule asp_fso_writer_form
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP writes posted text to a request-chosen file with Scripting.FileSystemObject"
    strings:
        $fso = "filesystemobject" nocase ascii wide
        $w1 = /CreateTextFile\s*\(\s*(server\.mappath\s*\(\s*)?[a-z_][a-z0-9_]{0,30}\s*[,)]/ nocase ascii wide
        $w2 = /OpenTextFile\s*\(\s*(server\.mappath\s*\(\s*)?[a-z_][a-z0-9_]{0,30}\s*\)?\s*,\s*[28]\s*,\s*true/ nocase ascii wide
        $wr = /\.write(line)?[\s(]/ nocase ascii wide
        $req = /request\s*(\.form|\.querystring)?\s*\(/ nocase ascii wide
        $ta = "<textarea" nocase ascii wide
        $mp = "server.mappath" nocase ascii wide
    condition:
        filesize < 100KB and $fso and any of ($w*) and $wr and #req >= 2 and ($ta or $mp)
}

/* Classic ASP file manager: FileSystemObject browsing of folders named by the request plus
 * file operations or drive/root access. */
rule asp_fso_file_manager
{
    meta:
        severity = "high"
        family = "asp_filemanager"
        description = "ASP file manager: browses folders from request input and reads/deletes/moves files via FileSystemObject"
    strings:
        $fso = "filesystemobject" nocase ascii wide
        $fso2 = "CONST_FSO" nocase ascii wide
        $g = ".GetFolder(" nocase ascii wide
        $sf = ".SubFolders" nocase ascii wide
        $req = /request\s*(\.form|\.querystring)?\s*\(/ nocase ascii wide
        $o1 = ".DeleteFile" nocase ascii wide
        $o2 = ".DeleteFolder" nocase ascii wide
        $o3 = ".CopyFile" nocase ascii wide
        $o4 = ".MoveFile" nocase ascii wide
        $o5 = ".CreateTextFile" nocase ascii wide
        $o6 = ".OpenTextFile" nocase ascii wide
        $o7 = ".Drives" nocase ascii wide
        $o8 = "\"c:\\\"" nocase ascii wide
        $o9 = ".attributes" nocase ascii wide
        $o10 = ".ReadAll" nocase ascii wide
        $o11 = "shell.application" nocase ascii wide
        $o12 = ".CreateFolder" nocase ascii wide
    condition:
        filesize < 2MB and ($fso or $fso2) and $g and $sf and $req and 3 of ($o*)
}

/* ASP.NET file managers and China Chopper .NET servers: enumerate drives/directories and
 * read/write/delete files according to request input. */
rule aspx_file_manager
{
    meta:
        severity = "high"
        family = "asp_filemanager"
        description = "ASP.NET file manager: enumerates drives/directories and modifies files based on request input"
    strings:
        $d1 = "GetLogicalDrives" nocase ascii wide
        $d2 = "DriveInfo.GetDrives" nocase ascii wide
        $d3 = "Directory.GetParent" nocase ascii wide
        $l1 = ".GetDirectories(" nocase ascii wide
        $l2 = ".GetFiles(" nocase ascii wide
        $m1 = "File.Delete(" nocase ascii wide
        $m2 = "Directory.Delete(" nocase ascii wide
        $m3 = "File.Move(" nocase ascii wide
        $m4 = "File.Copy(" nocase ascii wide
        $m5 = "WriteAllText(" nocase ascii wide
        $m6 = "new FileStream(" nocase ascii wide
        $m7 = "new StreamWriter(" nocase ascii wide
        $m8 = "Response.WriteFile(" nocase ascii wide
        $m9 = "TransmitFile(" nocase ascii wide
        $m10 = "SetLastWriteTime(" nocase ascii wide
        $m11 = "WriteAllBytes(" nocase ascii wide
        $r1 = /Request(\.Form|\.QueryString|\.Item|\.Params)?\s*\[/ nocase ascii wide
        $r2 = /\w\.text\b/ nocase ascii wide
    condition:
        filesize < 2MB and any of ($d*) and any of ($l*) and any of ($m*) and any of ($r*)
}

/* SQL consoles: the connection string and the SQL text both come from the user. */
rule aspx_sql_console
{
    meta:
        severity = "high"
        family = "asp_sql_browser"
        description = "ASP.NET SQL console: connection string and command text taken from request/form input"
    strings:
        $c1 = /ConnectionString\s*=\s*("[^"\r\n]{0,40}"\s*\+\s*)?(\w{1,30}\.Text|Request)/ nocase ascii wide
        $c2 = /new\s+(Sql|OleDb|Odbc)Connection\s*\(\s*(\w{1,30}\.Text|Request)/ nocase ascii wide
        $q1 = /new\s+(Sql|OleDb|Odbc)Command\s*\(\s*(\w{1,30}\.Text|Request)/ nocase ascii wide
        $q2 = /CommandText\s*=\s*(\w{1,30}\.Text|Request)/ nocase ascii wide
        $q3 = "CommandType.StoredProcedure" ascii wide
        $q4 = /\.SelectedItem\.(Value|Text)/ ascii wide
    condition:
        filesize < 2MB and any of ($c*) and (any of ($q1, $q2) or ($q3 and $q4))
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

/* Writable-path finders: enumerate every registry hive looking for directory paths (used by
 * ASPX shells to find folders to drop tools into). */
rule aspx_registry_path_scanner
{
    meta:
        severity = "high"
        family = "asp_recon"
        description = "ASP.NET page walks all registry hives collecting directory paths (writable-dir finder)"
    strings:
        $r1 = "Registry.ClassesRoot" ascii wide
        $r2 = "Registry.LocalMachine" ascii wide
        $r3 = "Registry.Users" ascii wide
        $r4 = "Registry.CurrentConfig" ascii wide
        $v = "GetValueNames" ascii wide
        $ctx = "<%@" ascii wide
    condition:
        filesize < 2MB and $ctx and 3 of ($r*) and $v
}

/* Self-dropping uploader: the uploaded file is stored next to the page itself under its own
 * name (so an attacker can drop .aspx next to it). */
rule aspx_upload_next_to_self
{
    meta:
        severity = "medium"
        family = "asp_file_writer"
        description = "ASP.NET uploader stores posted files in the page's own directory under the client-supplied name"
    strings:
        $a = "Request.PhysicalPath" ascii wide
        $b = "HttpPostedFile" ascii wide
        $c = "DirectoryName" ascii wide
        $d = /GetFileName\s*\(\s*\w{1,30}\.FileName/ ascii wide
    condition:
        filesize < 200KB and all of them
}

/* Table dumpers: every table is read with "select * from "+name and written to files. */
rule aspx_db_dumper
{
    meta:
        severity = "medium"
        family = "asp_sql_browser"
        description = "ASP.NET page dumps database tables to files on the server (data theft tool)"
    strings:
        $c1 = "SqlConnection" ascii
        $c2 = "OleDbConnection" ascii
        $c3 = "ADODB.Connection" nocase ascii
        $sel = /"select \* from "\s*[+&]/ nocase ascii
        $w1 = "StreamWriter(" ascii
        $w2 = "new FileStream(" ascii
        $w3 = "CreateTextFile" nocase ascii
        $w4 = "SaveToFile" nocase ascii
    condition:
        filesize < 1MB and any of ($c*) and $sel and any of ($w*)
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

/* Writable-directory probes: recursively create and delete a test file in every directory
 * below a user-given root to find where a shell can be dropped. */
rule aspx_writable_dir_scanner
{
    meta:
        severity = "high"
        family = "asp_recon"
        description = "ASP.NET page probes directories for write access by creating and deleting test files"
    strings:
        $g = ".GetDirectories(" ascii wide
        $c = "File.Create(" ascii wide
        $d = "File.Delete(" ascii wide
        $di = /new\s+DirectoryInfo\s*\(\s*(\w{1,30}\.Text|Request)/ nocase ascii wide
    condition:
        filesize < 500KB and all of them
}

/* Packet sniffers in a page: raw IP socket switched to promiscuous receive-all mode. */
rule aspx_raw_socket_sniffer
{
    meta:
        severity = "high"
        family = "asp_recon"
        description = "ASP.NET page opens a raw IP socket in receive-all mode (network sniffer)"
    strings:
        $a = "SocketType.Raw" ascii wide
        $b = "IOControlCode.ReceiveAll" ascii wide
        $c = "SIO_RCVALL" ascii wide
        $d = ".IOControl(" ascii wide
    condition:
        filesize < 2MB and $a and ($b or $c or $d)
}
