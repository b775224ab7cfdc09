/*
 * shellwatch bundled rules: JSP / JSPX webshells and backdoors.
 *
 * The rules target behaviour, not banners: a JSP page that takes attacker input from the
 * HTTP request (parameter, header, body) and hands it to an OS command, a class loader, a
 * script engine, or the file system. Most rules therefore combine three things:
 *   - a JSP/Java context (scriptlet markers or JSP XML syntax),
 *   - a request-input source,
 *   - a dangerous sink.
 */

/* Command execution: Runtime.exec / ProcessBuilder in a page that reads request input.
 * Benign JSP pages practically never start OS processes. */
rule jsp_runtime_exec_request
{
    meta:
        severity = "critical"
        family = "jsp_cmd_exec"
        description = "JSP page runs OS commands (Runtime.exec / ProcessBuilder) and reads HTTP request input"
    strings:
        $ctx1 = "<%" ascii wide
        $ctx2 = "<jsp:" ascii wide
        $ctx3 = "< %" ascii wide
        $exec1 = /getRuntime\(\)\s*\.\s*exec\s*\(/ ascii wide
        $exec2 = /\.exec\s*\(\s*(new\s+String\s*\[\s*\]\s*\{\s*)?"(cmd(\.exe)?|\/bin\/(ba)?sh)/ ascii wide
        $exec3 = /new\s+ProcessBuilder\s*\(/ ascii wide
        $exec4 = "java.lang.ProcessImpl" ascii wide
        $exec5 = /ProcessBuilder\s*\(\s*\)\s*\.\s*command\s*\(/ ascii wide
        $req1 = ".getParameter(" ascii wide
        $req2 = ".getHeader(" ascii wide
        $req3 = "request.getInputStream" ascii wide
        $req4 = "request.getReader" ascii wide
        $req5 = ".getQueryString(" ascii wide
        $req6 = ".getParameterValues(" ascii wide
        $req7 = ".getParameterMap(" ascii wide
    condition:
        filesize < 2MB and any of ($ctx*) and any of ($exec*) and any of ($req*)
}

/* The request value goes straight into exec(): one-liners such as
 * Runtime.getRuntime().exec(request.getParameter("cmd")). */
rule jsp_exec_direct_param
{
    meta:
        severity = "critical"
        family = "jsp_cmd_exec"
        description = "Runtime.exec / ProcessBuilder called directly on a request parameter"
    strings:
        $a = /\.exec\s*\(\s*("[^"\n]{0,20}"\s*\+\s*)?request\.get(Parameter|Header)\s*\(/ ascii
        $b = /ProcessBuilder\s*\(\s*("[^"\n]{0,20}"\s*,\s*){0,3}request\.get(Parameter|Header)\s*\(/ ascii
    condition:
        filesize < 2MB and any of them
}

/* Custom ClassLoader that defines classes from bytes in a page that reads the request:
 * Behinder (class U extends ClassLoader ... defineClass + AES), Godzilla (payload class kept
 * in the session), AntSword and many "memory shell" droppers. */
rule jsp_classloader_request_bytes
{
    meta:
        severity = "critical"
        family = "jsp_class_loader"
        description = "JSP defines Java classes from request-supplied bytes (Behinder/Godzilla/AntSword style loader)"
    strings:
        $ctx1 = "<%" ascii
        $ctx2 = "jsp:scriptlet" ascii
        $ctx3 = "jsp:declaration" ascii
        $def1 = "defineClass" ascii
        $def2 = "extends ClassLoader" ascii
        $def3 = /new\s+ClassLoader\s*\(\s*\)\s*\{/ ascii
        $req1 = "request.getParameter" ascii
        $req2 = "request.getInputStream" ascii
        $req3 = "request.getReader" ascii
        $req4 = "request.getHeader" ascii
        $req5 = "javax.crypto.Cipher" ascii
        $req6 = /Cipher\.getInstance\s*\(/ ascii
        $req7 = "request.getParameterMap" ascii
    condition:
        filesize < 2MB and any of ($ctx*) and $def1 and ($def2 or $def3) and any of ($req*)
}

/* Behinder-style one-liner loader: class U extends ClassLoader{...g(byte[]b){return
 * super.defineClass(...)}} and new U(...).g(decrypted request body).newInstance().equals(pageContext) */
rule jsp_behinder_loader
{
    meta:
        severity = "critical"
        family = "behinder"
        description = "Behinder-style JSP: AES-decrypts the request body into a class and instantiates it with pageContext"
    strings:
        $loader = /extends\s+ClassLoader\s*\{.{0,200}super\.defineClass\s*\(/ ascii
        $inst = /\.newInstance\s*\(\s*\)\s*\.\s*equals\s*\(\s*(pageContext|request|new\s+Object)/ ascii
        $aes = "AES" ascii
        $sess = /session\.(putValue|setAttribute|getValue|getAttribute)\s*\(/ ascii
    condition:
        filesize < 500KB and $loader and ($inst or ($aes and $sess))
}

/* Godzilla-style JSP: XOR/AES of the request parameter, payload class cached in the session
 * and md5-keyed output framing. */
rule jsp_godzilla_payload
{
    meta:
        severity = "critical"
        family = "godzilla"
        description = "Godzilla-style JSP: encrypted request payload loaded as a class and stored in the session"
    strings:
        $def = "defineClass" ascii
        $cipher = "javax.crypto.Cipher" ascii
        $sess1 = /session\.(getAttribute|setAttribute|getValue|putValue)\s*\(\s*"payload"/ ascii
        $md5 = /MessageDigest\.getInstance\s*\(\s*"MD5"\s*\)/ ascii
        $b64a = "base64Decode" ascii
        $b64b = "getDecoder" ascii
        $b64c = "BASE64Decoder" ascii
    condition:
        filesize < 500KB and $def and ($sess1 or ($cipher and $md5 and any of ($b64*)))
}

/* Reflection tricks used to reach class definition or process creation without naming them
 * in plain code: Proxy.defineClass0, Unsafe.defineAnonymousClass, ClassLoader.defineClass via
 * getDeclaredMethod, sun.reflect.misc.MethodUtil, ProcessImpl, BCEL class loader,
 * TemplatesImpl bytecodes, nashorn ScriptLoader. */
rule jsp_reflective_loader_request
{
    meta:
        severity = "critical"
        family = "jsp_class_loader"
        description = "JSP uses reflection-based class definition or process creation primitives together with request input"
    strings:
        $ctx1 = "<%" ascii
        $ctx2 = "jsp:scriptlet" ascii
        $p1 = /getDeclaredMethod\s*\(\s*"defineClass/ ascii
        $p2 = "defineClass0" ascii
        $p3 = "defineAnonymousClass" ascii
        $p4 = "sun.reflect.misc.MethodUtil" ascii
        $p5 = "java.lang.ProcessImpl" ascii
        $p6 = "com.sun.org.apache.bcel.internal" ascii
        $p7 = "$$BCEL$$" ascii
        $p8 = "TemplatesImpl" ascii
        $p9 = "jdk.nashorn.internal.runtime.ScriptLoader" ascii
        $p10 = "sun.misc.Unsafe" ascii
        $p11 = "MethodAccessor" ascii
        $p12 = "org.objectweb.asm" ascii
        $p13 = "JdbcRowSetImpl" ascii
        $p14 = "getSystemJavaCompiler" ascii
        $p15 = "com.sun.jndi.ldap.object.trustURLCodebase" ascii
        $req1 = "request.getParameter" ascii
        $req2 = "request.getInputStream" ascii
        $req3 = "request.getReader" ascii
        $req4 = "request.getHeader" ascii
    condition:
        filesize < 2MB and any of ($ctx*) and any of ($p*) and any of ($req*)
}

/* Class loaded from an attacker URL / temp dir and instantiated with the request value. */
rule jsp_urlclassloader_request
{
    meta:
        severity = "high"
        family = "jsp_class_loader"
        description = "JSP loads classes through URLClassLoader and feeds them request input"
    strings:
        $ctx1 = "<%" ascii
        $ctx2 = "jsp:scriptlet" ascii
        $u = /new\s+URLClassLoader\s*\(/ ascii
        $l1 = ".loadClass(" ascii
        $l2 = "ServiceLoader" ascii
        $l3 = "Class.forName(" ascii
        $req1 = "request.getParameter" ascii
        $req2 = "request.getInputStream" ascii
        $req3 = "request.getHeader" ascii
    condition:
        filesize < 2MB and any of ($ctx*) and $u and any of ($l*) and any of ($req*)
}

/* Script engines / REPLs fed by request input: javax.script eval, JShell, EL processors,
 * Groovy shells. The call string is $call, not $e-something: the engine wildcard any of ($e*)
 * used to include it, so any page calling .getValue( with request input matched (five
 * benign-web pages did). */
rule jsp_script_engine_eval
{
    meta:
        severity = "critical"
        family = "jsp_script_eval"
        description = "JSP evaluates request-supplied code through a script engine, JShell or an EL processor"
    strings:
        $ctx1 = "<%" ascii
        $ctx2 = "jsp:scriptlet" ascii
        $e1 = "ScriptEngineManager" ascii
        $e2 = "jdk.jshell" ascii
        $e3 = "ELProcessor" ascii
        $e4 = "groovy.lang.GroovyShell" ascii
        $e5 = "createValueExpression" ascii
        $call = /\.(eval|evaluate|getValue)\s*\(/ ascii
        $req1 = "request.getParameter" ascii
        $req2 = "request.getInputStream" ascii
        $req3 = "request.getReader" ascii
        $req4 = "request.getHeader" ascii
    condition:
        filesize < 2MB and any of ($ctx*) and any of ($e*) and $call and any of ($req*)
}

/* Java reflection used to reach Runtime/ProcessBuilder with the class or method names hidden
 * in byte arrays, base64 or string splits ("java.lang." + "untime"). */
rule jsp_reflect_hidden_runtime
{
    meta:
        severity = "high"
        family = "jsp_cmd_exec"
        description = "JSP calls Class.forName/getMethod/invoke with obfuscated names and reads request input (hidden Runtime.exec)"
    strings:
        $ctx1 = "<%" ascii
        $ctx2 = "jsp:scriptlet" ascii
        $fn = "Class.forName(" ascii
        $inv = ".invoke(" ascii
        $o1 = /Class\.forName\s*\(\s*new\s+String\s*\(\s*new\s+byte\s*\[\s*\]\s*\{\s*\d/ ascii
        $o2 = /Class\.forName\s*\(\s*new\s+String\s*\([^)]{0,40}(decode|Decode)/ ascii
        $o3 = /"java\.lang\.[^"]{0,6}"\s*\+/ ascii
        $o4 = /getMethod\s*\(\s*new\s+String\s*\(\s*new\s+byte/ ascii
        $o5 = "\"java.lang.Runtime\"" ascii
        $o6 = "\"java.lang.ProcessBuilder\"" ascii
        $req1 = "request.getParameter" ascii
        $req2 = "request.getHeader" ascii
        $req3 = "request.getInputStream" ascii
    condition:
        filesize < 2MB and any of ($ctx*) and $fn and $inv and any of ($o*) and any of ($req*)
}

/* Unicode-escaped Java source: \u0052\u0075... is decoded by the JSP compiler, so shells use
 * long runs of escaped ASCII to hide Runtime/exec/request from text matching. */
rule jsp_unicode_escaped_code
{
    meta:
        severity = "high"
        family = "jsp_obfuscation"
        description = "JSP with long runs of \\u00XX-escaped ASCII code (compiler-decoded obfuscation)"
    strings:
        $ctx1 = "<%" ascii
        $ctx2 = "jsp:" ascii
        $u = /(\\u00[2-7][0-9a-fA-F]){16}/ ascii
    condition:
        filesize < 2MB and any of ($ctx*) and $u
}

/* Writer droppers: the request chooses the file name (often under getRealPath) and supplies
 * the content, e.g. new FileOutputStream(application.getRealPath("/")+request.getParameter("f")). */
rule jsp_file_write_request
{
    meta:
        severity = "critical"
        family = "jsp_file_writer"
        description = "JSP writes request-supplied content to a request-chosen path (webshell dropper)"
    strings:
        $a = /FileOutputStream\s*\(\s*(application|request|getServletContext\(\)|this\.getServletContext\(\)|config\.getServletContext\(\))\.getRealPath\s*\([^)]{0,20}\)\s*\+\s*("[^"]{0,8}"\s*\+\s*)?request\.getParameter/ ascii
        $b = /FileOutputStream\s*\(\s*request\.getParameter\s*\(/ ascii
        $c = /FileWriter\s*\(\s*request\.getParameter\s*\(/ ascii
        $d = /Files\.write\s*\([^;]{0,120}request\.getParameter\s*\(/ ascii
        $e = /getRealPath\s*\([^)]{0,30}\)\s*\+\s*("[^"]{0,8}"\s*\+\s*)?request\.getParameter\s*\(/ ascii
        $fos = "FileOutputStream(" ascii
    condition:
        filesize < 2MB and (any of ($a, $b, $c, $d) or ($e and $fos))
}

/* JSP file managers: list directories and read/write/delete/rename files named by request
 * parameters. */
rule jsp_file_manager
{
    meta:
        severity = "high"
        family = "jsp_filemanager"
        description = "JSP file manager: lists, writes and deletes server files chosen by request parameters"
    strings:
        $ctx1 = "<%" ascii
        $ctx2 = "jsp:scriptlet" ascii
        $list1 = ".listFiles(" ascii
        $list2 = ".listRoots(" ascii
        $list3 = ".list()" ascii
        $w1 = "new FileOutputStream(" ascii
        $w2 = "new FileWriter(" ascii
        $w3 = "new RandomAccessFile(" ascii
        $m1 = ".delete()" ascii
        $m2 = ".renameTo(" ascii
        $m3 = ".mkdir" ascii
        $m4 = "setLastModified(" ascii
        $req = /new\s+(java\.io\.)?File\s*\(\s*[^;)]{0,60}request\.getParameter\s*\(/ ascii
        $req2 = "request.getParameter" ascii
        $rp = "getRealPath(" ascii
        $rd = "new FileInputStream(" ascii
        $out = "response.getOutputStream()" ascii
    condition:
        filesize < 2MB and any of ($ctx*) and any of ($list*) and (
            (any of ($w*) and 2 of ($m*) and ($req or ($req2 and $rp)))
            or ($req and $rd and $out)
        )
}

/* Reverse / bind shells: a socket whose streams are pumped into a spawned shell process. */
rule jsp_reverse_shell
{
    meta:
        severity = "critical"
        family = "reverse_shell"
        description = "JSP/Java code connects a network socket to a spawned shell process (reverse/bind shell)"
    strings:
        $s1 = /new\s+(java\.net\.)?Socket\s*\(/ ascii wide
        $s2 = /new\s+(java\.net\.)?ServerSocket\s*\(/ ascii wide
        $p1 = /\.exec\s*\(/ ascii wide
        $p2 = "ProcessBuilder(" ascii wide
        $io1 = ".getOutputStream()" ascii wide
        $io2 = ".getInputStream()" ascii wide
        $sh1 = "cmd.exe" ascii wide nocase
        $sh2 = "/bin/sh" ascii wide
        $sh3 = "/bin/bash" ascii wide
        $j1 = "java." ascii wide
        $j2 = "getRuntime()" ascii wide
    condition:
        filesize < 2MB and any of ($s*) and any of ($p*) and all of ($io*) and any of ($sh*) and any of ($j*)
}

/* Database browsers: JDBC connection built from request parameters and arbitrary SQL from
 * the request executed. */
rule jsp_db_browser
{
    meta:
        severity = "high"
        family = "jsp_db_browser"
        description = "JSP database browser: JDBC connection and SQL text taken from request parameters"
    strings:
        $ctx1 = "<%" ascii
        $ctx2 = "jsp:scriptlet" ascii
        $c = "DriverManager.getConnection(" ascii
        $q1 = /\.(executeQuery|execute|executeUpdate)\s*\(\s*request\.getParameter/ ascii
        $q2 = /getConnection\s*\(\s*request\.getParameter/ ascii
        $q3 = /Class\.forName\s*\(\s*request\.getParameter/ ascii
        $meta = ".getMetaData()" ascii
        $req = ".getParameter(" ascii
        $ta = "<textarea" ascii nocase
    condition:
        filesize < 2MB and any of ($ctx*) and $c and (any of ($q*) or ($meta and $ta and #req > 3))
}

/* EL / expression injection in a page: ${Runtime.getRuntime().exec(...)} or
 * "".getClass().forName("java.lang.Runtime") inside an expression. */
rule jsp_el_runtime
{
    meta:
        severity = "critical"
        family = "jsp_el_injection"
        description = "JSP expression language used to reach Runtime/ProcessBuilder/ScriptEngine"
    strings:
        $a = /\$\{[^}]{0,80}(Runtime\.getRuntime|getClass\(\)\.forName|ProcessBuilder|ScriptEngineManager)/ ascii
        $b = /""\.getClass\(\)\.forName\(/ ascii
    condition:
        filesize < 2MB and any of them
}

/* A class obtained from a loader is instantiated with the request value as constructor
 * argument: loadClass("Evil").getConstructor(String.class).newInstance(request.getParameter(..)). */
rule jsp_class_instantiated_with_request
{
    meta:
        severity = "critical"
        family = "jsp_class_loader"
        description = "JSP instantiates a dynamically loaded class with a request parameter as argument"
    strings:
        $a = /getConstructor\s*\([^)]{0,60}\)\s*\.\s*newInstance\s*\(\s*(String\.valueOf\s*\(\s*)?request\.get(Parameter|Header)\s*\(/ ascii wide
    condition:
        filesize < 2MB and $a
}

/* Compiled Java class bytes (CAFEBABE, base64 "yv66vg") embedded as a string literal: the page
 * defines or drops a hidden class at run time (in-memory shells, TemplatesImpl gadgets). */
rule jsp_embedded_class_bytes
{
    meta:
        severity = "high"
        family = "jsp_class_loader"
        description = "Source page embeds a base64-encoded compiled Java class (hidden payload for a class loader)"
    strings:
        $a = /"yv66vgAAA[A-Za-z0-9+\/]{200}/ ascii wide
    condition:
        filesize < 5MB and $a
}

/* Memory-shell / tunnel technique: a JSP registers a new WebSocket endpoint (or servlet/filter)
 * in the running container. Legitimate applications register endpoints at deploy time, not
 * from a page. */
rule jsp_runtime_endpoint_registration
{
    meta:
        severity = "high"
        family = "jsp_memory_shell"
        description = "JSP registers a WebSocket endpoint/servlet/filter into the running container (memory shell or tunnel)"
    strings:
        $ctx1 = "<%" ascii wide
        $ctx2 = "<jsp:" ascii wide
        $a1 = /ServerEndpointConfig\.Builder\.create\s*\(/ ascii wide
        $a2 = "javax.websocket.server.ServerContainer" ascii wide
        $a3 = ".addEndpoint(" ascii wide
        $b1 = "addFilterDef(" ascii wide
        $b2 = "addFilterMapBefore(" ascii wide
        $b3 = "addServletMappingDecoded(" ascii wide
        $b4 = "addServletMapping(" ascii wide
        $b5 = "StandardContext" ascii wide
    condition:
        filesize < 2MB and any of ($ctx*) and ((($a1 or $a2) and $a3) or ($b5 and any of ($b1, $b2, $b3, $b4)))
}

/* Upload/edit forms: the page shows the web root (getRealPath) in a form with a textarea, and
 * writes the posted text to the posted path. */
rule jsp_file_editor_form
{
    meta:
        severity = "high"
        family = "jsp_file_writer"
        description = "JSP file writer form: request-supplied path and textarea content written to disk, web root disclosed"
    strings:
        $ctx1 = "<%" ascii wide
        $ctx2 = "<jsp:" ascii wide
        $w1 = "new FileOutputStream(" ascii wide
        $w2 = "new FileWriter(" ascii wide
        $w3 = /new\s+PrintWriter\s*\(\s*(new\s+File\s*\()?\w{1,20}\s*\)/ ascii wide
        $ta = "<textarea" ascii wide nocase
        $rp = "getRealPath(" ascii wide
        $req = "request.getParameter(" ascii wide
    condition:
        filesize < 200KB and any of ($ctx*) and any of ($w*) and $ta and $rp and #req >= 2
}

/* Database dumpers: iterate the table list and write "select * from <table>" results to
 * files on the server for later download. */
rule jsp_db_dumper
{
    meta:
        severity = "medium"
        family = "jsp_db_browser"
        description = "JSP dumps whole database tables to files (data theft tool)"
    strings:
        $ctx1 = "<%" ascii wide
        $c = "DriverManager.getConnection(" ascii wide
        $sel = /"select \* from "\s*\+/ ascii wide nocase
        $sel2 = /" from "\s*\+\s*request\.getParameter/ ascii wide nocase
        $t1 = "SHOW CREATE TABLE" ascii wide nocase
        $t2 = "all_tables" ascii wide nocase
        $t3 = "user_tab_comments" ascii wide nocase
        $t4 = "information_schema" ascii wide nocase
        $t5 = "SHOW TABLES" ascii wide nocase
        $ins = /"INSERT INTO "\s*\+/ ascii wide nocase
        $w = "FileOutputStream(" ascii wide
    condition:
        filesize < 500KB and $ctx1 and $c and ($sel or $sel2) and (any of ($t*) or $ins) and $w
}
