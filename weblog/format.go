package weblog

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Named formats: the three every operator knows, spelled once in Apache's
// language (nginx's "combined" writes the same line).
var namedFormats = map[string]string{
	"common":         `%h %l %u %t "%r" %>s %b`,
	"combined":       `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`,
	"vhost_combined": `%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"`,
}

// kind is what a field of the format holds.
type kind uint8

const (
	kindIgnore    kind = iota // a field read over and not kept ($remote_user, %l, %D…)
	kindClient                // $remote_addr, %h, %a
	kindTime                  // $time_local, %t: 02/Jan/2006:15:04:05 -0700
	kindTimeISO               // $time_iso8601
	kindMsec                  // $msec: seconds since the epoch with milliseconds
	kindRequest               // $request, %r: METHOD TARGET PROTOCOL
	kindMethod                // $request_method, %m
	kindTarget                // $request_uri: the target as sent, query included
	kindPath                  // $uri, %U: the path, already decoded by the server
	kindQuery                 // %q
	kindStatus                // $status, %>s
	kindBytes                 // $body_bytes_sent, %b, %O…
	kindReferer               // $http_referer, %{Referer}i
	kindUserAgent             // $http_user_agent, %{User-Agent}i
	kindVhost                 // $host, $server_name, %v, %V, %{Host}i
	kindDuration              // $request_time, %D, %T
	kindPathQuery             // %U%q: the decoded path, then "?" and the query
	numKinds
)

// token is a literal or a field of a compiled format.
type token struct {
	lit  string // the literal; empty for a field
	kind kind
	name string        // the field as the format spells it, for errors
	unit time.Duration // of a kindDuration field
	// quoted: the field sits between two '"' of the format, and the
	// server escapes '"' inside it (nginx as \x22, Apache as \"), so its
	// end is the first '"' that is not escaped, whatever the client sent.
	quoted bool
}

// Format is a compiled access-log format. It is immutable and safe for
// concurrent use.
type Format struct {
	src    string
	flavor string // "nginx" or "apache"
	tokens []token
	has    [numKinds]bool
	// durationUnit is what one unit of the kindDuration field is.
	durationUnit time.Duration
}

// String returns the format as it was given.
func (f *Format) String() string { return f.src }

// Flavor returns "nginx" or "apache": whose log the format describes; ""
// for a named format given without the prefix "nginx:" or "apache:".
func (f *Format) Flavor() string { return f.flavor }

func (f *Format) stamp() Stamp {
	switch f.flavor {
	case "nginx":
		return StampEnd
	case "apache":
		return StampStart
	}
	return StampUnknown
}

// HasVhost reports whether lines of this format name the virtual host.
func (f *Format) HasVhost() bool { return f.has[kindVhost] }

// ParseFormat compiles a format: one of the names "combined", "common" and
// "vhost_combined", an nginx log_format string ("$remote_addr - …") or an
// Apache LogFormat string ("%h %l %u %t …"). A string holding nginx
// variables ($name, ${name}) is nginx's; one holding Apache directives
// (%h, %>s, %{Referer}i…) is Apache's; a string with both must say which
// with the prefix "nginx:" or "apache:". A named format may have the
// prefix too ("nginx:combined"): nginx stamps a line with the time the
// request ended, Apache with the time it began (see [Request.Stamp]),
// and only the prefix tells which. The format must hold the client's
// address, the time and the request (or its URL).
func ParseFormat(s string) (*Format, error) {
	src := s
	flavor := ""
	if rest, ok := strings.CutPrefix(s, "nginx:"); ok {
		s, flavor = rest, "nginx"
	} else if rest, ok := strings.CutPrefix(s, "apache:"); ok {
		s, flavor = rest, "apache"
	}
	named := namedFormats[s] != ""
	switch {
	case named:
		s = namedFormats[s]
	case flavor != "":
	default:
		nginx, apache := hasNginxVariable(s), hasApacheDirective(s)
		switch {
		case nginx && apache:
			return nil, errors.New(`holds both nginx variables ($…) and Apache directives (%…): say which with the prefix "nginx:" or "apache:"`)
		case nginx:
			flavor = "nginx"
		case apache:
			flavor = "apache"
		default:
			return nil, fmt.Errorf(`%q is not "combined", "common" or "vhost_combined" and holds no nginx variable ($remote_addr…) nor Apache directive (%%h…)`, s)
		}
	}
	var tokens []token
	var err error
	if flavor == "nginx" && !named {
		tokens, err = nginxTokens(s)
	} else {
		tokens, err = apacheTokens(s)
	}
	if err != nil {
		return nil, err
	}
	f := &Format{src: src, flavor: flavor}
	if err := f.compile(tokens); err != nil {
		return nil, err
	}
	return f, nil
}

// compile merges adjacent literals, marks quoted fields and checks that the
// format can be parsed and says what an access report needs.
func (f *Format) compile(tokens []token) error {
	for _, t := range tokens {
		if n := len(f.tokens); t.lit != "" && n > 0 && f.tokens[n-1].lit != "" {
			f.tokens[n-1].lit += t.lit
			continue
		}
		f.tokens = append(f.tokens, t)
	}
	// Apache's "%U%q" is one field: the query is empty or starts with '?'.
	for i := 0; i+1 < len(f.tokens); i++ {
		if f.tokens[i].kind == kindPath && f.tokens[i+1].kind == kindQuery && f.tokens[i].lit == "" && f.tokens[i+1].lit == "" {
			f.tokens[i] = token{kind: kindPathQuery, name: f.tokens[i].name + f.tokens[i+1].name}
			f.tokens = append(f.tokens[:i+1], f.tokens[i+2:]...)
		}
	}
	for i, t := range f.tokens {
		if t.lit != "" {
			continue
		}
		if i+1 < len(f.tokens) && f.tokens[i+1].lit == "" {
			return fmt.Errorf("%s and %s have nothing between them: where one ends cannot be told", t.name, f.tokens[i+1].name)
		}
		f.tokens[i].quoted = i > 0 && i+1 < len(f.tokens) &&
			strings.HasSuffix(f.tokens[i-1].lit, `"`) && strings.HasPrefix(f.tokens[i+1].lit, `"`)
		f.has[t.kind] = true
		if t.kind == kindDuration {
			f.durationUnit = t.unit
		}
	}
	switch {
	case !f.has[kindClient]:
		return errors.New("has no client address ($remote_addr, %h or %a)")
	case !f.has[kindTime] && !f.has[kindTimeISO] && !f.has[kindMsec]:
		return errors.New("has no time ($time_local, $time_iso8601, $msec or %t)")
	case !f.has[kindRequest] && !f.has[kindTarget] && !f.has[kindPath] && !f.has[kindPathQuery]:
		return errors.New("has no request ($request, $request_uri, $uri, %r or %U)")
	}
	return nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func hasNginxVariable(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '$' && (isNameByte(s[i+1]) || s[i+1] == '{') {
			return true
		}
	}
	return false
}

func hasApacheDirective(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && (strings.IndexByte("<>!{", s[i+1]) >= 0 || s[i+1] >= 'a' && s[i+1] <= 'z' || s[i+1] >= 'A' && s[i+1] <= 'Z') {
			return true
		}
	}
	return false
}

// nginxKinds names the nginx variables whose value is kept.
var nginxKinds = map[string]kind{
	"remote_addr":        kindClient,
	"binary_remote_addr": kindIgnore,
	"time_local":         kindTime,
	"time_iso8601":       kindTimeISO,
	"msec":               kindMsec,
	"request":            kindRequest,
	"request_method":     kindMethod,
	"request_uri":        kindTarget,
	"uri":                kindPath,
	"document_uri":       kindPath,
	"status":             kindStatus,
	"body_bytes_sent":    kindBytes,
	"bytes_sent":         kindBytes,
	"http_referer":       kindReferer,
	"http_user_agent":    kindUserAgent,
	"host":               kindVhost,
	"server_name":        kindVhost,
	"http_host":          kindVhost,
	"request_time":       kindDuration,
}

func nginxTokens(s string) ([]token, error) {
	var tokens []token
	lit := 0 // start of the pending literal
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 >= len(s) || !(isNameByte(s[i+1]) || s[i+1] == '{') {
			i++
			continue
		}
		if lit < i {
			tokens = append(tokens, token{lit: s[lit:i]})
		}
		var name string
		if s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("%q has no closing }", s[i:])
			}
			name = s[i+2 : i+2+end]
			i += 3 + end
		} else {
			j := i + 1
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			name = s[i+1 : j]
			i = j
		}
		if name == "" {
			return nil, errors.New("${} names no variable")
		}
		tokens = append(tokens, token{kind: nginxKinds[name], name: "$" + name, unit: time.Second})
		lit = i
	}
	if lit < len(s) {
		tokens = append(tokens, token{lit: s[lit:]})
	}
	return tokens, nil
}

// apacheLetters is what each directive letter of mod_log_config logs;
// letters it does not know are errors, letters we do not keep are read over.
var apacheLetters = map[byte]kind{
	'a': kindClient, 'h': kindClient,
	'r': kindRequest, 'm': kindMethod, 'U': kindPath, 'q': kindQuery,
	's': kindStatus,
	'b': kindBytes, 'B': kindBytes, 'O': kindBytes,
	'v': kindVhost, 'V': kindVhost,
	'A': kindIgnore, 'C': kindIgnore, 'e': kindIgnore, 'f': kindIgnore,
	'H': kindIgnore, 'I': kindIgnore, 'k': kindIgnore, 'l': kindIgnore, 'L': kindIgnore,
	'n': kindIgnore, 'o': kindIgnore, 'p': kindIgnore, 'P': kindIgnore, 'R': kindIgnore,
	'S': kindIgnore, 'u': kindIgnore, 'X': kindIgnore, '^': kindIgnore,
}

func apacheTokens(s string) ([]token, error) {
	var tokens []token
	lit := 0
	for i := 0; i < len(s); {
		if s[i] != '%' {
			i++
			continue
		}
		if lit < i {
			tokens = append(tokens, token{lit: s[lit:i]})
		}
		start := i
		i++
		if i < len(s) && s[i] == '%' {
			tokens = append(tokens, token{lit: "%"})
			i++
			lit = i
			continue
		}
		// Conditions and the original/final marks: %400,501{User-agent}i, %>s.
		for i < len(s) && strings.IndexByte("!,<>0123456789", s[i]) >= 0 {
			i++
		}
		arg := ""
		if i < len(s) && s[i] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("%q has no closing }", s[start:])
			}
			arg = s[i+1 : i+end]
			i += end + 1
		}
		if i >= len(s) {
			return nil, fmt.Errorf("%q ends without a directive letter", s[start:])
		}
		letter := s[i]
		i++
		name := s[start:i]
		switch {
		case letter == 't':
			if arg != "" {
				return nil, fmt.Errorf("%s: only %%t (the default [day/month/year:time zone]) is supported", name)
			}
			tokens = append(tokens, token{lit: "["}, token{kind: kindTime, name: name}, token{lit: "]"})
		case letter == 'i':
			k := kindIgnore
			switch strings.ToLower(arg) {
			case "referer":
				k = kindReferer
			case "user-agent":
				k = kindUserAgent
			case "host":
				k = kindVhost
			}
			tokens = append(tokens, token{kind: k, name: name})
		case letter == 'a' && arg != "" && arg != "c":
			tokens = append(tokens, token{kind: kindIgnore, name: name})
		case letter == 'D':
			tokens = append(tokens, token{kind: kindDuration, name: name, unit: time.Microsecond})
		case letter == 'T':
			unit, ok := map[string]time.Duration{"": time.Second, "s": time.Second, "ms": time.Millisecond, "us": time.Microsecond}[arg]
			if !ok {
				return nil, fmt.Errorf("%s: want %%T, %%{s}T, %%{ms}T or %%{us}T", name)
			}
			tokens = append(tokens, token{kind: kindDuration, name: name, unit: unit})
		default:
			k, ok := apacheLetters[letter]
			if !ok {
				return nil, fmt.Errorf("%s is not a LogFormat directive", name)
			}
			tokens = append(tokens, token{kind: k, name: name})
		}
		lit = i
	}
	if lit < len(s) {
		tokens = append(tokens, token{lit: s[lit:]})
	}
	return tokens, nil
}
