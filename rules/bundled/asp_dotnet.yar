/*
 * shellwatch bundled rules: ASP.NET (ASPX/ASHX/ASMX, C#/VB.NET/JScript.NET) webshells and
 * in-memory loaders. Classic ASP is in asp.yar.
 *
 * ASP.NET request input: Request[...], Request.Form/QueryString/Params/Item, the raw body
 * (Request.InputStream, Request.BinaryRead), and server controls (TextBox.Text) that post back.
 */

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

/* A page that runs a program from its own web folder (Server.MapPath("x.exe")) and prints the
 * program's output: how tools dropped next to a shell (privilege escalation, port mappers) are
 * run. Applications keep their programs outside the web root. */
rule aspx_process_start_webroot_exe
{
    meta:
        severity = "high"
        family = "asp_cmd_exec"
        description = "ASP.NET page runs an .exe from the web folder and writes its output to the response"
    strings:
        $f = /FileName\s*=\s*Server\.MapPath\s*\(\s*"[^"\r\n]{1,60}\.(exe|bat|com)"/ nocase ascii wide
        $o = "RedirectStandardOutput" nocase ascii wide
        $s = "Start()" ascii wide
    condition:
        filesize < 500KB and all of them
}

/* .NET in-memory loaders (Behinder/Godzilla/AntSword for ASP.NET and their rewrites): the raw
 * request body (or a request field) is decrypted or decoded and loaded as an assembly, then an
 * instance is made or a method invoked. The load may be written plainly (Assembly.Load,
 * AppDomain.CurrentDomain.Load) or through reflection with the names hidden
 * (GetMethod(<hidden "Load">, new Type[]{typeof(byte[])}).Invoke(null, ...)). The bytes must come
 * from the raw body or a base64 field, or a request field must be decrypted: applications load
 * plug-ins by name (Assembly.Load("Site.Plugins") with a type named in Request["plugin"]), not
 * from request bytes. */
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
        $l4 = /CurrentDomain\s*\.\s*Load\s*\(/ nocase ascii wide
        $l5 = /GetMethod\s*\([^;]{1,200}typeof\s*\(\s*byte\s*\[\s*\]\s*\)/ nocase ascii wide
        $l6 = "typeof(Assembly)" nocase ascii wide
        $r1 = "BinaryRead" nocase ascii wide
        $r2 = "InputStream" nocase ascii wide
        $r3 = /Request(\.Form|\.Item|\.Params|\.Cookies)?\s*\[/ nocase ascii wide
        $r4 = "FromBase64String" nocase ascii wide
        $c1 = "RijndaelManaged" nocase ascii wide
        $c2 = "CreateDecryptor" nocase ascii wide
        $c3 = "TransformFinalBlock" nocase ascii wide
        $c4 = "CryptoStream" nocase ascii wide
        $i1 = "CreateInstance" nocase ascii wide
        $i2 = ".Invoke(" nocase ascii wide
    condition:
        filesize < 2MB and any of ($l*) and (any of ($r1, $r2, $r4) or ($r3 and any of ($c*))) and (any of ($c*) or any of ($i*))
}

/* ASP.NET file writer: the path and the text both come from posted server controls or the
 * request (new FileInfo(T1.Text).CreateText(); sw.Write(T2.Text)). */
rule aspx_file_writer_request_path
{
    meta:
        severity = "high"
        family = "asp_file_writer"
        description = "ASP.NET writes posted text to a file whose path is taken from a form field or the request"
    strings:
        $p1 = /new\s+(System\.IO\.)?FileInfo\s*\(\s*(\w{1,30}\.Text|Request)/ nocase ascii wide
        $p2 = /File\.(Create|CreateText|AppendAllText|OpenWrite)\s*\(\s*(\w{1,30}\.Text|Request)/ nocase ascii wide
        $p3 = /new\s+(System\.IO\.)?FileStream\s*\(\s*(\w{1,30}\.Text|Request)/ nocase ascii wide
        $w = /\.(CreateText|Write|WriteLine|AppendText)\s*\(\s*(\w{1,30}\.Text|Request)/ nocase ascii wide
    condition:
        filesize < 1MB and any of ($p*) and $w
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

/* Table dumpers: a connection to a server and account typed into the page, every row of a
 * table chosen in the page read ("select * from " + name) and written to files on the server. */
rule aspx_db_dumper
{
    meta:
        severity = "medium"
        family = "asp_sql_browser"
        description = "ASP.NET page dumps database tables to files on the server (data theft tool)"
    strings:
        $c1 = "SqlConnection" ascii
        $c2 = "OleDbConnection" ascii
        $t = /\w\.Text\b/ ascii
        $sel = /select \*? ?from [^\r\n]{0,3}\s*[+&]\s*\w/ nocase ascii
        $w1 = "StreamWriter(" ascii
        $w2 = "new FileStream(" ascii
        $w3 = "CreateTextFile" nocase ascii
        $w4 = "SaveToFile" nocase ascii
        $w5 = "CreateDirectory(" ascii
        $u = /(server|uid|pwd|user id|password)=[^\r\n]{0,3}\s*[+&]\s*\w{1,30}/ nocase ascii
    condition:
        filesize < 1MB and any of ($c*) and $t and $sel and any of ($w*) and #u >= 2
}

/* web.config secrets handed out by name: ConfigurationManager.ConnectionStrings[x] where x is
 * typed into the page, shown back to the visitor. Applications read their own connection
 * string by a fixed name. */
rule aspx_connection_string_dump
{
    meta:
        severity = "high"
        family = "asp_recon"
        description = "ASP.NET page shows web.config connection strings chosen by the visitor"
    strings:
        $a = /ConnectionStrings\s*\[\s*[a-z_][a-z0-9_.]{0,30}\s*\]\s*\.ConnectionString/ nocase ascii wide
        $o1 = /\w\.Text\s*=\s*[a-z_]\w{0,30}\s*;/ ascii wide
        $o2 = "Response.Write" ascii wide
        $i1 = /\w\.Text(\.Trim\(\))?\s*;/ ascii wide
        $i2 = /Request(\.Form|\.QueryString)?\s*\[/ ascii wide
    condition:
        filesize < 200KB and $a and any of ($o*) and any of ($i*)
}

/* IIS metabase dumpers: walk IIS://localhost/W3SVC and print each site's anonymous user
 * password (credential theft on shared hosts). */
rule aspx_iis_metabase_password_dump
{
    meta:
        severity = "high"
        family = "asp_recon"
        description = "ASP/ASP.NET page reads IIS anonymous-user passwords from the metabase (IIS://localhost/W3SVC)"
    strings:
        $m = "IIS://localhost/W3SVC" nocase ascii wide
        $p1 = "AnonymousUserPass" nocase ascii wide
        $p2 = "WAMUserPass" nocase ascii wide
    condition:
        filesize < 2MB and $m and any of ($p*)
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

/* Folder-permission scanner: walks directories below paths typed into the page and prints
 * each access rule (who may write where) to find writable folders on the server. */
rule aspx_acl_scanner
{
    meta:
        severity = "high"
        family = "asp_recon"
        description = "ASP.NET page walks directories from user input and lists their access rules (writable-folder finder)"
    strings:
        $a = "GetAccessControl(" ascii wide
        $g = "GetDirectories(" ascii wide
        $i = "IdentityReference" ascii wide
        $r1 = /\w\.Text\b/ ascii wide
        $r2 = /Request(\.Form|\.QueryString)?\s*\[/ ascii wide
        $o = "Response.Write" ascii wide
    condition:
        filesize < 500KB and $a and $g and $i and $o and any of ($r*)
}
