package phpscan

import (
	"strconv"
	"strings"
)

// callbackSpec says where a callback-taking function finds its callback
// and what it passes it.
type callbackSpec struct {
	cb   int // index of the callback argument
	data int // index of the first data argument, -1 for none
	// spread: the data argument is an array whose elements are the
	// callback's arguments (call_user_func_array); elems: the callback
	// gets an element of each data array (array_map, usort).
	spread, elems bool
}

var callbacks = map[string]callbackSpec{
	"call_user_func":             {cb: 0, data: 1},
	"call_user_func_array":       {cb: 0, data: 1, spread: true},
	"forward_static_call":        {cb: 0, data: 1},
	"forward_static_call_array":  {cb: 0, data: 1, spread: true},
	"register_shutdown_function": {cb: 0, data: 1},
	"register_tick_function":     {cb: 0, data: 1},
	"array_map":                  {cb: 0, data: 1, elems: true},
	"array_filter":               {cb: 1, data: 0, elems: true},
	"array_walk":                 {cb: 1, data: 0, elems: true},
	"array_walk_recursive":       {cb: 1, data: 0, elems: true},
	"usort":                      {cb: 1, data: 0, elems: true},
	"uasort":                     {cb: 1, data: 0, elems: true},
	"uksort":                     {cb: 1, data: 0, elems: true},
	"array_reduce":               {cb: 1, data: 0, elems: true},
	"iterator_apply":             {cb: 1, data: 2, spread: true},
	"preg_replace_callback":      {cb: 1, data: 2, elems: true},
	"mb_ereg_replace_callback":   {cb: 1, data: 2, elems: true},
	"ob_start":                   {cb: 0, data: -1},
	"set_error_handler":          {cb: 0, data: -1},
	"set_exception_handler":      {cb: 0, data: -1},
	"spl_autoload_register":      {cb: 0, data: -1},
	"header_register_callback":   {cb: 0, data: -1},
	"array_udiff":                {cb: 2, data: 0, elems: true},
	"array_uintersect":           {cb: 2, data: 0, elems: true},
	"array_diff_ukey":            {cb: 2, data: 0, elems: true},
	"array_intersect_ukey":       {cb: 2, data: 0, elems: true},
}

// commandSinks run their first argument as a command.
var commandSinks = setOf("system", "exec", "shell_exec", "passthru", "popen", "proc_open", "pcntl_exec", "expect_popen")

// builtin calls one of PHP's functions (or one the file uses but does not
// declare).
func (a *analyzer) builtin(line int, name string, args []arg, sc *scope, dyn *Value) Value {
	vals := values(args)
	if spec, ok := callbacks[name]; ok {
		return a.runCallback(line, name, spec, args, sc)
	}
	if commandSinks[name] {
		cmd := argAt(args, 0)
		if name == "pcntl_exec" || cmd.k == kArray {
			// pcntl_exec($path, $args) and proc_open([$prog, …]): any
			// part of the command line.
			cmd = mix(vals...)
		}
		a.commandSink(line, name, cmd)
		if name == "proc_open" || name == "popen" {
			a.reverseShellSpec(line, name, argAt(args, 1), cmd)
		}
		return mix(cmd)
	}
	switch name {
	case "assert":
		v := argAt(args, 0)
		if v.k == kStr || v.taint != nil || len(v.cands) > 0 || v.has(fDecoded|fChars) {
			a.codeSink(line, "assert", v, sc)
		}
		return Value{}
	case "create_function":
		body := argAt(args, 1)
		a.codeSink(line, "create_function", body, sc)
		if t := argAt(args, 0).deepTaint(); t != nil {
			a.report(RuleRequestCodeExec, line, "create_function", t.step(line, "the parameter list of create_function"), "")
		}
		return Value{k: kClosure, fn: &callable{}}
	case "preg_replace", "preg_filter", "mb_ereg_replace", "mb_eregi_replace":
		return a.pregReplace(line, name, args, sc)
	case "mail", "mb_send_mail":
		a.mailSink(line, args)
		return Value{}
	case "file_put_contents":
		a.fileWrite(line, name, argAt(args, 0), argAt(args, 1), sc)
		return Value{}
	case "fwrite", "fputs", "gzwrite", "gzputs":
		stream, data := argAt(args, 0), argAt(args, 1)
		switch {
		case stream.k == kObject && stream.cls == "socket":
			a.sendSink(line, name, data, stream)
		case stream.k == kObject && stream.fn != nil && stream.fn.target != nil:
			a.fileWrite(line, name, *stream.fn.target, data, sc)
		default:
			a.fileWrite(line, name, stream, data, sc)
		}
		return Value{}
	case "fopen", "gzopen", "bzopen":
		return a.openStream(line, argAt(args, 0), argAt(args, 1))
	case "fread", "fgets", "fgetss", "fgetc", "stream_get_contents", "stream_get_line", "fscanf", "socket_read", "socket_recv", "gzread":
		s := argAt(args, 0)
		v := mix(s)
		if s.k == kObject && (s.cls == "socket" || s.has(fRemote)) {
			v.flags |= fRemote
		}
		return v
	case "unlink", "rmdir", "chmod", "chown", "chgrp", "touch", "highlight_file", "show_source", "symlink", "link":
		a.fileAccess(line, name, argAt(args, 0))
		return Value{}
	case "file_get_contents", "file", "readfile", "gzfile", "fpassthru":
		p := argAt(args, 0)
		if name != "fpassthru" {
			a.fileAccess(line, name, p)
		}
		st := a.openStream(line, p, str("r"))
		v := mix(st)
		if name == "file_get_contents" && len(args) > 2 {
			a.sendSink(line, name, argAt(args, 2), p)
		}
		if p.taint == nil && v.taint == nil {
			v.taint = nil
		}
		return v
	case "move_uploaded_file":
		dest := argAt(args, 1)
		if t := dest.deepTaint(); t != nil && dest.pre == "" {
			a.report(RuleUploadToRequestPath, line, name, t.step(line, "the destination of move_uploaded_file"), "")
		} else if t != nil && dest.has(fFileName) && dest.suf == "" && !a.checksUploads() {
			a.report(RuleUploadKeepsName, line, name, t.step(line, "the end of the destination of move_uploaded_file"), "")
		} else if anyString(dest, phpExtension) && argAt(args, 0).deepTaint() != nil {
			a.report(RuleRequestFileWrite, line, name, argAt(args, 0).deepTaint().step(line, "an uploaded file moved to a script path"), "")
		}
		return Value{}
	case "copy", "rename":
		src, dest := argAt(args, 0), argAt(args, 1)
		if name == "rename" {
			a.fileAccess(line, name, src)
		}
		switch {
		case src.has(fUpload):
			// An uploaded file copied into place.
			if t := dest.deepTaint(); t != nil && dest.pre == "" {
				a.report(RuleUploadToRequestPath, line, name, t.step(line, "the destination of %s", name), "")
			} else if t != nil && dest.has(fFileName) && dest.suf == "" && !a.checksUploads() {
				a.report(RuleUploadKeepsName, line, name, t.step(line, "the end of the destination of %s", name), "")
			}
		case name == "copy":
			// copy() writes what its source holds: a URL's content, or
			// a file the request names.
			content := Value{taint: src.deepTaint(), flags: src.flags & carried}
			if anyString(src, isURL) || isURL(src.pre) {
				content.flags |= fRemote
				if dest.deepTaint() != nil || anyString(dest, phpExtension) {
					a.report(RuleRemoteFileDrop, line, name, nil, "copies "+strconv.Quote(shorten(strings.Join(src.strings(), " "), 80)))
				}
			}
			if content.taint != nil && src.pre != "" {
				content.pre = src.pre
			}
			a.fileWrite(line, name, dest, content, sc)
		}
		return Value{}
	case "fsockopen", "pfsockopen", "stream_socket_client":
		host := argAt(args, 0)
		a.connectSink(line, name, host)
		return Value{k: kObject, cls: "socket", flags: fRemote}
	case "socket_connect":
		a.connectSink(line, name, argAt(args, 1))
		return boolean(true)
	case "socket_create":
		return Value{k: kObject, cls: "socket", flags: fRemote}
	case "socket_write", "socket_send", "stream_socket_sendto":
		a.sendSink(line, name, argAt(args, 1), argAt(args, 0))
		return Value{}
	case "curl_init":
		u := argAt(args, 0)
		a.sendSink(line, name, u, u)
		h := Value{k: kObject, cls: "curl", fn: &callable{target: &u}, flags: u.flags & (fDecoded | fChars)}
		if u.has(fIdentity) && (isURL(u.pre) || u.k == kStr && isURL(u.s)) {
			h.flags |= fRelay
		}
		return h
	case "curl_setopt":
		h, opt, v := argAt(args, 0), argAt(args, 1), argAt(args, 2)
		a.curlOption(line, h, opt, v, args, sc)
		return boolean(true)
	case "curl_setopt_array":
		h, opts := argAt(args, 0), argAt(args, 1)
		if opts.k == kArray {
			for _, k := range opts.arr.keys {
				a.curlOption(line, h, keyValue(k), opts.arr.vals[k], nil, sc)
			}
		}
		return boolean(true)
	case "curl_exec", "curl_multi_getcontent":
		v := Value{flags: fRemote}
		if h := argAt(args, 0); h.has(fRelay) {
			v.flags |= fRelay
		}
		return v
	case "stream_context_create":
		v := mix(vals...)
		v.k = kObject
		v.cls = "context"
		if len(vals) > 0 && vals[0].k == kArray {
			v.flags |= vals[0].arr.flags()
			v.taint = firstTaint(v.taint, vals[0].deepTaint())
		}
		return v
	case "mysql_connect", "mysqli_connect", "mysql_pconnect", "pg_connect", "mssql_connect", "sqlsrv_connect", "oci_connect", "mysqli_real_connect":
		for _, v := range vals[:min(len(vals), 3)] {
			if t := v.deepTaint(); t != nil && v.pre == "" {
				a.report(RuleRequestSQL, line, name, t.step(line, "a connection parameter of %s", name), "")
				break
			}
		}
		return Value{k: kObject, cls: "db"}
	case "dl":
		if t := argAt(args, 0).deepTaint(); t != nil {
			a.report(RuleRequestCodeExec, line, name, t.step(line, "an extension loaded by dl()"), "")
		}
		return Value{}
	case "extract":
		v := argAt(args, 0)
		if v.k == kArray && v.taint == nil && v.arr.rest == nil {
			for _, k := range v.arr.keys {
				a.setVar(sc, k, v.arr.vals[k])
			}
			return Value{}
		}
		if t := v.deepTaint(); t != nil {
			sc.havoc = t.step(line, "extract()")
		}
		return Value{}
	case "parse_str", "mb_parse_str":
		v := argAt(args, 0)
		t := v.deepTaint()
		if len(args) < 2 {
			if t != nil {
				sc.havoc = t.step(line, "%s()", name)
			}
			return Value{}
		}
		if args[1].node != nil {
			out := newArray()
			if t != nil {
				r := tainted(t.step(line, "%s()", name))
				out.rest = &r
			}
			a.assign(args[1].node, Value{k: kArray, arr: out}, sc, line)
		}
		return Value{}
	case "import_request_variables":
		sc.havoc = newSource(line, "import_request_variables()")
		return Value{}
	case "define":
		if n, ok := argAt(args, 0).toStr(); ok {
			a.consts[n] = argAt(args, 1)
		}
		return boolean(true)
	case "constant":
		if n, ok := argAt(args, 0).toStr(); ok {
			return a.constant(n)
		}
		return Value{}
	case "getallheaders", "apache_request_headers":
		return tainted(newSource(line, name+"()"))
	case "get_defined_vars":
		return tainted(newSource(line, name+"()"))
	case "getenv", "apache_getenv":
		if k, ok := argAt(args, 0).toStr(); ok && serverKeyTainted(k) {
			v := tainted(newSource(line, "getenv('"+shorten(k, 60)+"')"))
			v.flags |= keyFlags(k)
			return v
		}
		return Value{}
	case "filter_input":
		k, _ := argAt(args, 1).toStr()
		v := tainted(newSource(line, "filter_input(…, '"+shorten(k, 60)+"')"))
		v.flags |= keyFlags(k)
		return v
	case "filter_input_array":
		return tainted(newSource(line, name+"()"))
	case "func_get_args":
		arr := newArray()
		for p := range sc.params {
			v, _ := sc.get(p)
			arr.push(v)
		}
		return Value{k: kArray, arr: arr}
	case "func_get_arg":
		var out Value
		for p := range sc.params {
			v, _ := sc.get(p)
			out = join(out, v)
		}
		return out
	case "compact":
		arr := newArray()
		for _, v := range vals {
			if n, ok := v.toStr(); ok {
				arr.set(n, a.readVar(n, sc, line))
			}
		}
		return Value{k: kArray, arr: arr}
	case "array_push", "array_unshift":
		if len(args) > 0 && args[0].node != nil {
			base := args[0].v
			for _, x := range args[1:] {
				v := x.v
				base = setElement(base, nil, v)
			}
			a.assign(args[0].node, base, sc, line)
		}
		return Value{}
	case "array_pop", "array_shift":
		v := argAt(args, 0)
		if v.k == kArray && len(v.arr.keys) > 0 && len(args) > 0 && args[0].node != nil {
			arr := newArray()
			var out Value
			keys := v.arr.keys
			var take string
			if name == "array_pop" {
				take = keys[len(keys)-1]
			} else {
				take = keys[0]
			}
			for _, k := range keys {
				if k == take {
					out = v.arr.vals[k]
					continue
				}
				if name == "array_shift" {
					arr.push(v.arr.vals[k])
				} else {
					arr.set(k, v.arr.vals[k])
				}
			}
			a.assign(args[0].node, Value{k: kArray, arr: arr}, sc, line)
			return out
		}
		return a.element(v, Value{}, nil, line)
	case "preg_match", "preg_match_all":
		if len(args) > 2 && args[2].node != nil {
			subj := argAt(args, 1)
			out := newArray()
			r := mix(subj)
			out.rest = &r
			a.assign(args[2].node, Value{k: kArray, arr: out}, sc, line)
		}
		return Value{}
	case "scandir", "glob":
		return arrayOf(Value{flags: fListed})
	case "readdir":
		return Value{flags: fListed}
	case "ereg_replace", "eregi_replace":
		return mix(argAt(args, 1), argAt(args, 2))
	case "preg_split", "preg_grep":
		return arrayOf(mix(argAt(args, 1)))
	case "array_fill":
		return arrayOf(argAt(args, 2))
	case "printf", "vprintf":
		out := a.sprintf(argAt(args, 0), vals[min(1, len(vals)):])
		if name == "vprintf" {
			out = mix(vals...)
		}
		a.echo(mix(vals...), line)
		return out
	case "function_exists", "is_callable", "method_exists", "class_exists", "is_file", "file_exists", "is_dir",
		"is_writable", "is_readable", "in_array", "is_array", "is_string", "is_numeric", "isset", "strcmp", "strcasecmp",
		"is_uploaded_file", "ctype_digit", "ctype_alpha", "ctype_alnum", "hash_equals", "password_verify", "preg_quote",
		"htmlspecialchars", "htmlentities", "strip_tags", "escapeshellarg", "intval", "floatval", "boolval", "time",
		"microtime", "rand", "mt_rand", "uniqid", "date", "filesize", "filemtime", "fileperms", "count", "sizeof",
		"strlen", "mb_strlen", "md5_file", "sha1_file", "basename_safe", "array_key_exists", "key_exists":
		return a.fold1(name, vals)
	case "mkdir", "header", "setcookie", "session_start", "error_reporting",
		"set_time_limit", "ignore_user_abort", "ini_set", "ini_get", "flush", "ob_end_clean", "ob_get_clean",
		"fclose", "closedir", "opendir", "chdir", "getcwd", "phpinfo", "php_uname",
		"posix_getpwuid", "posix_geteuid", "disk_free_space", "sleep", "usleep":
		return Value{}
	}
	if v, ok := a.foldBuiltin(line, name, vals); ok {
		return v
	}
	a.runClosureArgs(line, args, sc)
	return mixFirst(vals)
}

func isURL(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "ftp://") || strings.HasPrefix(l, "//")
}

// openStream is what fopen(path) gives: request input for php://input,
// network input for a URL, a file handle that remembers its path.
func (a *analyzer) openStream(line int, p, mode Value) Value {
	if m, ok := mode.toStr(); ok && strings.HasPrefix(m, "r") && !strings.Contains(m, "+") {
		a.fileAccess(line, "fopen", p)
	}
	v := Value{k: kObject, cls: "stream"}
	target := p
	v.fn = &callable{target: &target}
	for _, s := range p.strings() {
		l := strings.ToLower(strings.TrimSpace(s))
		switch {
		case strings.HasPrefix(l, "php://input"):
			v.taint = newSource(line, "php://input")
		case isURL(l):
			v.flags |= fRemote
			a.sendSink(line, "a URL opened", p, p)
		}
	}
	if p.has(fIdentity) && (isURL(p.pre) || p.k == kStr && isURL(p.s)) {
		v.flags |= fRemote | fRelay
	}
	if p.pre != "" && isURL(p.pre) {
		v.flags |= fRemote
		a.sendSink(line, "a URL opened", p, p)
	}
	if p.taint != nil {
		v.taint = firstTaint(v.taint, p.taint.step(line, "a file opened by its name"))
	}
	return v
}

// curlOption follows curl_setopt: a URL the request chooses, card fields
// posted.
func (a *analyzer) curlOption(line int, h, opt, v Value, args []arg, sc *scope) {
	o, _ := opt.toInt()
	switch o {
	case 10002: // CURLOPT_URL
		a.sendSink(line, "curl_setopt(CURLOPT_URL)", v, v)
		if len(args) > 0 && args[0].node != nil && h.k == kObject {
			h.flags |= v.flags & (fDecoded | fChars)
			if v.has(fIdentity) && (isURL(v.pre) || v.k == kStr && isURL(v.s)) {
				h.flags |= fRelay
			}
			a.assign(args[0].node, h, sc, line)
		}
	case 10015: // CURLOPT_POSTFIELDS
		dest := h
		a.sendSink(line, "curl_setopt(CURLOPT_POSTFIELDS)", v, dest)
	}
}

// reverseShellSpec finds proc_open's descriptors tied to a socket.
func (a *analyzer) reverseShellSpec(line int, name string, spec, cmd Value) {
	if spec.k != kArray {
		return
	}
	for _, v := range spec.arr.values() {
		if v.k == kObject && v.cls == "socket" {
			a.report(RuleReverseShell, line, name, nil, "the command's descriptors are a network socket")
			return
		}
	}
}

// runCallback calls a callback-taking function's callback with what it
// would pass, and returns what is known of the result.
func (a *analyzer) runCallback(line int, name string, spec callbackSpec, args []arg, sc *scope) Value {
	cb := argAt(args, spec.cb)
	how := "the callback of " + name
	var cbArgs []arg
	switch {
	case spec.data < 0:
		cbArgs = []arg{{v: Value{}}}
	case spec.spread:
		d := argAt(args, spec.data)
		if d.k == kArray {
			for _, e := range d.arr.values() {
				cbArgs = append(cbArgs, arg{v: e})
			}
		} else if d.deepTaint() != nil {
			cbArgs = []arg{{v: mix(d)}}
		}
	case spec.elems:
		d := argAt(args, spec.data)
		// array_map('chr', [115, 121, …]) and the like: called per
		// element, so the result is known.
		if name == "array_map" && d.k == kArray && d.arr.rest == nil && len(d.arr.keys) <= 512 && len(args) == 2 && (cb.k == kStr || cb.k == kClosure) {
			out := newArray()
			for _, k := range d.arr.keys {
				out.set(k, a.callValue(line, cb, []arg{{v: d.arr.vals[k]}}, sc, how))
			}
			return Value{k: kArray, arr: out}
		}
		e := a.element(d, Value{}, nil, line)
		if d.k != kArray && d.deepTaint() != nil {
			e = tainted(d.deepTaint().step(line, "an element given to %s", how))
		}
		cbArgs = []arg{{v: e}, {v: e}}
		if name == "array_walk" || name == "array_walk_recursive" {
			cbArgs = []arg{{v: e}, {v: mix(d)}, {v: argAt(args, 2)}}
		}
		if name == "array_reduce" {
			cbArgs = []arg{{v: argAt(args, 2)}, {v: e}}
		}
		if name == "array_map" {
			cbArgs = cbArgs[:0]
			for _, x := range args[1:] {
				cbArgs = append(cbArgs, arg{v: a.element(x.v, Value{}, nil, line).withTaint(x.v.deepTaint())})
			}
		}
	default:
		for _, x := range args[spec.data:] {
			cbArgs = append(cbArgs, arg{v: x.v})
		}
	}
	r := a.callValue(line, cb, cbArgs, sc, how)
	switch name {
	case "array_map", "array_filter":
		out := newArray()
		rv := r
		if name == "array_filter" {
			rv = a.element(argAt(args, 0), Value{}, nil, line)
		}
		out.rest = &rv
		return Value{k: kArray, arr: out}
	case "preg_replace_callback", "mb_ereg_replace_callback":
		return mix(r, argAt(args, 2))
	}
	return r
}

// pregReplace folds preg_replace of known strings and finds the /e
// modifier, which runs the replacement as PHP code.
func (a *analyzer) pregReplace(line int, name string, args []arg, sc *scope) Value {
	pat, rep, subj := argAt(args, 0), argAt(args, 1), argAt(args, 2)
	evalMode := false
	var pats []string
	if pat.k == kArray {
		for _, v := range pat.arr.values() {
			pats = append(pats, v.strings()...)
		}
	} else {
		pats = pat.strings()
	}
	for _, p := range pats {
		if strings.HasPrefix(name, "mb_") {
			continue
		}
		if m := pregModifiers(p); strings.Contains(m, "e") {
			evalMode = true
		}
	}
	if strings.HasPrefix(name, "mb_") {
		if o, ok := argAt(args, 3).toStr(); ok && strings.Contains(o, "e") {
			evalMode = true
		}
	}
	if evalMode {
		a.fold(line, "preg_replace pattern with /e", strings.Join(pats, " "))
		a.codeSink(line, name+" /e", rep, sc)
		if t := subj.deepTaint(); t != nil {
			a.report(RuleRequestCodeExec, line, name+" /e", t.step(line, "the subject of %s /e, whose matches are run as code", name), "")
		} else if pat.deepTaint() == nil && rep.deepTaint() == nil {
			a.report(RuleDecodedCodeExec, line, name+" /e", nil, "the /e modifier runs the replacement as PHP code")
		}
		if t := pat.deepTaint(); t != nil {
			a.report(RuleRequestCodeExec, line, name, t.step(line, "the pattern of %s", name), "")
		}
		return Value{}
	}
	// preg_replace('/[^a-z0-9_.-]/i', '', $x) keeps only safe
	// characters: what is left is no longer code or a path.
	if p, ok := pat.toStr(); ok && pat.k == kStr && rep.k == kStr && rep.s == "" && strippingPattern(p) && subj.k != kStr {
		return Value{}
	}
	if pat.k == kStr && rep.k == kStr && subj.k == kStr {
		if out, ok := pregReplaceString(pat.s, rep.s, subj.s, a.opts.MaxString); ok {
			return str(out).with(fBuilt | fChars | subj.flags | rep.flags)
		}
	}
	return mix(rep, subj).with(fBuilt)
}
