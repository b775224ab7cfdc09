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
        $i1 = /<cfexecute[^>]{0,200}#(form|url|attributes)\./ nocase ascii
        $i2 = /<cfexecute[^>]{0,80}name\s*=\s*["'][^"']{0,60}(cmd\.exe|\/bin\/(ba)?sh|powershell)/ nocase ascii
        $i3 = /<cfexecute[^>]{0,200}#\w{1,30}#/ nocase ascii
        $f1 = "#form." nocase ascii
        $f2 = "#url." nocase ascii
    condition:
        filesize < 2MB and $e and ($i1 or $i2 or ($i3 and any of ($f1, $f2)))
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
