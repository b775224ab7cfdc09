package phpscan

import (
	"regexp"
	"strconv"
	"strings"
)

// report records a finding once per rule, line and sink.
func (a *analyzer) report(r Rule, line int, sink string, t *taint, detail string) {
	key := r.Name + "\x00" + strconv.Itoa(line) + "\x00" + sink
	if a.seen[key] || len(a.res.Findings) >= maxFindings {
		return
	}
	a.seen[key] = true
	f := Finding{Rule: r, Line: line, Sink: sink, Detail: detail}
	if t != nil {
		f.Path = t.path()
	}
	if a.nest > 0 {
		if f.Detail != "" {
			f.Detail += "; "
		}
		f.Detail += "inside code decoded at run time (depth " + strconv.Itoa(a.nest) + ")"
	}
	a.res.Findings = append(a.res.Findings, f)
}

const maxFindings = 200

// fold records a string the analyzer computed, for explain.
func (a *analyzer) fold(line int, how, value string) {
	if len(a.res.Folded) >= 64 {
		return
	}
	v := shorten(value, maxFoldedShown)
	for _, f := range a.res.Folded {
		if f.Line == line && f.Value == v {
			return
		}
	}
	a.res.Folded = append(a.res.Folded, Folded{Line: line, How: how, Value: v})
}

// hiddenDangerous are functions whose name, built at run time, hides code
// or command execution, a callback runner or a file writer.
var hiddenDangerous = setOf("assert", "create_function", "system", "exec", "shell_exec", "passthru", "popen",
	"proc_open", "pcntl_exec", "call_user_func", "call_user_func_array", "array_map", "array_filter",
	"array_walk", "usort", "uasort", "uksort", "register_shutdown_function", "register_tick_function",
	"preg_replace", "preg_replace_callback", "file_put_contents", "fwrite", "fputs", "fopen",
	"move_uploaded_file", "copy", "include", "require", "eval", "forward_static_call", "iterator_apply",
	"ob_start", "mail", "fsockopen", "curl_exec", "curl_init", "file_get_contents", "array_reduce",
	"set_error_handler", "dl", "putenv", "unserialize", "extract", "parse_str", "getallheaders")

// hiddenDecoders are decoders whose name, built at run time, hides that a
// payload is decoded (some themes do it to pass naive checks: medium).
var hiddenDecoders = setOf("base64_decode", "gzinflate", "gzuncompress", "gzdecode", "str_rot13", "strrev",
	"hex2bin", "convert_uudecode", "pack", "urldecode", "rawurldecode", "bzdecompress", "zlib_decode")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// codeSink is PHP code execution of v (eval, assert, create_function's
// body, preg_replace /e's replacement).
func (a *analyzer) codeSink(line int, sink string, v Value, sc *scope) {
	if t := v.deepTaint(); t != nil {
		a.report(RuleRequestCodeExec, line, sink, t.step(line, "executed as PHP code by %s", sink), "")
		return
	}
	if a.unsetReachesSink(v) {
		a.report(RuleRegisterGlobals, line, sink, nil, "")
	}
	hidden := v.has(fDecoded | fChars)
	for _, code := range v.strings() {
		if hidden {
			a.fold(line, "code run by "+sink, code)
		}
		a.nested(line, code, true, sc)
	}
	switch {
	case v.has(fRemote):
		a.report(RuleRemoteCodeExec, line, sink, nil, "")
	case hidden:
		detail := ""
		if s := v.strings(); len(s) > 0 {
			detail = "runs " + strconv.Quote(shorten(s[0], 80))
		}
		a.report(RuleDecodedCodeExec, line, sink, nil, detail)
	}
}

// includeSink is include/require of path v.
func (a *analyzer) includeSink(line int, v Value, sc *scope) {
	if t := v.deepTaint(); t != nil {
		switch {
		case v.has(fUpload):
			a.report(RuleRequestCodeExec, line, "include", t.step(line, "an uploaded file included as code"), "")
		case v.pre == "" && v.suf == "":
			a.report(RuleRequestCodeExec, line, "include", t.step(line, "included as a path"), "")
		}
		return
	}
	for _, p := range v.strings() {
		lp := strings.ToLower(strings.TrimSpace(p))
		switch {
		case strings.HasPrefix(lp, "php://input"):
			a.report(RuleRequestCodeExec, line, "include", newSource(line, "php://input").step(line, "included as code"), "")
		case strings.HasPrefix(lp, "data:"):
			if _, payload, ok := strings.Cut(p, ","); ok {
				code := payload
				if strings.Contains(strings.ToLower(p[:strings.Index(p, ",")]), "base64") {
					code, _ = decodeBase64(payload)
				}
				a.fold(line, "data: URI included", code)
				a.nested(line, code, false, sc)
				a.report(RuleDecodedCodeExec, line, "include of a data: URI", nil, "")
			}
		case strings.HasPrefix(lp, "http://") || strings.HasPrefix(lp, "https://") || strings.HasPrefix(lp, "ftp://"):
			a.report(RuleRemoteCodeExec, line, "include of "+shorten(p, 80), nil, "")
		}
	}
	if v.has(fRemote) {
		a.report(RuleRemoteCodeExec, line, "include", nil, "")
	}
}

var schemeOnly = regexp.MustCompile(`^[a-zA-Z]+://$`)

// Commands that fetch and run code, or hand a shell to the network.
var (
	downloadAndRun = regexp.MustCompile(`(?i)\b(wget|curl|fetch|lwp-download|lynx\s+-source|GET)\b[^\n]{0,200}?(\|\s*(ba|z|k|da)?sh\b|\|\s*perl\b|\|\s*python|\|\s*php\b|;\s*(perl|python\d?|php|sh|bash)\s+\S|&&\s*(perl|python\d?|php|sh|bash)\s+\S|chmod\s+\+?[0-7]*x?\S*\s)`)
	persistence    = regexp.MustCompile(`(?i)\|\s*crontab\b|\bLD_PRELOAD\s*=|\bat\s+now\b|\bchattr\s+\+i\b`)
	reverseShell   = regexp.MustCompile(`(?i)/dev/(tcp|udp)/|\bnc(at)?\b[^\n|;]{0,60}\s-[a-z]*[ec]\b|mkfifo[^\n]{0,80}\bnc\b|socat\b[^\n]{0,80}exec:|\bsh\s+-i\b[^\n]{0,40}[<>]&\s*\d|<&\s*\d+\s*>&\s*\d+`)
)

// commandSink is an operating-system command v.
func (a *analyzer) commandSink(line int, sink string, v Value) {
	if t := v.deepTaint(); t != nil {
		a.report(RuleRequestCommandExec, line, sink, t.step(line, "run as a command by %s", sink), "")
		return
	}
	if a.unsetReachesSink(v) {
		a.report(RuleRegisterGlobals, line, sink, nil, "")
	}
	// The command's text: what it is, or the parts known of it (the
	// start and end around a value the file computes).
	texts := v.strings()
	if len(texts) == 0 {
		for _, part := range []string{v.pre, v.suf} {
			if part != "" && part != unknownPrefix {
				texts = append(texts, part)
			}
		}
	}
	for _, cmd := range texts {
		switch {
		case reverseShell.MatchString(cmd):
			a.fold(line, "command run by "+sink, cmd)
			a.report(RuleReverseShell, line, sink, nil, "runs "+strconv.Quote(shorten(cmd, 100)))
		case persistence.MatchString(cmd):
			a.fold(line, "command run by "+sink, cmd)
			a.report(RulePersistence, line, sink, nil, "runs "+strconv.Quote(shorten(cmd, 100)))
		case downloadAndRun.MatchString(cmd):
			a.fold(line, "command run by "+sink, cmd)
			a.report(RuleDownloadAndRun, line, sink, nil, "runs "+strconv.Quote(shorten(cmd, 100)))
		case v.has(fDecoded | fChars):
			a.fold(line, "command run by "+sink, cmd)
			a.report(RuleDecodedCommand, line, sink, nil, "runs "+strconv.Quote(shorten(cmd, 100)))
		}
	}
	if len(v.strings()) == 0 && v.has(fDecoded) {
		a.report(RuleDecodedCommand, line, sink, nil, "")
	}
	if v.has(fRemote) {
		a.report(RuleRemoteCodeExec, line, sink, nil, "a command fetched from the network")
	}
}

// phpExtension reports whether a path names a file a web server runs, or
// one that changes what it runs.
func phpExtension(p string) bool {
	p = strings.ToLower(p)
	for _, ext := range []string{".php", ".phtml", ".php3", ".php4", ".php5", ".php7", ".pht", ".phar", ".inc", ".htaccess", ".user.ini", ".shtml", ".asp", ".aspx", ".jsp", ".cgi", ".pl"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// looksLikePHPCode reports whether a string holds PHP code: an open tag.
func looksLikePHPCode(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "<?php") || strings.Contains(l, "<?=")
}

// fileWrite is a write of data to the file at path.
func (a *analyzer) fileWrite(line int, sink string, path, data Value, sc *scope) {
	pt, dt := path.deepTaint(), data.deepTaint()
	dataFlags := data.flags
	if data.k == kArray {
		dataFlags |= data.arr.flags()
	}
	// The request must choose the whole content (not a value inside a
	// template an installer or a logger writes) and, unless the path is a
	// script, the whole path (not a file name under a fixed folder).
	wholeData := dt != nil && data.pre == ""
	switch {
	case wholeData && pt != nil && path.pre == "":
		a.report(RuleRequestFileWrite, line, sink, dt.step(line, "written by %s to a path the request chooses", sink), "")
	case wholeData && anyString(path, phpExtension):
		a.report(RuleRequestFileWrite, line, sink, dt.step(line, "written by %s to a script", sink), "")
	}
	if dataFlags&fCard != 0 && dt != nil {
		a.report(RuleCardExfilFile, line, sink, dt.step(line, "written to a file by %s", sink), "")
	} else if dataFlags&fSecret != 0 && dt != nil && anyString(path, logExtension) {
		a.report(RuleCredentialLog, line, sink, dt.step(line, "written to a file by %s", sink), "")
	}
	if path.has(fListed) && !data.has(fListed) {
		a.report(RuleMassWrite, line, sink, nil, "")
	}
	if data.has(fRemote) && (pt != nil || anyString(path, phpExtension)) {
		a.report(RuleRemoteFileDrop, line, sink, nil, "")
	}
	for _, s := range data.strings() {
		if nativeProgram(s) {
			a.report(RuleBinaryDrop, line, sink, nil, "")
		}
		if looksLikePHPCode(s) {
			if data.has(fDecoded | fChars) {
				a.fold(line, "PHP written by "+sink, s)
				a.report(RuleDecodedFileDrop, line, sink, nil, "")
			}
			a.nested(line, s, false, sc)
		}
	}
}

func anyString(v Value, pred func(string) bool) bool {
	for _, s := range v.strings() {
		if pred(s) {
			return true
		}
	}
	if v.suf != "" && pred(v.suf) {
		return true
	}
	return false
}

// mailSink is mail(to, subject, message, headers, params).
func (a *analyzer) mailSink(line int, args []arg) {
	to, subj, msg, hdr, params := argAt(args, 0), argAt(args, 1), argAt(args, 2), argAt(args, 3), argAt(args, 4)
	if t := params.deepTaint(); t != nil {
		a.report(RuleRequestCommandExec, line, "mail", t.step(line, "sendmail options of mail()"), "")
	}
	var card, secret *taint
	for _, v := range []Value{subj, msg, hdr, to} {
		f := v.flags
		if v.k == kArray {
			f |= v.arr.flags()
		}
		if f&fCard != 0 && card == nil {
			card = v.deepTaint()
		}
		if f&fSecret != 0 && secret == nil {
			secret = v.deepTaint()
		}
	}
	fixedTo := to.taint == nil && anyString(to, func(s string) bool { return strings.Contains(s, "@") })
	switch {
	case card != nil:
		a.report(RuleCardExfil, line, "mail", card.step(line, "mailed by mail()"), "")
	case secret != nil && fixedTo:
		a.report(RuleCredentialExfil, line, "mail", secret.step(line, "mailed to %s", strings.Join(to.strings(), ", ")), "")
	}
	// A mailer: the request gives the recipients (a list it loops over)
	// and some of the message, or all of it.
	others := 0
	for _, v := range []Value{subj, msg, hdr} {
		if v.deepTaint() != nil {
			others++
		}
	}
	t := to.deepTaint()
	if t == nil && hdr.has(fRecipients) {
		t = hdr.deepTaint() // Bcc: chosen by the request
		others--
	}
	if t != nil && (others == 3 || others > 0 && a.loops > 0 || msg.deepTaint() != nil && subj.deepTaint() != nil || hdr.has(fRecipients) && others > 0) {
		a.report(RuleRequestMailer, line, "mail", t.step(line, "the recipient of mail()"), "")
	}
}

// sendSink is data sent over the network to a URL or socket (curl, a URL
// opened, a socket written).
func (a *analyzer) sendSink(line int, sink string, data, dest Value) {
	f := data.flags
	if data.k == kArray {
		f |= data.arr.flags()
	}
	if f&fCard == 0 || data.deepTaint() == nil {
		return
	}
	if dest.has(fDecoded | fChars) {
		a.report(RuleCardExfil, line, sink, data.deepTaint().step(line, "sent by %s to an address hidden in the file", sink), "")
		return
	}
	a.report(RuleCardSend, line, sink, data.deepTaint().step(line, "sent by %s", sink), "")
}

// connectSink is a connection to host v ("udp://" before it fixes no host).
func (a *analyzer) connectSink(line int, sink string, v Value) {
	if t := v.deepTaint(); t != nil && (v.pre == "" || schemeOnly.MatchString(v.pre)) {
		a.report(RuleRequestSocket, line, sink, t.step(line, "the host %s connects to", sink), "")
	}
}

// fileAccess is a file read out, deleted, renamed or changed by path v.
func (a *analyzer) fileAccess(line int, sink string, v Value) {
	if t := v.deepTaint(); t != nil && v.pre == "" && !v.has(fUpload|fStored) && !strings.HasPrefix(t.source(), "$_FILES") {
		a.report(RuleRequestFileAccess, line, sink, t.step(line, "the file %s works on", sink), "")
	}
}

// uploadChecks are signs that a file checks what it is sent: its
// extension, its type, an allowed list.
var uploadChecks = newMatcher(tokens("pathinfo", "getimagesize", "finfo", "mime_content_type", "exif_imagetype",
	"strrchr", "allowed", "extension", "'jpg'", `"jpg"`, ".jpg", "image/", "explode('.'", `explode(".`))

// checksUploads reports whether the file being analysed holds any
// uploadChecks.
func (a *analyzer) checksUploads() bool {
	return uploadChecks.contains(a.src)
}

// nativeProgram reports whether s is an ELF or a PE executable.
func nativeProgram(s string) bool {
	if strings.HasPrefix(s, "\x7fELF") {
		return true
	}
	if strings.HasPrefix(s, "MZ") && len(s) > 0x40 {
		off := int(s[0x3c]) | int(s[0x3d])<<8 | int(s[0x3e])<<16 | int(s[0x3f])<<24
		return off > 0 && off+4 <= len(s) && s[off:off+4] == "PE\x00\x00"
	}
	return false
}

// logExtension reports whether a path names a text log, where a phishing
// kit keeps what it caught (not a script or a configuration file).
func logExtension(p string) bool {
	p = strings.ToLower(p)
	for _, ext := range []string{".txt", ".log", ".htm", ".html", ".csv", ".dat"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}
