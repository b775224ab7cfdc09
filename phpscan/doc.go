// Package phpscan finds webshells in PHP by what the code does, not by the
// strings it contains. It parses a file with a real PHP parser that
// tolerates broken code, folds the strings an obfuscator builds at run time
// (concatenation, strrev, str_rot13, chr lists, base64_decode, gzinflate,
// hex2bin, XOR loops in the file's own functions, …), follows request input
// ($_GET, $_POST, $_COOKIE, headers, php://input, …) through variables,
// arrays, functions, methods, closures and callbacks, and reports where it
// reaches code execution, command execution, a dynamic call, a file write or
// an outbound channel. A folded payload that is PHP is parsed and analysed
// again.
//
// Every finding names a rule (php_request_code_exec, …) with a severity, a
// family, a description, the line, the path the data took and the strings
// folded on the way, so that the scanner can report it like a YARA match and
// `shellwatch explain` can show why. The analysis is bounded: a budget of
// steps and a deadline per file, a size cap on every folded string, a depth
// cap on nesting; a file over budget is reported as such, never a hang.
//
// The package does no I/O: it reads bytes given to it and returns findings.
package phpscan
