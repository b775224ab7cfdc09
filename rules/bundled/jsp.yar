/*
 * shellwatch bundled rules: JSP / JSPX webshells and backdoors.
 *
 * The rules target behaviour, not banners: a JSP page that takes attacker input from the
 * HTTP request (parameter, header, body) and hands it to an OS command, a class loader, a
 * script engine, or the file system. Most rules therefore combine three things:
 *   - a JSP/Java context (scriptlet markers or JSP XML syntax),
 *   - a request-input source,
 *   - a dangerous sink.
 * The two private rules below name the first two once, so every rule agrees on them.
 */

/* JSP code: scriptlet/declaration/expression markers, or JSP XML syntax under any namespace
 * prefix (<x:scriptlet xmlns:x="http://java.sun.com/JSP/Page"> is as valid as jsp:), or any
 * JSP action (attribute values of <jsp:setProperty> & co. are compiled Java expressions).
 * "< %" is kept for text-saved shells whose markers a blog engine split. */
private rule jsp_code
{
    strings:
        $a = "<%" ascii wide
        $b = "< %" ascii wide
        $c = ":scriptlet>" ascii wide
        $d = ":declaration>" ascii wide
        $e = ":expression>" ascii wide
        $f = "java.sun.com/JSP/Page" ascii wide
        $g = "<jsp:" ascii wide
    condition:
        any of them
}

/* Input an HTTP client controls: parameters, headers, cookies, the query string, parts of a
 * multipart body, or the raw body (getInputStream/getReader, only on a request object: a
 * Process or Socket has a getInputStream too). */
private rule jsp_request_input
{
    strings:
        $p1 = ".getParameter(" ascii wide
        $p2 = ".getParameterValues(" ascii wide
        $p3 = ".getParameterMap(" ascii wide
        $p4 = ".getParameterNames(" ascii wide
        $h1 = ".getHeader(" ascii wide
        $h2 = ".getHeaders(" ascii wide
        $q = ".getQueryString(" ascii wide
        $c = ".getCookies(" ascii wide
        $m1 = ".getPart(" ascii wide
        $m2 = ".getParts(" ascii wide
        $b1 = "request.getInputStream(" ascii wide
        $b2 = "request.getReader(" ascii wide
        $b3 = "req.getInputStream(" ascii wide
        $b4 = "req.getReader(" ascii wide
        $b5 = "getRequest().getInputStream(" ascii wide
        $b6 = "getRequest().getReader(" ascii wide
    condition:
        any of them
}

/* Command execution: Runtime.exec / ProcessBuilder / the process implementation classes in a
 * page that reads request input. Besides the literal getRuntime().exec( the sink is recognised
 * by Java-only shapes that survive splitting the call: the result assigned to a Process
 * variable, or exec(...) chained to getInputStream/waitFor. (A bare ".exec(" is not enough:
 * JavaScript regexes in the page's HTML have one, and benign pages call
 * Runtime.getRuntime().maxMemory().) A page whose every exec() runs a fixed command
 * (exec("df -h")) and that has no ProcessBuilder is a status page, not a command runner: the
 * request cannot reach the command, so it is not matched -- unless the fixed command is a
 * bare shell (exec("cmd"), exec("/bin/sh")), whose stdin the page then feeds. Benign JSP pages practically never
 * start OS processes; the benign JSP pages that do (a file browser with a command box, an
 * admin console) are shells by behaviour and listed as reviewed. */
rule jsp_runtime_exec_request
{
    meta:
        severity = "critical"
        family = "jsp_cmd_exec"
        description = "JSP page runs OS commands (Runtime.exec / ProcessBuilder) and reads HTTP request input"
    strings:
        $exec1 = /getRuntime\(\)\s*\.\s*exec\s*\(/ ascii wide
        $exec2 = /\.exec\s*\(\s*(new\s+String\s*\[\s*\]\s*\{\s*)?"(cmd(\.exe)?|\/bin\/(ba)?sh)/ ascii wide
        $exec3 = /new\s+(java\.lang\.)?ProcessBuilder\s*\(/ ascii wide
        $exec4 = "java.lang.ProcessImpl" ascii wide
        $exec5 = /ProcessBuilder\s*\(\s*\)\s*\.\s*command\s*\(/ ascii wide
        $exec6 = /Process\s+\w{1,30}\s*=\s*(\(\s*Process\s*\)\s*)?[\w.]{1,60}(\(\s*\))?\s*\.\s*exec\s*\(/ ascii wide
        $exec7 = /\.exec\s*\([^;\n]{1,200}\)\s*\.\s*(getInputStream|getOutputStream|getErrorStream|waitFor)\s*\(/ ascii wide
        $exec8 = "java.lang.UNIXProcess" ascii wide
        $exec9 = "forkAndExec" ascii wide
        $exec10 = /\.exec\s*\(\s*"(cmd(\.exe)?|\/bin\/(ba|da|z)?sh|(ba|z)?sh|powershell(\.exe)?)"\s*\)/ ascii wide
        $xany = /\.exec\s*\(/ ascii wide
        $xlit = /\.exec\s*\(\s*"[^"\n]{0,200}"\s*\)/ ascii wide
    condition:
        filesize < 2MB and jsp_code and jsp_request_input and any of ($exec*)
        and not (#xlit == #xany and not any of ($exec3, $exec4, $exec5, $exec8, $exec9, $exec10))
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

/* Class definition from bytes in a page: Behinder (class U extends ClassLoader ...
 * defineClass + AES of the body), Godzilla (payload class kept in the session), AntSword,
 * "memory shell" droppers, and loaders that reach defineClass through MethodHandles
 * (Lookup.defineClass / defineHiddenClass) or Unsafe.defineAnonymousClass. A JSP page that
 * defines classes is a loader whatever the class: no benign JSP page in benign-web or the
 * Debian tree (Tomcat examples) mentions defineClass. The page must also read the request, or
 * decrypt / decode what it defines. */
rule jsp_classloader_request_bytes
{
    meta:
        severity = "critical"
        family = "jsp_class_loader"
        description = "JSP defines Java classes from request-supplied or decoded bytes (Behinder/Godzilla/AntSword style loader)"
    strings:
        $def1 = "defineClass" ascii wide
        $def2 = "defineAnonymousClass" ascii wide
        $def3 = "defineHiddenClass" ascii wide
        $k1 = "javax.crypto" ascii wide
        $k2 = /Cipher\s*\.\s*getInstance\s*\(/ ascii wide
        $k3 = /(getDecoder|getMimeDecoder)\s*\(\s*\)\s*\.\s*decode\s*\(/ ascii wide
        $k4 = "BASE64Decoder" ascii wide
        $k5 = "parseBase64Binary" ascii wide
        $k6 = "decodeBase64" ascii wide
    condition:
        filesize < 2MB and jsp_code and any of ($def*) and (jsp_request_input or any of ($k*))
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
 * TemplatesImpl bytecodes, nashorn ScriptLoader, MLet, JNDI codebase trust switches. */
rule jsp_reflective_loader_request
{
    meta:
        severity = "critical"
        family = "jsp_class_loader"
        description = "JSP uses reflection-based class definition or process creation primitives together with request input"
    strings:
        $p1 = /getDeclaredMethod\s*\(\s*"defineClass/ ascii wide
        $p2 = "defineClass0" ascii wide
        $p3 = "defineAnonymousClass" ascii wide
        $p4 = "sun.reflect.misc.MethodUtil" ascii wide
        $p5 = "java.lang.ProcessImpl" ascii wide
        $p6 = "com.sun.org.apache.bcel.internal" ascii wide
        $p7 = "$$BCEL$$" ascii wide
        $p8 = "TemplatesImpl" ascii wide
        $p9 = "jdk.nashorn.internal.runtime.ScriptLoader" ascii wide
        $p10 = "sun.misc.Unsafe" ascii wide
        $p11 = "MethodAccessor" ascii wide
        $p12 = "org.objectweb.asm" ascii wide
        $p13 = "JdbcRowSetImpl" ascii wide
        $p14 = "getSystemJavaCompiler" ascii wide
        $p15 = "com.sun.jndi.ldap.object.trustURLCodebase" ascii wide
        $p16 = "com.sun.jndi.rmi.object.trustURLCodebase" ascii wide
        $p17 = "jdk.internal.misc.Unsafe" ascii wide
        $p18 = "javax.management.loading.MLet" ascii wide
    condition:
        filesize < 2MB and jsp_code and any of ($p*) and jsp_request_input
}

/* Class loaded from an attacker URL / temp dir and instantiated with the request value. */
rule jsp_urlclassloader_request
{
    meta:
        severity = "high"
        family = "jsp_class_loader"
        description = "JSP loads classes through URLClassLoader and feeds them request input"
    strings:
        $u = /new\s+(java\.net\.)?URLClassLoader\s*\(/ ascii wide
        $l1 = ".loadClass(" ascii wide
        $l2 = "ServiceLoader" ascii wide
        $l3 = "Class.forName(" ascii wide
    condition:
        filesize < 2MB and jsp_code and $u and any of ($l*) and jsp_request_input
}

/* Script engines, expression languages and REPLs fed by request input: javax.script (Nashorn,
 * Rhino, Graal.js), JShell, the EL processor / ExpressionFactory, Groovy, BeanShell, Rhino's
 * own Context, MVEL, OGNL, SpEL, Jython, Janino. A page names such an engine and calls its
 * evaluation method. Benign JSP pages do use EL, through ${...} in the template, not by
 * building an ELProcessor in a scriptlet; none of the 1,609 benign-web pages names any of these
 * engines. (The rule once matched five benign pages through ".getValue(" because the
 * engine list's wildcard $e* also caught the call string: the calls are now $call*.) */
rule jsp_script_engine_eval
{
    meta:
        severity = "critical"
        family = "jsp_script_eval"
        description = "JSP evaluates request-supplied code through a script engine, JShell or an EL processor"
    strings:
        $e1 = "ScriptEngineManager" ascii wide
        $e2 = "jdk.jshell" ascii wide
        $e3 = "ELProcessor" ascii wide
        $e4 = "groovy.lang.Groovy" ascii wide
        $e5 = "createValueExpression" ascii wide
        $e6 = "getEngineByName" ascii wide
        $e7 = "getEngineByExtension" ascii wide
        $e8 = "org.mozilla.javascript" ascii wide
        $e9 = "bsh.Interpreter" ascii wide
        $e10 = "org.mvel2" ascii wide
        $e11 = "ognl.Ognl" ascii wide
        $e12 = "SpelExpressionParser" ascii wide
        $e13 = "PythonInterpreter" ascii wide
        $e14 = "org.codehaus.janino" ascii wide
        $e15 = "JShell.create" ascii wide
        $e16 = "createMethodExpression" ascii wide
        $call1 = ".eval(" ascii wide
        $call2 = ".evaluate(" ascii wide
        $call3 = ".evaluateString(" ascii wide
        $call4 = ".getValue(" ascii wide
        $call5 = ".parseExpression(" ascii wide
        $call6 = ".parseClass(" ascii wide
        $call7 = ".cook(" ascii wide
        $call8 = ".invoke(" ascii wide
    condition:
        filesize < 2MB and jsp_code and any of ($e*) and any of ($call*) and jsp_request_input
}

/* Java reflection used to reach Runtime/ProcessBuilder with the class or method names hidden
 * in byte or char arrays, base64, string splits ("java.lang." + "untime",
 * getDeclaredMethod("define" + "Class")), or a name literal written in octal / unicode escapes
 * (getMethod("\145\170\145\143")). A method name split into literals has no other use than
 * hiding it from readers. */
rule jsp_reflect_hidden_runtime
{
    meta:
        severity = "high"
        family = "jsp_cmd_exec"
        description = "JSP calls Class.forName/getMethod/invoke with obfuscated names and reads request input (hidden Runtime.exec)"
    strings:
        $fn = "Class.forName(" ascii
        $inv = ".invoke(" ascii
        $o1 = /Class\.forName\s*\(\s*new\s+String\s*\(\s*new\s+byte\s*\[\s*\]\s*\{\s*\d/ ascii
        $o2 = /Class\.forName\s*\(\s*new\s+String\s*\([^)]{0,40}(decode|Decode)/ ascii
        $o3 = /"java\.lang\.[^"]{0,6}"\s*\+/ ascii
        $o4 = /getMethod\s*\(\s*new\s+String\s*\(\s*new\s+byte/ ascii
        $o5 = "\"java.lang.Runtime\"" ascii
        $o6 = "\"java.lang.ProcessBuilder\"" ascii
        $o7 = /(forName|getMethod|getDeclaredMethod)\s*\(\s*new\s+String\s*\(\s*new\s+char\s*\[\s*\]\s*\{/ ascii
        $o8 = /(forName|getMethod|getDeclaredMethod)\s*\(\s*"(\\[0-7]{3}|\\u00[2-7][0-9a-fA-F]){3}/ ascii
        $o9 = /(getMethod|getDeclaredMethod|getDeclaredField)\s*\(\s*"[A-Za-z0-9_]{1,20}"\s*\+\s*"[A-Za-z0-9_]{1,20}"/ ascii
    condition:
        filesize < 2MB and jsp_code and $inv and jsp_request_input and (($fn and any of ($o1, $o2, $o3, $o4, $o5, $o6)) or $o7 or $o8 or $o9)
}

/* Reflection that names the dangerous method in a string: getMethod("exec", ...),
 * java.beans.Expression(Runtime.getRuntime(), "exec", ...), MethodHandles findVirtual(...
 * "exec" ...). Reaching exec/defineClass/getRuntime/eval by name is how shells avoid the
 * literal call; benign pages have no reason to reflect on these methods. */
rule jsp_reflect_exec_request
{
    meta:
        severity = "critical"
        family = "jsp_cmd_exec"
        description = "JSP reaches exec/defineClass/getRuntime/eval by reflection (getMethod, java.beans.Expression, MethodHandles) and reads request input"
    strings:
        $m1_1 = "getMethod(\"exec\"" ascii wide
        $m1_2 = "getMethod(\"forkAndExec\"" ascii wide
        $m1_3 = "getMethod(\"defineClass\"" ascii wide
        $m1_4 = "getMethod(\"getRuntime\"" ascii wide
        $m1_5 = "getMethod(\"eval\"" ascii wide
        $m1_6 = "getMethod(\"start\"" ascii wide
        $m1_7 = "getMethod(\"start0\"" ascii wide
        $m1_8 = "getDeclaredMethod(\"exec\"" ascii wide
        $m1_9 = "getDeclaredMethod(\"forkAndExec\"" ascii wide
        $m1_10 = "getDeclaredMethod(\"defineClass\"" ascii wide
        $m1_11 = "getDeclaredMethod(\"getRuntime\"" ascii wide
        $m1_12 = "getDeclaredMethod(\"eval\"" ascii wide
        $m1_13 = "getDeclaredMethod(\"start\"" ascii wide
        $m1_14 = "getDeclaredMethod(\"start0\"" ascii wide
        $b1 = "new Expression(" ascii wide
        $b2 = "new java.beans.Expression(" ascii wide
        $b3 = "new Statement(" ascii wide
        $b4 = "new java.beans.Statement(" ascii wide
        $h1 = ".findVirtual(" ascii wide
        $h2 = ".findStatic(" ascii wide
        $n1 = "\"exec\"" ascii wide
        $n2 = "\"forkAndExec\"" ascii wide
        $n3 = "\"defineClass\"" ascii wide
        $n4 = "\"getRuntime\"" ascii wide
        $n5 = "\"start\"" ascii wide
    condition:
        filesize < 2MB and jsp_code and jsp_request_input and (
            any of ($m1_*) or ((any of ($b*) or any of ($h*)) and any of ($n*))
        )
}

/* Reflection steered by the request: the class or the method to call is a request parameter
 * (Class.forName(request.getParameter("c")).getMethod(request.getParameter("m")) ...
 * .invoke). A generic "call anything" backdoor. Database browsers that load a JDBC driver named
 * in the form do not call invoke. */
rule jsp_reflect_request_named
{
    meta:
        severity = "high"
        family = "jsp_cmd_exec"
        description = "JSP calls a class or method named by the request through reflection (call-anything backdoor)"
    strings:
        $f1 = "Class.forName(request.getParameter(" ascii wide
        $f2 = "Class.forName(request.getHeader(" ascii wide
        $f3 = "Class.forName(req.getParameter(" ascii wide
        $f4 = ".loadClass(request.getParameter(" ascii wide
        $f5 = ".loadClass(request.getHeader(" ascii wide
        $f6 = "Method(request.getParameter(" ascii wide
        $f7 = "Method(request.getHeader(" ascii wide
        $f8 = "Method(req.getParameter(" ascii wide
        $inv = ".invoke(" ascii wide
    condition:
        filesize < 2MB and jsp_code and any of ($f*) and $inv
}

/* JNDI injection from a page: InitialContext.lookup of a request-supplied name, or of an
 * ldap:// / rmi:// URL built next to request input. The lookup of such a URL makes the JVM
 * load and run a remote class (a literal ldap:// or rmi:// lookup target is completed from
 * the request). Benign pages look up fixed java:comp/env names. */
rule jsp_jndi_lookup_request
{
    meta:
        severity = "high"
        family = "jsp_class_loader"
        description = "JSP performs a JNDI lookup of a request-supplied name or ldap/rmi URL (remote class loading)"
    strings:
        $l1 = ".lookup(request.getParameter(" ascii wide
        $l2 = ".lookup(request.getHeader(" ascii wide
        $l3 = ".lookup(req.getParameter(" ascii wide
        $u1 = ".lookup(\"ldap://" ascii wide
        $u2 = ".lookup(\"rmi://" ascii wide
        $u3 = ".lookup(\"iiop://" ascii wide
        $u4 = ".lookup(\"dns://" ascii wide
        $ctx = "InitialContext" ascii wide
    condition:
        filesize < 2MB and jsp_code and $ctx and (any of ($l*) or (any of ($u*) and jsp_request_input))
}

/* Java agent injection from a page: the JSP attaches to the running JVM
 * (com.sun.tools.attach.VirtualMachine) and loads an agent, or redefines loaded classes
 * through Instrumentation: the way agent memory shells patch the servlet engine. No
 * application page attaches agents to its own server. */
rule jsp_agent_attach
{
    meta:
        severity = "high"
        family = "jsp_memory_shell"
        description = "JSP attaches a Java agent to the running JVM or redefines loaded classes (agent memory shell)"
    strings:
        $vm = "VirtualMachine" ascii wide
        $a1 = ".loadAgent(" ascii wide
        $a2 = ".loadAgentPath(" ascii wide
        $a3 = ".loadAgentLibrary(" ascii wide
        $r1 = ".redefineClasses(" ascii wide
        $r2 = ".retransformClasses(" ascii wide
    condition:
        filesize < 2MB and jsp_code and (($vm and any of ($a*)) or any of ($r*))
}

/* Deserialisation of the request body in a page: ObjectInputStream / XMLDecoder / XStream
 * over request input is a gadget-chain trigger planted as a backdoor (the payload arrives as
 * a serialized object, no shell code in the page). */
rule jsp_deserialize_request
{
    meta:
        severity = "high"
        family = "jsp_class_loader"
        description = "JSP deserialises request data with ObjectInputStream / XMLDecoder / XStream (gadget-chain backdoor)"
    strings:
        $o1 = "ObjectInputStream(request.getInputStream()" ascii wide
        $o2 = "ObjectInputStream(req.getInputStream()" ascii wide
        $x1 = "XMLDecoder(request.getInputStream()" ascii wide
        $x2 = "XMLDecoder(req.getInputStream()" ascii wide
        $x3 = "XMLDecoder(new ByteArrayInputStream(" ascii wide
        $x4 = "fromXML(request." ascii wide
        $rd = /\.readObject\s*\(/ ascii wide
        $dec = "XMLDecoder" ascii wide
        $xs = "XStream" ascii wide
    condition:
        filesize < 2MB and jsp_code and ((any of ($o*) and $rd) or (any of ($x1, $x2) and $dec) or ($x3 and jsp_request_input) or ($x4 and $xs))
}

/* Native code loaded by a page: System.load / loadLibrary / Runtime.load in a JSP that reads
 * the request (JNI shells drop a .so/.dll and load it, so the command runner is native code
 * no Java-level rule sees). */
rule jsp_native_library_load
{
    meta:
        severity = "high"
        family = "jsp_cmd_exec"
        description = "JSP loads a native library (System.load/loadLibrary) and reads request input (JNI shell)"
    strings:
        $l1 = "System.load(" ascii wide
        $l2 = "System.loadLibrary(" ascii wide
        $l3 = /getRuntime\(\)\s*\.\s*load(Library)?\s*\(/ ascii wide
    condition:
        filesize < 2MB and jsp_code and any of ($l*) and jsp_request_input
}

/* A page that writes other JSP pages: a file sink opened on a name ending in .jsp/.jspx in
 * a page that reads the request (a second-stage dropper or a "clone myself" shell).
 * Applications do not generate server pages at run time, except CMS template editors, which
 * sit behind a login: pages with a session/login check are not matched by this rule. */
rule jsp_writes_jsp_file
{
    meta:
        severity = "high"
        family = "jsp_file_writer"
        description = "JSP writes a .jsp/.jspx file and reads request input (drops server pages)"
    strings:
        $w = /(FileOutputStream|FileWriter|RandomAccessFile|PrintWriter|Files\.write|Paths\.get|new\s+File)\s*\([^;]{0,160}\.jspx?["']/ ascii wide
        $o1 = "FileOutputStream(" ascii wide
        $o2 = "FileWriter(" ascii wide
        $o3 = "Files.write(" ascii wide
        $o4 = "RandomAccessFile(" ascii wide
        $o5 = "PrintWriter(" ascii wide
        $auth1 = "session.getAttribute(" ascii wide
        $auth2 = "session.getValue(" ascii wide
        $auth3 = ".getRemoteUser(" ascii wide
        $auth4 = ".getUserPrincipal(" ascii wide
        $auth5 = ".isUserInRole(" ascii wide
    condition:
        filesize < 2MB and jsp_code and $w and any of ($o*) and jsp_request_input and not any of ($auth*)
}

/* Unicode-escaped Java source: \u0052\u0075... is decoded by the JSP compiler before parsing
 * (as is \uuuu0052: Java allows any number of u's), so shells use escaped ASCII to hide
 * Runtime/exec/request from text matching. Matched: one long run of escaped ASCII, at least
 * two runs of four escaped letters, or any escape with more than one u (JavaScript and JSON
 * have no such form). A run counts only where code goes on, after a dot, bracket, brace,
 * operator, %, ; or white space: JavaScript string literals start after a quote, and CMSs
 * that escape every character of a UI string (a benign-web ASP page writes "SDCMS" as
 * \u0053\u0044\u0043\u004d\u0053 right after the quote) are not code. Benign pages
 * otherwise escape markup characters (\u003c, \u0026), not letters. */
rule jsp_unicode_escaped_code
{
    meta:
        severity = "high"
        family = "jsp_obfuscation"
        description = "JSP with runs of \\u00XX-escaped ASCII code (compiler-decoded obfuscation)"
    strings:
        $u = /[%;.(){}=\s](\\u00[2-7][0-9a-fA-F]){16}/ ascii
        $l = /[%;.(){}=\s](\\u00([46][1-9a-fA-F]|[57][0-9aA])){4}/ ascii
        $uu = /\\uu+00[2-7][0-9a-fA-F]/ ascii
    condition:
        filesize < 2MB and jsp_code and ($u or #l >= 2 or $uu)
}

/* JSPX / JSP-document obfuscation: inside an XML scriptlet the XML parser resolves character
 * references and CDATA boundaries before Java sees the code, so "Runt&#105;me" or
 * "Run<![CDATA[]]>time" compile to Runtime. Matched: a reference to a plain ASCII letter
 * written right after a letter, dot or bracket (several of them), or an empty CDATA / CDATA
 * restart between two letters. Markup escapes in benign documents encode markup characters
 * (&#60; &#38; &#160;), not letters inside words. */
rule jspx_xml_escaped_code
{
    meta:
        severity = "high"
        family = "jsp_obfuscation"
        description = "JSPX scriptlet hides Java identifiers with XML character references or split CDATA sections"
    strings:
        $x1 = ":scriptlet" ascii
        $x2 = ":declaration" ascii
        $x3 = ":expression" ascii
        $ent = /[A-Za-z_.(]&#(x0{0,4}(4[1-9a-fA-F]|5[0-9aA]|6[1-9a-fA-F]|7[0-9aA])|0{0,4}(6[5-9]|[78][0-9]|90|9[7-9]|1[01][0-9]|12[0-2]));/ ascii
        $cd1 = /[A-Za-z]<!\[CDATA\[\]\]>[A-Za-z]/ ascii
        $cd2 = /[A-Za-z]\]\]><!\[CDATA\[[A-Za-z]/ ascii
    condition:
        filesize < 2MB and any of ($x*) and (#ent >= 3 or $cd1 or $cd2)
}

/* Writer droppers: the request chooses the file name (often under getRealPath) and supplies
 * the content, e.g. new FileOutputStream(application.getRealPath("/")+request.getParameter("f")).
 * $path/$content: a file sink opened on a request parameter and a write() of a request
 * parameter in the same page (the common two-line form: new FileOutputStream(
 * request.getParameter("p")) ... write(request.getParameter("t").getBytes())). Only write():
 * out.print(request.getParameter(..)) echoes a value into the page, which benign pages do
 * all the time. */
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
        $path = /(File|FileOutputStream|FileWriter|RandomAccessFile|PrintWriter|PrintStream)\s*\([^;]{0,80}(request|req)\.getParameter\s*\(/ ascii wide
        $content1 = ".write(request.getParameter(" ascii wide
        $content2 = ".write(req.getParameter(" ascii wide
        $content3 = ".write(new String(request.getParameter(" ascii wide
    condition:
        filesize < 2MB and (any of ($a, $b, $c, $d) or ($e and $fos) or (jsp_code and $path and any of ($content*)))
}

/* Uploader that parses the multipart body itself: reads the raw request body, looks for the
 * part's filename= and writes the bytes to a file under that client-chosen name. Benign JSP
 * upload pages hand the body to a library (commons-fileupload, SmartUpload, Part.write) and
 * check a login first; none of the benign-web pages reads the raw body and writes a file.
 * Pages with a session/login check, or that test the file type (endsWith(".jpg"),
 * equalsIgnoreCase("pdf")), are left to jsp_raw_multipart_upload_auth (medium). */
rule jsp_raw_multipart_upload
{
    meta:
        severity = "high"
        family = "jsp_uploader"
        description = "JSP parses the raw multipart body and writes the uploaded file under its client-supplied name, without a login check"
    strings:
        $body1 = "request.getInputStream(" ascii wide
        $body2 = "req.getInputStream(" ascii wide
        $body3 = "getRequest().getInputStream(" ascii wide
        $fn = "filename=" ascii wide
        $w1 = "FileOutputStream(" ascii wide
        $w2 = "RandomAccessFile(" ascii wide
        $w3 = "FileWriter(" ascii wide
        $w4 = "Files.write(" ascii wide
        $w5 = "Files.copy(" ascii wide
        $auth1 = "session.getAttribute(" ascii wide
        $auth2 = "session.getValue(" ascii wide
        $auth3 = ".getRemoteUser(" ascii wide
        $auth4 = ".getUserPrincipal(" ascii wide
        $auth5 = ".isUserInRole(" ascii wide
        $ext = /(endsWith|equalsIgnoreCase)\("\.?(jpg|jpeg|png|gif|bmp|pdf|doc|docx|xls|xlsx|txt|zip|rar)"/ nocase ascii
    condition:
        filesize < 500KB and jsp_code and any of ($body*) and $fn and any of ($w*) and not any of ($auth*) and not $ext
}

/* The same raw-body uploader behind a session check or a file-type list: still a page that
 * stores files under client-chosen names, but an application may do that for its users.
 * Alerted, not quarantined. */
rule jsp_raw_multipart_upload_auth
{
    meta:
        severity = "medium"
        family = "jsp_uploader"
        description = "JSP parses the raw multipart body and writes the uploaded file under its client-supplied name (behind a session check)"
    strings:
        $body1 = "request.getInputStream(" ascii wide
        $body2 = "req.getInputStream(" ascii wide
        $body3 = "getRequest().getInputStream(" ascii wide
        $fn = "filename=" ascii wide
        $w1 = "FileOutputStream(" ascii wide
        $w2 = "RandomAccessFile(" ascii wide
        $w3 = "FileWriter(" ascii wide
        $w4 = "Files.write(" ascii wide
        $w5 = "Files.copy(" ascii wide
    condition:
        filesize < 500KB and jsp_code and any of ($body*) and $fn and any of ($w*) and not jsp_raw_multipart_upload
}

/* Downloader: the page fetches a URL named by the request and stores it on the server
 * (new URL(request.getParameter("u")).openStream() into a FileOutputStream). A dropper's
 * first stage; an application's "import from URL" page does the same, hence medium. */
rule jsp_url_download_to_file
{
    meta:
        severity = "medium"
        family = "jsp_file_writer"
        description = "JSP downloads a request-supplied URL into a server file"
    strings:
        $u1 = "URL(request.getParameter(" ascii wide
        $u2 = "URL(req.getParameter(" ascii wide
        $o1 = ".openStream(" ascii wide
        $o2 = ".openConnection(" ascii wide
        $w1 = "FileOutputStream(" ascii wide
        $w2 = "RandomAccessFile(" ascii wide
        $w3 = "FileWriter(" ascii wide
        $w4 = "Files.write(" ascii wide
        $w5 = "Files.copy(" ascii wide
    condition:
        filesize < 2MB and jsp_code and any of ($u*) and any of ($o*) and any of ($w*)
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
        filesize < 2MB and jsp_code and any of ($list*) and (
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

/* TCP tunnels through the web server (reGeorg / Neo-reGeorg / suo5 style): the page opens a
 * socket to a host and port taken from the request, keeps it between requests (session,
 * application, or a static map), and relays the request body into it. Benign pages do not
 * open raw sockets to client-chosen addresses, let alone park them across requests. */
rule jsp_socket_tunnel
{
    meta:
        severity = "high"
        family = "jsp_tunnel"
        description = "JSP relays request data to a TCP socket opened to a request-chosen address and kept in the session (reGeorg-style tunnel)"
    strings:
        $s1 = "SocketChannel.open(" ascii wide
        $s2 = "new Socket(" ascii wide
        $s3 = "new java.net.Socket(" ascii wide
        $addr = "InetSocketAddress(" ascii wide
        $keep1 = ".setAttribute(" ascii wide
        $keep2 = ".putValue(" ascii wide
        $keep3 = ".put(" ascii wide
        $body1 = "request.getInputStream(" ascii wide
        $body2 = "request.getReader(" ascii wide
        $body3 = "req.getInputStream(" ascii wide
        $body4 = "req.getReader(" ascii wide
        $body5 = "getRequest().getInputStream(" ascii wide
        $relay1 = "getOutputStream().write(" ascii wide
        $relay2 = "ByteBuffer.wrap(" ascii wide
    condition:
        filesize < 2MB and jsp_code and any of ($s*) and $addr and any of ($keep*) and any of ($body*) and any of ($relay*) and jsp_request_input
}

/* Database browsers: JDBC connection built from request parameters and arbitrary SQL from
 * the request executed; or the page lists every table and dumps the one the request names
 * ("select * from " + request.getParameter("table")). */
rule jsp_db_browser
{
    meta:
        severity = "high"
        family = "jsp_db_browser"
        description = "JSP database browser: JDBC connection and SQL text taken from request parameters"
    strings:
        $c = "DriverManager.getConnection(" ascii
        $q1 = /\.(executeQuery|execute|executeUpdate)\s*\(\s*request\.getParameter/ ascii
        $q2 = /getConnection\s*\(\s*request\.getParameter/ ascii
        $q3 = /Class\.forName\s*\(\s*request\.getParameter/ ascii
        $meta = ".getMetaData()" ascii
        $req = ".getParameter(" ascii
        $ta = "<textarea" ascii nocase
        $dump = /"\s*select\s+\*\s+from\s+"\s*\+\s*request\.getParameter\s*\(/ ascii nocase
        $t1 = "all_tables" ascii nocase
        $t2 = "information_schema" ascii nocase
        $t3 = "show tables" ascii nocase
        $t4 = "sysobjects" ascii nocase
        $t5 = ".getTables(" ascii
        $t6 = "user_tables" ascii nocase
    condition:
        filesize < 2MB and jsp_code and $c and (any of ($q*) or ($meta and $ta and #req > 3) or ($dump and any of ($t*)))
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

/* Memory-shell injectors: a JSP registers a new filter, servlet, listener, valve or WebSocket
 * endpoint in the running container. They reach the container's internals (Tomcat's
 * StandardContext / ApplicationContext / filterConfigs, Spring's handler mapping) and call a
 * registration method, or force ServletContext.addFilter/addServlet/addListener to work after
 * start-up by resetting the context state (LifecycleState). Legitimate applications register
 * components at deploy time in web.xml / annotations / initialisers, never from a page; no
 * benign-web or Tomcat example page touches these internals. Reading them (filterConfigs,
 * as memory-shell scanners do) is not registration and does not count. */
rule jsp_runtime_endpoint_registration
{
    meta:
        severity = "high"
        family = "jsp_memory_shell"
        description = "JSP registers a WebSocket endpoint/servlet/filter/listener/valve into the running container (memory shell or tunnel)"
    strings:
        $a1 = /ServerEndpointConfig\.Builder\.create\s*\(/ ascii wide
        $a2 = "javax.websocket.server.ServerContainer" ascii wide
        $a3 = ".addEndpoint(" ascii wide
        $a4 = "jakarta.websocket.server.ServerContainer" ascii wide
        $b1 = "addFilterDef(" ascii wide
        $b2 = "addFilterMapBefore(" ascii wide
        $b3 = "addServletMappingDecoded(" ascii wide
        $b4 = "addServletMapping(" ascii wide
        $b6 = "addFilterMap(" ascii wide
        $b7 = "addApplicationEventListener(" ascii wide
        $b8 = "getPipeline().addValve(" ascii wide
        $b9 = "createWrapper(" ascii wide
        $b10 = ".registerMapping(" ascii wide
        $i1 = "StandardContext" ascii wide
        $i2 = "ApplicationContextFacade" ascii wide
        $i3 = "org.apache.catalina.core" ascii wide
        $i4 = "RequestMappingHandlerMapping" ascii wide
        $i5 = "WebappClassLoaderBase" ascii wide
        $s1 = "LifecycleState" ascii wide
        $s2 = ".addFilter(" ascii wide
        $s3 = ".addServlet(" ascii wide
        $s4 = ".addListener(" ascii wide
    condition:
        filesize < 2MB and jsp_code and (
            (($a1 or $a2 or $a4) and $a3)
            or (any of ($i*) and any of ($b*))
            or ($s1 and any of ($s2, $s3, $s4))
        )
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
        $w1 = "new FileOutputStream(" ascii wide
        $w2 = "new FileWriter(" ascii wide
        $w3 = /new\s+PrintWriter\s*\(\s*(new\s+File\s*\()?\w{1,20}\s*\)/ ascii wide
        $ta = "<textarea" ascii wide nocase
        $rp = "getRealPath(" ascii wide
        $req = "request.getParameter(" ascii wide
    condition:
        filesize < 200KB and jsp_code and any of ($w*) and $ta and $rp and #req >= 2
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

/* Search-engine cloaking / content injection: a small page reads the visitor's User-Agent or
 * Referer (or names search-engine crawlers) and prints what it fetched from a fixed remote
 * URL. Dropped on compromised sites to serve spam to crawlers from the site's reputation.
 * Benign pages that proxy a remote feed do not look at the crawler's identity; medium, as
 * the page runs nothing on the server. */
rule jsp_remote_content_injector
{
    meta:
        severity = "medium"
        family = "seo_cloaking"
        description = "Small JSP that checks the visitor's User-Agent/Referer and prints content fetched from a hard-coded remote URL (SEO spam injector)"
    strings:
        $url1 = "\"http://" ascii
        $url2 = "\"https://" ascii
        $new1 = "new URL(" ascii
        $new2 = "new java.net.URL(" ascii
        $open1 = ".openConnection(" ascii
        $open2 = ".openStream(" ascii
        $print = "out.print" ascii
        $ua1 = "getHeader(\"user-agent\")" ascii nocase
        $ua2 = "getHeader(\"referer\")" ascii nocase
        $bot1 = "Baiduspider" ascii nocase
        $bot2 = "Googlebot" ascii nocase
        $bot3 = "Sogou" ascii nocase
        $bot4 = "360Spider" ascii nocase
        $bot5 = "bingbot" ascii nocase
        $bot6 = "YisouSpider" ascii nocase
    condition:
        filesize < 16KB and jsp_code and any of ($url*) and any of ($new*) and any of ($open*) and $print and (any of ($ua*) or any of ($bot*))
}
