/*
 * shellwatch bundled rules: ColdFusion (CFML) webshells.
 *
 * A CFML page is a shell when form/url/cookie input (#form.x#, url.x) reaches what runs or
 * touches the server: <cfexecute>, COM/Java objects that start processes, Evaluate(),
 * <cffile>/<cfdirectory>/<cfhttp> on request-chosen paths, <cfquery> against a request-
 * chosen data source, or the ColdFusion service factory (data source passwords).
 */

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
        // Inside the tag only: its attributes hold no '<' either, so that in
        // a file padded with "<cfexecute " each of them is followed to the
        // next, not over the 200 bytes after it (3 s a MiB of such padding;
        // issue 10, go test ./rules -bench RulePadding).
        $i1 = /<cfexecute[^<>]{0,200}#(form|url|attributes)\./ nocase ascii
        $i2 = /<cfexecute[^<>]{0,80}name\s*=\s*["'][^"'<>]{0,60}(cmd\.exe|\/bin\/(ba)?sh|powershell)/ nocase ascii
        $i3 = /<cfexecute[^<>]{0,200}#\w{1,30}#/ nocase ascii
        $f1 = "#form." nocase ascii
        $f2 = "#url." nocase ascii
    condition:
        filesize < 2MB and $e and ($i1 or $i2 or ($i3 and any of ($f1, $f2)))
}

/* ColdFusion: cffile / cfdirectory operations on paths that come from the request: form/url
 * values, or the arguments of a function the page exposes to HTTP callers
 * (<cffunction access="remote">). An upload counts when its destination is request-chosen;
 * an application's upload into a folder it picks (destination="#uploadDir#") is not flagged
 * here (see cfm_upload_any_type). */
rule cfm_file_ops_request
{
    meta:
        severity = "critical"
        family = "cfm_filemanager"
        description = "ColdFusion page reads/writes/deletes files or lists directories named by form/url input"
    strings:
        $a = /<cffile[^>]{0,200}(file|source|destination)\s*=\s*["']#(form|url)\./ nocase ascii
        $a2 = /<cfdirectory[^>]{0,200}directory\s*=\s*["']#(form|url)\./ nocase ascii
        $a3 = /<cffile[^>]{0,200}(file|source|destination)\s*=\s*["']#arguments\./ nocase ascii
        $a4 = /<cfdirectory[^>]{0,200}directory\s*=\s*["']#arguments\./ nocase ascii
        $r = /<cffunction[^>]{0,200}access\s*=\s*["']remote/ nocase ascii
        $b = /<cffile[^>]{0,60}action\s*=\s*["']?upload[^>]{0,200}destination\s*=\s*["']#(form|url)\./ nocase ascii
    condition:
        filesize < 2MB and ($a or $a2 or $b or ($r and ($a3 or $a4)))
}

/* ColdFusion upload that accepts any file type: a <cffile action="upload"> tag without an
 * accept= list (and no later check is visible to a pattern). Dropped uploaders store
 * whatever is posted, .cfm included, next to themselves; applications restrict the types.
 * Medium: some applications do accept anything into a non-served folder. */
rule cfm_upload_any_type
{
    meta:
        severity = "medium"
        family = "cfm_uploader"
        description = "ColdFusion <cffile action=upload> without an accept= type list (stores any posted file)"
    strings:
        $up = /<cffile\s[^>]{0,300}action\s*=\s*["']?upload["'\s][^>]{0,300}>/ nocase ascii
        $acc = /\saccept\s*=/ nocase ascii
    condition:
        filesize < 2MB and for any i in (1..#up) : (not ($acc in (@up[i] .. @up[i] + !up[i])))
}

/* Evaluate() / PrecisionEvaluate() of a raw form/url/cookie/cgi value: the request supplies
 * CFML expressions to run. Applications call Evaluate on strings they build
 * ("form.qty_#i#"), which start with a quote and are not matched. */
rule cfm_evaluate_request
{
    meta:
        severity = "critical"
        family = "cfm_code_eval"
        description = "ColdFusion evaluates a form/url/cookie value as a CFML expression"
    strings:
        $a1 = "Evaluate(form." nocase ascii
        $a2 = "Evaluate(url." nocase ascii
        $a3 = "Evaluate(cookie." nocase ascii
        $a4 = "Evaluate(cgi." nocase ascii
    condition:
        filesize < 2MB and any of them
}

/* ColdFusion driving Windows' shell objects: createObject("com", "WScript.Shell" |
 * "Shell.Application") or <cfobject type="com" class="WScript.Shell">. Both only exist to
 * run programs. */
rule cfm_com_shell
{
    meta:
        severity = "critical"
        family = "cfm_cmd_exec"
        description = "ColdFusion creates WScript.Shell / Shell.Application COM objects (command execution)"
    strings:
        $c1 = "createObject(\"com\"" nocase ascii
        $c2 = "createObject('com'" nocase ascii
        $c3 = "<cfobject" nocase ascii
        $w1 = "\"WScript.Shell\"" nocase ascii
        $w2 = "'WScript.Shell'" nocase ascii
        $w3 = "\"Shell.Application\"" nocase ascii
        $w4 = "'Shell.Application'" nocase ascii
    condition:
        filesize < 2MB and any of ($c*) and any of ($w*)
}

/* <cfhttp> that fetches a request-chosen URL into a file on the server (path= / file=):
 * a dropper's download stage. */
rule cfm_http_download_to_file
{
    meta:
        severity = "high"
        family = "cfm_downloader"
        description = "ColdFusion <cfhttp> downloads a form/url-supplied URL into a server file"
    strings:
        $a = /<cfhttp[^>]{0,300}url\s*=\s*["']#(form|url)\.[^>]{0,300}\s(path|file)\s*=/ nocase ascii
        $b = /<cfhttp[^>]{0,300}\s(path|file)\s*=[^>]{0,300}url\s*=\s*["']#(form|url)\./ nocase ascii
    condition:
        filesize < 2MB and ($a or $b)
}

/* Data source password theft: the page reaches ColdFusion's internal ServiceFactory, lists
 * the data sources and decrypts their stored passwords. Administration pages of an
 * application have no reason to decrypt the server's data source credentials. */
rule cfm_datasource_password_theft
{
    meta:
        severity = "high"
        family = "cfm_credential_theft"
        description = "ColdFusion page decrypts data source passwords through coldfusion.server.ServiceFactory"
    strings:
        $f = "coldfusion.server.ServiceFactory" ascii
        $d = "getDatasources" nocase ascii
        $p = /Decrypt\s*\([^)]{0,80}password/ nocase ascii
    condition:
        filesize < 2MB and $f and $d and $p
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

/* ColdFusion cfscript reaching java.lang.Runtime / ProcessBuilder (or a script engine)
 * through createObject("java", ...) or <cfobject type="java">. */
rule cfm_java_runtime
{
    meta:
        severity = "critical"
        family = "cfm_cmd_exec"
        description = "ColdFusion creates java.lang.Runtime/ProcessBuilder/ScriptEngineManager objects to run commands or code"
    strings:
        $a = /createObject\s*\(\s*["']java["']\s*,\s*["'](java\.lang\.(Runtime|ProcessBuilder)|javax\.script\.ScriptEngineManager)/ nocase ascii
        $b = /<cfobject[^>]{0,200}class\s*=\s*["'](java\.lang\.(Runtime|ProcessBuilder)|javax\.script\.ScriptEngineManager)/ nocase ascii
    condition:
        filesize < 2MB and ($a or $b)
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
