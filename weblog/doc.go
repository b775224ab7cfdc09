// Package weblog reads web server access logs: it compiles nginx
// log_format and Apache LogFormat strings, parses their lines (every byte
// of which an attacker may have chosen), reads a log with its rotated and
// gzipped siblings in time order, follows a live log through rotation, and
// keeps a bounded index of recent requests that answers "who requested this
// URL" and "what did this client do".
//
// Nothing in one line changes how another is parsed: lines are split on
// '\n' only (both servers escape it inside fields), a line longer than the
// limit is skipped and counted, and a field's end is found by the format,
// never by what the client sent.
package weblog
