package weblog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func mustFormat(t testing.TB, s string) *Format {
	t.Helper()
	f, err := ParseFormat(s)
	if err != nil {
		t.Fatalf("ParseFormat(%q): %v", s, err)
	}
	return f
}

func at(s string) time.Time {
	t, err := time.Parse("02/Jan/2006:15:04:05 -0700", s)
	if err != nil {
		panic(err)
	}
	return t
}

const nginxCombined = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`

// Each format, as nginx and Apache spell it, parses the lines the server
// writes with it.
func TestFormatsParseTheirLines(t *testing.T) {
	tests := []struct {
		name, format, line string
		want               Request
	}{
		{"named combined", "combined",
			`203.0.113.9 - - [02/Dec/2025:10:00:01 +0900] "POST /up/upload.php HTTP/1.1" 200 31 "https://shop.example/admin" "curl/8.5.0"`,
			Request{Time: at("02/Dec/2025:10:00:01 +0900"), Client: "203.0.113.9", Method: "POST", Target: "/up/upload.php", Path: "/up/upload.php",
				Proto: "HTTP/1.1", Status: 200, Bytes: 31, Referer: "https://shop.example/admin", UserAgent: "curl/8.5.0"}},
		{"named common", "common",
			`2001:db8::7 - alice [02/Dec/2025:10:00:01 +0000] "GET /a.php?x=1 HTTP/1.0" 404 -`,
			Request{Time: at("02/Dec/2025:10:00:01 +0000"), Client: "2001:db8::7", Method: "GET", Target: "/a.php?x=1", Path: "/a.php", Proto: "HTTP/1.0", Status: 404}},
		{"named vhost_combined", "vhost_combined",
			`shop.example.com:443 203.0.113.9 - - [02/Dec/2025:10:00:01 +0100] "GET /x.php HTTP/2.0" 200 512 "-" "-"`,
			Request{Time: at("02/Dec/2025:10:00:01 +0100"), Client: "203.0.113.9", Method: "GET", Target: "/x.php", Path: "/x.php", Proto: "HTTP/2.0",
				Status: 200, Bytes: 512, Vhost: "shop.example.com"}},
		{"nginx combined spelled out", nginxCombined,
			`192.0.2.1 - - [02/Dec/2025:10:00:01 +0000] "GET /shop/sh%65ll.php?c=id HTTP/1.1" 200 5 "-" "Mozilla/5.0 (X11)"`,
			Request{Time: at("02/Dec/2025:10:00:01 +0000"), Stamp: StampEnd, Client: "192.0.2.1", Method: "GET", Target: "/shop/sh%65ll.php?c=id",
				Path: "/shop/shell.php", Proto: "HTTP/1.1", Status: 200, Bytes: 5, UserAgent: "Mozilla/5.0 (X11)"}},
		{"nginx with host, iso time and request_time", `$host $remote_addr [$time_iso8601] "$request_method $request_uri" $status $request_time "${http_user_agent}"`,
			`shop.example.com 192.0.2.1 [2025-12-02T10:00:01+09:00] "POST /up//./x.php" 201 1.250 "ua"`,
			Request{Time: at("02/Dec/2025:10:00:01 +0900"), Stamp: StampEnd, Duration: 1250 * time.Millisecond, Client: "192.0.2.1", Method: "POST",
				Target: "/up//./x.php", Path: "/up/x.php", Status: 201, UserAgent: "ua", Vhost: "shop.example.com"}},
		{"nginx msec", `$msec $remote_addr $uri $status`,
			`1764669601.500 192.0.2.1 /a/b.php 200`,
			Request{Time: time.Unix(1764669601, 5e8), Stamp: StampEnd, Client: "192.0.2.1", Target: "/a/b.php", Path: "/a/b.php", Status: 200}},
		{"apache combined spelled out", `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`,
			`192.0.2.1 - - [02/Dec/2025:10:00:01 -0500] "GET / HTTP/1.1" 200 10 "-" "Mozilla \"quoted\""`,
			Request{Time: at("02/Dec/2025:10:00:01 -0500"), Stamp: StampStart, Client: "192.0.2.1", Method: "GET", Target: "/", Path: "/", Proto: "HTTP/1.1",
				Status: 200, Bytes: 10, UserAgent: `Mozilla "quoted"`}},
		{"apache with conditions, %D, %{c}a, %%", `%{c}a %v %t "%m %U%q" %>s %D %% "%400,501{User-agent}i"`,
			`192.0.2.1 shop [02/Dec/2025:10:00:01 +0000] "GET /x.php?a=1" 200 1500000 % "-"`,
			Request{Time: at("02/Dec/2025:10:00:01 +0000"), Stamp: StampStart, Duration: 1500 * time.Millisecond, Client: "192.0.2.1", Method: "GET",
				Target: "/x.php?a=1", Path: "/x.php", Status: 200, Vhost: "shop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustFormat(t, tt.format)
			got, err := f.Parse([]byte(tt.line))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !got.Time.Equal(tt.want.Time) {
				t.Errorf("time %v, want %v", got.Time, tt.want.Time)
			}
			got.Time, tt.want.Time = time.Time{}, time.Time{}
			if tt.format == "combined" || tt.format == "common" || tt.format == "vhost_combined" {
				tt.want.Stamp = StampUnknown
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseFormatErrors(t *testing.T) {
	tests := map[string]string{
		"":                                 "holds no nginx variable",
		"plain text":                       "holds no nginx variable",
		`$remote_addr $remote_user`:        "has no time",
		`%h %t %>s`:                        "has no request",
		`[$time_local] "$request" $status`: "has no client address",
		`$remote_addr$remote_user [$time_local] "$request"`: "have nothing between them",
		`%h %{%d/%b}t "%r"`:                     "only %t",
		`%h %Z %t "%r"`:                         "%Z is not a LogFormat directive",
		`%h $remote_addr`:                       "holds both",
		`$remote_addr [${time_local "$request"`: "no closing }",
		`%h %t "%r" %{Referer`:                  "no closing }",
		`%h %t "%r" %`:                          "ends without a directive letter",
	}
	for format, want := range tests {
		_, err := ParseFormat(format)
		switch {
		case want == "" && err != nil:
			t.Errorf("ParseFormat(%q): %v, want it to compile", format, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("ParseFormat(%q) error %v, want one saying %q", format, err, want)
		}
	}
	if f := mustFormat(t, "nginx:combined"); f.Flavor() != "nginx" || f.stamp() != StampEnd {
		t.Errorf("nginx:combined: flavor %q", f.Flavor())
	}
	if f := mustFormat(t, `apache:%h $x %t "%r"`); f.Flavor() != "apache" {
		t.Errorf("apache: prefix: flavor %q", f.Flavor())
	}
}

// Hostile lines (issue 11, point 6): what a client sends cannot move a
// field, and a line never changes how the next one parses.
func TestHostileLines(t *testing.T) {
	nginx := mustFormat(t, nginxCombined)
	apache := mustFormat(t, `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"`)
	tests := []struct {
		name   string
		f      *Format
		line   string
		check  func(r Request) string
		noLine bool // the line must not parse
	}{
		{"nginx-escaped quote forging status and agent", nginx,
			`192.0.2.1 - - [02/Dec/2025:10:00:01 +0000] "GET /x.php HTTP/1.1" 404 0 "-" "a\x22 200 99999 \x22-\x22 \x22forged"`,
			func(r Request) string {
				if r.Status != 404 || r.UserAgent != `a" 200 99999 "-" "forged` {
					return "status or agent moved"
				}
				return ""
			}, false},
		{"apache-escaped quote in the request", apache,
			`192.0.2.1 - - [02/Dec/2025:10:00:01 +0000] "GET /x.php?\" 200 1 \"-\" \"x HTTP/1.1" 500 7 "-" "ua"`,
			func(r Request) string {
				if r.Status != 500 || r.Bytes != 7 || r.Path != "/x.php" || r.UserAgent != "ua" {
					return "fields moved"
				}
				return ""
			}, false},
		{"remote_user forging a time", nginx,
			`192.0.2.1 - x [01/Jan/2020:00:00:00 +0000] [02/Dec/2025:10:00:01 +0000] "GET /x.php HTTP/1.1" 200 1 "-" "ua"`,
			func(r Request) string {
				if !r.Time.Equal(at("02/Dec/2025:10:00:01 +0000")) || r.Path != "/x.php" {
					return "the forged time was taken"
				}
				return ""
			}, false},
		{"control characters and invalid UTF-8", nginx,
			`192.0.2.1 - - [02/Dec/2025:10:00:01 +0000] "GET /a\x0A\x1B[2Jb.php HTTP/1.1" 200 1 "-" "\xFF\xFEbad"`,
			func(r Request) string {
				if r.Path != "/a\n\x1b[2Jb.php" || r.UserAgent != "\xff\xfebad" {
					return "escapes not undone"
				}
				if s := r.String(); strings.ContainsAny(s, "\n\x1b") {
					return "String() prints control characters: " + s
				}
				return ""
			}, false},
		{"a raw quote (a forged line written into the file)", nginx,
			`192.0.2.1 - - [02/Dec/2025:10:00:01 +0000] "GET /x.php" 200 1 "-" "ua" HTTP/1.1" 200 1 "-" "ua"`,
			nil, true},
		{"junk sent to the port", nginx,
			`192.0.2.1 - - [02/Dec/2025:10:00:01 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03" 400 157 "-" "-"`,
			func(r Request) string {
				if r.Status != 400 || r.Method != "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" {
					return "junk request not kept as sent"
				}
				return ""
			}, false},
		{"absolute-form target and dot segments", nginx,
			`192.0.2.1 - - [02/Dec/2025:10:00:01 +0000] "GET http://shop.example/x/..//up/./%73hell.php/more?c=id HTTP/1.1" 200 1 "-" "-"`,
			func(r Request) string {
				if r.Path != "/up/shell.php/more" || !MatchesURL(r.Path, "/up/shell.php") {
					return "path " + r.Path
				}
				return ""
			}, false},
	}
	const next = `198.51.100.2 - - [02/Dec/2025:10:00:02 +0000] "GET /next.html HTTP/1.1" 200 2 "-" "next"`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.f.Parse([]byte(tt.line))
			if tt.noLine {
				if !errors.Is(err, ErrNoMatch) {
					t.Errorf("Parse = %+v, %v; want ErrNoMatch", r, err)
				}
			} else if err != nil {
				t.Fatalf("Parse: %v", err)
			} else if msg := tt.check(r); msg != "" {
				t.Errorf("%s: %+v", msg, r)
			}
			// The next line, read after it from the same file, is whole.
			lr := NewLineReader(strings.NewReader(tt.line+"\n"+next+"\n"), 0)
			lr.Next()
			line, err := lr.Next()
			if err != nil {
				t.Fatal(err)
			}
			n, err := tt.f.Parse(line)
			if err != nil || n.Path != "/next.html" || n.UserAgent != "next" {
				t.Errorf("the next line parsed as %+v, %v", n, err)
			}
		})
	}
}

// A 1 MiB line is skipped and counted, without holding it, and the lines
// around it are read whole.
func TestLongLinesAreSkippedAndCounted(t *testing.T) {
	long := strings.Repeat("A", 1<<20)
	text := "first\n" + long + "\nsecond\n" + long + "\nlast-without-newline"
	lr := NewLineReader(strings.NewReader(text), 4096)
	var got []string
	for {
		line, err := lr.Next()
		if err != nil {
			break
		}
		got = append(got, string(line))
	}
	if strings.Join(got, ",") != "first,second,last-without-newline" || lr.TooLong() != 2 {
		t.Errorf("lines %q, too long %d; want first, second, last, and 2", got, lr.TooLong())
	}
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b.php":              "/a/b.php",
		"/a/b.php?x=/../y":      "/a/b.php",
		"//a///b.php":           "/a/b.php",
		"/a/./b/../b.php":       "/a/b.php",
		"/../../etc/passwd":     "/etc/passwd",
		"/a/%2e%2e/b.php":       "/b.php",
		"/a%2Fb.php":            "/a/b.php",
		"/up/":                  "/up/",
		"https://h:8443/x?y":    "/x",
		"*":                     "/*",
		"/a%zz.php":             "/a%zz.php",
		"/a%3Fq.php?real=query": "/a?q.php",
	} {
		if got := CleanPath(in); got != want {
			t.Errorf("CleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParse: any line, with any format, parses or is refused without a
// panic, and parsing it does not take the parser's budget past its bound.
func FuzzParse(f *testing.F) {
	f.Add(nginxCombined, `192.0.2.1 - - [02/Dec/2025:10:00:01 +0000] "GET /x.php HTTP/1.1" 200 1 "-" "ua"`)
	f.Add(`%h %l %u %t "%r" %>s %b`, `192.0.2.1 - a [b [02/Dec/2025:10:00:01 +0000] "GET / HTTP/1.1" 200 -`)
	f.Add(`$remote_addr [$time_local] "$request"`, `1 [`+strings.Repeat(" [", 200))
	f.Fuzz(func(t *testing.T, format, line string) {
		fm, err := ParseFormat(format)
		if err != nil {
			return
		}
		r, err := fm.Parse([]byte(line))
		if err == nil && bytes.IndexByte([]byte(r.Client), ' ') >= 0 {
			t.Errorf("client %q holds a space", r.Client)
		}
	})
}
