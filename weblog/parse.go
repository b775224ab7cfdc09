package weblog

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/internal/safetext"
)

// Request is one parsed line of an access log. Text fields hold the bytes
// the client sent, the server's log escapes undone: they may hold control
// characters and invalid UTF-8: quote them before printing (String does).
type Request struct {
	// Time is the time the line carries. Apache (%t) stamps a request with
	// the second it began; nginx ($time_local, $msec) with the moment it
	// ended: Stamp says which, when the format tells (see [ParseFormat]).
	Time  time.Time
	Stamp Stamp
	// Duration is the request's length when the format logs it (nginx
	// $request_time, Apache %D or %T), else 0.
	Duration time.Duration
	// Client is the address the server logged ($remote_addr, %h).
	Client string
	Method string
	// Target is the request target as sent ("/a/../up/x.php?c=id").
	Target string
	// Path is the URL path the server resolved Target to: query cut,
	// %XX decoded, "//", "." and ".." folded as nginx does ("/up/x.php").
	Path      string
	Proto     string
	Status    int
	Bytes     int64
	Referer   string
	UserAgent string
	// Vhost is the virtual host, when the format logs it ($host, %v).
	Vhost string
}

// Stamp says which moment of a request its line's time is.
type Stamp uint8

// Stamps.
const (
	StampUnknown Stamp = iota // a named format without "nginx:" or "apache:"
	StampStart                // Apache: when the request began
	StampEnd                  // nginx: when it ended (and the line was written)
)

// ErrNoMatch is the error of a line that does not have the format's shape.
var ErrNoMatch = errors.New("line does not match the log format")

// maxTries bounds the places an unquoted field may end that the parser
// tries on one line ($remote_user is the client's and may hold " ["), so a
// crafted line costs a bounded time.
const maxTries = 64

// Parse parses one line (without its '\n'). A line that does not match the
// format gives ErrNoMatch; it never changes how another line is parsed.
func (f *Format) Parse(line []byte) (Request, error) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	var vals [numKinds][]byte
	tries := maxTries
	if !f.match(line, 0, 0, &vals, &tries) {
		return Request{}, ErrNoMatch
	}
	r := Request{Stamp: f.stamp()}
	switch {
	case vals[kindTime] != nil:
		r.Time, _ = parseLocalTime(vals[kindTime])
	case vals[kindTimeISO] != nil:
		r.Time, _ = time.Parse(time.RFC3339, string(vals[kindTimeISO]))
	case vals[kindMsec] != nil:
		r.Time, _ = parseMsec(vals[kindMsec])
	}
	if v := vals[kindDuration]; v != nil {
		r.Duration = parseDuration(f.durationUnit, v)
	}
	r.Client = string(vals[kindClient])
	if v := vals[kindRequest]; v != nil {
		r.Method, r.Target, r.Proto = splitRequest(unescape(v))
	}
	if v := vals[kindMethod]; v != nil {
		r.Method = string(unescape(v))
	}
	if v := vals[kindTarget]; v != nil {
		r.Target = string(unescape(v))
	}
	switch {
	case r.Target != "":
		r.Path = CleanPath(r.Target)
	case vals[kindPath] != nil:
		// Decoded by the server already: fold, do not decode twice.
		r.Target = string(unescape(vals[kindPath]))
		r.Path = foldPath(r.Target)
		if q := vals[kindQuery]; len(q) > 0 {
			r.Target += string(unescape(q))
		}
	case vals[kindPathQuery] != nil:
		r.Target = string(unescape(vals[kindPathQuery]))
		p, _, _ := strings.Cut(r.Target, "?")
		r.Path = foldPath(p)
	}
	r.Status = int(parseDigits(vals[kindStatus]))
	r.Bytes = parseDigits(vals[kindBytes])
	r.Referer = dashless(unescape(vals[kindReferer]))
	r.UserAgent = dashless(unescape(vals[kindUserAgent]))
	r.Vhost = dashless(unescape(vals[kindVhost]))
	return r, nil
}

func dashless(b []byte) string {
	if len(b) == 1 && b[0] == '-' {
		return ""
	}
	return string(b)
}

// match matches line[pos:] against the tokens from ti on, filling vals.
// Literals must be there as they are; a quoted field ends at the first
// unescaped '"'; an unquoted field ends at some later occurrence of the
// literal after it, the first one for which its value is valid for its
// kind and the rest of the line matches (at most *tries places in all).
func (f *Format) match(line []byte, ti, pos int, vals *[numKinds][]byte, tries *int) bool {
	if ti == len(f.tokens) {
		return pos == len(line)
	}
	t := &f.tokens[ti]
	if t.lit != "" {
		return bytes.HasPrefix(line[pos:], []byte(t.lit)) && f.match(line, ti+1, pos+len(t.lit), vals, tries)
	}
	if ti+1 == len(f.tokens) {
		v := line[pos:]
		vals[t.kind] = v
		return valid(t.kind, v)
	}
	next := f.tokens[ti+1].lit
	if t.quoted {
		end := quotedEnd(line, pos)
		if end < 0 {
			return false
		}
		vals[t.kind] = line[pos:end]
		return f.match(line, ti+1, end, vals, tries)
	}
	for from := pos; ; {
		i := bytes.Index(line[from:], []byte(next))
		if i < 0 {
			return false
		}
		end := from + i
		*tries--
		if *tries < 0 {
			return false
		}
		v := line[pos:end]
		if valid(t.kind, v) {
			vals[t.kind] = v
			if f.match(line, ti+1, end, vals, tries) {
				return true
			}
		}
		from = end + 1
	}
}

// quotedEnd returns the index of the first '"' at or after pos that no
// backslash escapes, or -1.
func quotedEnd(line []byte, pos int) int {
	for i := pos; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// valid reports whether v can be a value of kind: the check that lets the
// parser tell a forged field from the real one.
func valid(k kind, v []byte) bool {
	switch k {
	case kindClient:
		if len(v) == 0 || len(v) > 255 {
			return false
		}
		for _, c := range v {
			if !(isNameByte(c) || c == '.' || c == ':' || c == '-' || c == '%') {
				return false
			}
		}
		return true
	case kindTime:
		_, ok := parseLocalTime(v)
		return ok
	case kindTimeISO:
		_, err := time.Parse(time.RFC3339, string(v))
		return err == nil
	case kindMsec:
		_, ok := parseMsec(v)
		return ok
	case kindStatus:
		return len(v) == 3 && isDigits(v)
	case kindBytes, kindDuration:
		return (len(v) == 1 && v[0] == '-') || (len(v) > 0 && len(v) <= 20 && isDecimal(v))
	}
	return true
}

func isDigits(v []byte) bool {
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(v) > 0
}

// isDecimal accepts digits with at most one '.' between them ("0.013").
func isDecimal(v []byte) bool {
	int, frac, ok := bytes.Cut(v, []byte{'.'})
	return isDigits(int) && (!ok || isDigits(frac))
}

// parseDigits returns the number v holds; 0 for "-" or nothing.
func parseDigits(v []byte) int64 {
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' || n > (1<<62)/10 {
			return n
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// parseDuration reads $request_time (seconds, "0.013"), %T (seconds) or
// %D (microseconds).
func parseDuration(unit time.Duration, v []byte) time.Duration {
	whole, frac, _ := bytes.Cut(v, []byte{'.'})
	d := time.Duration(parseDigits(whole)) * unit
	scale := unit / 10
	for _, c := range frac {
		if scale == 0 || c < '0' || c > '9' {
			break
		}
		d += time.Duration(c-'0') * scale
		scale /= 10
	}
	return d
}

var months = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

// zones caches the fixed zones of the offsets seen ("+0900"), so parsing a
// time allocates nothing.
var zones sync.Map // int (seconds east) → *time.Location

// parseLocalTime reads "02/Jan/2006:15:04:05 -0700", the time of
// nginx's $time_local and Apache's %t.
func parseLocalTime(v []byte) (time.Time, bool) {
	if len(v) != 26 || v[2] != '/' || v[6] != '/' || v[11] != ':' || v[14] != ':' || v[17] != ':' || v[20] != ' ' || (v[21] != '+' && v[21] != '-') {
		return time.Time{}, false
	}
	num := func(b []byte) int {
		if !isDigits(b) {
			return -1
		}
		return int(parseDigits(b))
	}
	day, year, hour, min, sec := num(v[0:2]), num(v[7:11]), num(v[12:14]), num(v[15:17]), num(v[18:20])
	zh, zm := num(v[22:24]), num(v[24:26])
	month, ok := months[string(v[3:6])]
	if !ok || day < 1 || day > 31 || year < 0 || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60 || zh < 0 || zh > 23 || zm < 0 || zm > 59 {
		return time.Time{}, false
	}
	offset := zh*3600 + zm*60
	if v[21] == '-' {
		offset = -offset
	}
	loc, ok := zones.Load(offset)
	if !ok {
		loc, _ = zones.LoadOrStore(offset, time.FixedZone("", offset))
	}
	return time.Date(year, month, day, hour, min, sec, 0, loc.(*time.Location)), true
}

// parseMsec reads $msec, "1733059200.123".
func parseMsec(v []byte) (time.Time, bool) {
	if !isDecimal(v) || len(v) > 20 {
		return time.Time{}, false
	}
	d := parseDuration(time.Second, v)
	return time.Unix(0, 0).Add(d), true
}

// splitRequest splits "METHOD TARGET PROTOCOL". A target may hold spaces
// (HTTP/0.9 lines, junk sent to the port): the method is the first word,
// the protocol the last one when it starts with "HTTP/".
func splitRequest(v []byte) (method, target, proto string) {
	s := string(v)
	method, rest, ok := strings.Cut(s, " ")
	if !ok {
		return s, "", ""
	}
	if i := strings.LastIndexByte(rest, ' '); i >= 0 && strings.HasPrefix(rest[i+1:], "HTTP/") {
		return method, rest[:i], rest[i+1:]
	}
	return method, rest, ""
}

// unescape undoes the escapes both servers write into a log field: nginx's
// \xHH (and \uHHHH with escape=json), Apache's \", \\, \n, \t and \xHH.
// A backslash followed by anything else is kept as it is.
func unescape(v []byte) []byte {
	if bytes.IndexByte(v, '\\') < 0 {
		return v
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\\' || i+1 == len(v) {
			out = append(out, c)
			continue
		}
		switch e := v[i+1]; e {
		case 'x':
			if i+3 < len(v) && isHex(v[i+2]) && isHex(v[i+3]) {
				out = append(out, unhex(v[i+2])<<4|unhex(v[i+3]))
				i += 3
				continue
			}
		case 'u':
			if i+5 < len(v) && v[i+2] == '0' && v[i+3] == '0' && isHex(v[i+4]) && isHex(v[i+5]) {
				out = append(out, unhex(v[i+4])<<4|unhex(v[i+5]))
				i += 5
				continue
			}
		case '"', '\\':
			out = append(out, e)
			i++
			continue
		case 'n', 't', 'r', 'b', 'f', 'v':
			out = append(out, escaped[e])
			i++
			continue
		}
		out = append(out, c)
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// CleanPath returns the URL path a web server serves for a request target,
// the way nginx resolves it: an absolute-form target ("http://h/p") loses
// its scheme and host, the query is cut at the first '?', %XX is decoded,
// and "//", "/./" and "/x/../" are folded. "/up/./sh%65ll.php?x" and
// "//up/shell.php" are both "/up/shell.php".
func CleanPath(target string) string {
	if i := strings.Index(target, "://"); i > 0 && !strings.ContainsAny(target[:i], "/?") {
		rest := target[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			target = rest[j:]
		} else {
			target = "/"
		}
	}
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	return foldPath(percentDecode(target))
}

func percentDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

// foldPath folds "//", "." and ".." segments; ".." never climbs above "/".
// The result starts with "/" and keeps a trailing "/".
func foldPath(p string) string {
	if !strings.Contains(p, "//") && !strings.Contains(p, "/.") && strings.HasPrefix(p, "/") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for _, s := range segs {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	folded := "/" + strings.Join(out, "/")
	last := segs[len(segs)-1]
	if len(out) > 0 && (last == "" || last == "." || last == "..") {
		folded += "/"
	}
	return folded
}

// String returns the request as one line: hostile text is quoted.
func (r *Request) String() string {
	return fmt.Sprintf("%s %s %s %s %d", r.Time.Format(time.RFC3339), safetext.Path(r.Client), safetext.Path(r.Method), safetext.Path(r.Target), r.Status)
}

// escaped is the byte a backslash escape stands for, by its letter.
var escaped = [256]byte{'n': '\n', 't': '\t', 'r': '\r', 'b': '\b', 'f': '\f', 'v': '\v'}
