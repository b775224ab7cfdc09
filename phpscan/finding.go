package phpscan

import (
	"fmt"
	"sort"
	"strings"
)

// Severity ranks a finding, lowest first; it mirrors the scanner's
// severities by name (this package has no dependency on libyara).
type Severity int

// The severities of findings.
const (
	Low Severity = iota + 1
	Medium
	High
	Critical
)

func (s Severity) String() string {
	switch s {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	case Critical:
		return "critical"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// Rule describes one kind of finding: every finding of a kind has its name,
// family, description and (unless the finding says otherwise) severity.
type Rule struct {
	Name        string
	Severity    Severity
	Family      string
	Description string
}

// The rules the analyzer reports. Severity is honest: critical and high
// mean the file acts as a backdoor (request input reaches execution, or a
// payload hidden on purpose is executed) and are quarantined; medium only
// suggests one and is alerted.
var (
	RuleRequestCodeExec = Rule{"php_request_code_exec", Critical, "php_request_exec",
		"request input reaches PHP code execution (eval, assert, create_function, preg_replace /e, include of a request-chosen path)"}
	RuleRequestCommandExec = Rule{"php_request_command_exec", Critical, "php_request_exec",
		"request input reaches an operating-system command (system, exec, shell_exec, passthru, popen, proc_open, backticks, mail's fifth argument)"}
	RuleRequestDynamicCall = Rule{"php_request_dynamic_call", Critical, "php_request_exec",
		"request input chooses the function, callback, class or method that is called"}
	RuleDecodedCodeExec = Rule{"php_decoded_code_exec", High, "php_obfuscated_loader",
		"code decoded at run time (base64, gzip, rot13, XOR, hex, chr lists, …) is executed"}
	RuleRemoteCodeExec = Rule{"php_remote_code_exec", Critical, "php_downloader",
		"code fetched from the network is executed or included"}
	RuleHiddenFunctionName = Rule{"php_hidden_function_name", High, "php_obfuscated_call",
		"a dangerous function (code or command execution, a callback runner, a file writer) is called by a name built at run time to hide it"}
	RuleHiddenDecoderName = Rule{"php_hidden_decoder_name", Medium, "php_obfuscated_call",
		"a decoder (base64_decode, gzinflate, str_rot13, …) is called by a name built at run time"}
	RuleDynamicCallHidden = Rule{"php_dynamic_call_hidden_name", Medium, "php_obfuscated_call",
		"a function is called by a name decoded or transformed at run time that could not be resolved"}
	RuleRequestFileWrite = Rule{"php_request_file_write", High, "php_uploader",
		"request input chooses both the path and the content of a file written (uploader, file manager, dropper)"}
	RuleUploadToRequestPath = Rule{"php_upload_request_path", Medium, "php_uploader",
		"an uploaded file is moved to a path the request chooses"}
	RuleRemoteFileDrop = Rule{"php_remote_file_drop", High, "php_downloader",
		"content fetched from the network is written to a file"}
	RuleDecodedFileDrop = Rule{"php_decoded_file_drop", High, "php_dropper",
		"PHP code decoded at run time is written to a file"}
	RuleCardExfil = Rule{"php_card_exfiltration", Critical, "php_skimmer",
		"payment card fields from the request are sent out by mail, over the network or written to a file"}
	RuleCredentialExfil = Rule{"php_credential_exfiltration", High, "php_phishing",
		"password or card fields from the request are mailed to an address fixed in the file (credential harvester)"}
	RuleRequestMailer = Rule{"php_request_mailer", Medium, "php_mailer",
		"the request chooses the recipient, the subject and the body of mail sent (spam mailer)"}
	RuleRequestSocket = Rule{"php_request_network", Medium, "php_flooder",
		"the request chooses a host the script connects to (proxy, flooder, port scanner)"}
	RuleRequestSQL = Rule{"php_request_sql_console", Medium, "php_sql_browser",
		"the request chooses a database server and credentials and the queries run on it (SQL console)"}
	RuleReverseShell = Rule{"php_reverse_shell", Critical, "php_reverse_shell",
		"a shell's input and output are tied to a network socket (reverse or bind shell)"}
	RuleDownloadAndRun = Rule{"php_download_and_run", High, "php_downloader",
		"runs a command that downloads a program and runs it"}
	RuleDecodedCommand = Rule{"php_decoded_command", High, "php_obfuscated_loader",
		"an operating-system command decoded at run time is run"}
	RuleCardExfilFile = Rule{"php_card_capture_file", High, "php_skimmer",
		"payment card fields from the request are written to a file"}
	RuleRemoteRelay = Rule{"php_remote_content_relay", Medium, "php_seo_relay",
		"prints content fetched from a server fixed in the file, after telling it which page and which visitor asked (SEO spam relay, cloaking)"}
	RuleUploadKeepsName = Rule{"php_upload_keeps_client_name", Medium, "php_uploader",
		"an uploaded file is saved under the name the client gave it, and nothing in the file checks its extension or type"}
	RuleRequestFileAccess = Rule{"php_request_file_access", Medium, "php_filemanager",
		"the request names, from its first character, a file that is read out, deleted, renamed or has its mode changed (file manager)"}
	RuleBinaryDrop = Rule{"php_native_program_drop", High, "php_dropper",
		"writes a native program (an ELF or PE executable) carried in the file to disk"}
	RulePersistence = Rule{"php_persistence_command", High, "php_persistence",
		"runs a command that makes code run again later or in every process (a crontab fed from a pipe, at now, LD_PRELOAD, chattr +i)"}
	RuleCredentialLog = Rule{"php_credential_log", Medium, "php_phishing",
		"password or card fields from the request are written to a text file (a phishing kit's log)"}
	RuleMassWrite = Rule{"php_mass_file_write", Medium, "php_mass_defacer",
		"writes into every folder or file a directory walk finds (a mass defacer or infector)"}
	RuleRegisterGlobals = Rule{"php_register_globals_exec", High, "php_request_exec",
		"runs as a command or as code a variable the file reads and never sets: request input where register_globals is on (an old shell's way)"}
	RuleCardSend = Rule{"php_card_send", Medium, "php_skimmer",
		"payment card fields from the request are sent over the network (a payment gateway does this too; a skimmer does it to its own address)"}
)

// Rules lists every rule the analyzer may report, by name.
func Rules() []Rule {
	all := []Rule{RuleRequestCodeExec, RuleRequestCommandExec, RuleRequestDynamicCall, RuleDecodedCodeExec,
		RuleRemoteCodeExec, RuleHiddenFunctionName, RuleHiddenDecoderName, RuleDynamicCallHidden,
		RuleRequestFileWrite, RuleUploadToRequestPath, RuleRemoteFileDrop, RuleDecodedFileDrop, RuleCardExfil,
		RuleCredentialExfil, RuleRequestMailer, RuleRequestSocket, RuleRequestSQL, RuleReverseShell,
		RuleDownloadAndRun, RuleDecodedCommand, RuleCardExfilFile, RuleCardSend, RuleRemoteRelay, RuleUploadKeepsName,
		RuleRequestFileAccess, RuleBinaryDrop, RulePersistence, RuleCredentialLog, RuleMassWrite, RuleRegisterGlobals}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

// Finding is one thing the analyzer found.
type Finding struct {
	Rule
	// Line is the line of the sink in the file (for code found inside a
	// decoded payload, the line of the outer code that runs it).
	Line int
	// Sink names what was reached ("system", "eval", "a dynamic call").
	Sink string
	// Path is the way request input took from its source to the sink,
	// oldest step first; empty for findings without request input.
	Path []Step
	// Detail says what else matters: the folded function name, the
	// decoded payload's first bytes, the nested payload's depth.
	Detail string
}

func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s) line %d: %s", f.Name, f.Severity, f.Line, f.Sink)
	if f.Detail != "" {
		fmt.Fprintf(&b, " [%s]", f.Detail)
	}
	for _, s := range f.Path {
		fmt.Fprintf(&b, "\n  line %d: %s", s.Line, s.What)
	}
	return b.String()
}

// Folded is a string the analyzer computed from an expression: what an
// obfuscated name or payload really is.
type Folded struct {
	Line  int    `json:"line"`
	How   string `json:"how"`   // "str_rot13", "base64_decode", "concatenation", …
	Value string `json:"value"` // cut to maxFoldedShown bytes
}

const maxFoldedShown = 200
