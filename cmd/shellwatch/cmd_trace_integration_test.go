package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/internal/weblogtest"
)

// traceLogs writes a generated combined log with rotated and gzipped
// parts, a web root served at /shop and a config naming both; it returns
// the config, the root and the number of requests for the shell.
func traceLogs(t *testing.T) (cfgPath, root string, hits int) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "www")
	logDir := filepath.Join(dir, "log")
	spec := weblogtest.Spec{Dir: logDir, Lines: 30000, Parts: 5, Start: time.Date(2025, 11, 28, 0, 0, 0, 0, time.UTC), Span: 72 * time.Hour,
		Shell: "/shop/up/x.php", Upload: "/shop/upload.php", ShellEvery: 1000, ShellClients: []string{"203.0.113.7", "203.0.113.8"}, Seed: 7}
	hits, err := spec.Write()
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "up", "x.php"), "<?php\n")
	cfgPath = write(t, filepath.Join(dir, "config.toml"), fmt.Sprintf(`
[[watch]]
path = %q
url_path = "/shop"

[[access_log]]
path = %q
`, root, filepath.Join(logDir, "access.log")))
	return cfgPath, root, hits
}

// trace on a URL and on the file behind it: the timeline, oldest first,
// across the rotated and gzipped parts, and the summaries.
func TestTraceURLAndPath(t *testing.T) {
	cfg, root, hits := traceLogs(t)
	for _, operand := range []string{"/shop/up/x.php", filepath.Join(root, "up", "x.php")} {
		r := runCmd(t, "trace", "--config", cfg, operand)
		if r.status != exitOK {
			t.Fatalf("trace %s: %+v", operand, r)
		}
		timeline, summary, _ := strings.Cut(r.stdout, "\n\n")
		lines := strings.Split(timeline, "\n")
		if len(lines) != hits {
			t.Errorf("trace %s: %d lines, want %d:\n%s", operand, len(lines), hits, r.stdout)
		}
		prev := ""
		for _, l := range lines {
			f := strings.Split(l, "\t")
			if len(f) != 7 || f[2] != "GET" || f[5] != "/shop/up/x.php?c=id" || f[0] < prev {
				t.Errorf("timeline line %q", l)
			}
			prev = f[0]
		}
		for _, want := range []string{fmt.Sprintf("%d requests for /shop/up/x.php from 2 clients", hits), "203.0.113.7\t", "203.0.113.8\t", "days:\n  2025-11-28\t"} {
			if !strings.Contains(summary, want) {
				t.Errorf("trace %s: summary lacks %q:\n%s", operand, want, summary)
			}
		}
		if !strings.Contains(r.stderr, "read 5 files") {
			t.Errorf("stderr %q", r.stderr)
		}
	}
}

// --ip with --since and --until, as JSON lines: everything one client did
// in that time, the upload POST included.
func TestTraceIPSinceUntilJSON(t *testing.T) {
	cfg, _, _ := traceLogs(t)
	r := runCmd(t, "trace", "--config", cfg, "--json", "--since", "2025-11-28", "--until", "2025-11-28T12:00:00Z", "--ip", "203.0.113.7")
	if r.status != exitOK {
		t.Fatalf("trace: %+v", r)
	}
	var requests int
	var sum struct {
		Type   string `json:"type"`
		Count  int    `json:"count"`
		Client string `json:"client"`
	}
	post := false
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		switch rec["type"] {
		case "request":
			requests++
			at, _ := time.Parse(time.RFC3339, rec["time"].(string))
			if rec["client"] != "203.0.113.7" || at.Before(time.Date(2025, 11, 28, 0, 0, 0, 0, time.UTC)) || !at.Before(time.Date(2025, 11, 28, 12, 0, 0, 0, time.UTC)) {
				t.Errorf("selected %v", rec)
			}
			post = post || (rec["method"] == "POST" && rec["url"] == "/shop/upload.php")
		case "summary":
			json.Unmarshal([]byte(l), &sum)
		}
	}
	// Shell lines every 1000 of 30000 over 72 h: i = 500, 1500, …; client
	// .7 for even thousands; the first 12 h hold i < 5000: 500, 2500, 4500.
	if requests != 3 || !post || sum.Type != "summary" || sum.Count != 3 || sum.Client != "203.0.113.7" {
		t.Errorf("%d requests (POST seen %v), summary %+v; want 3 with the upload POST:\n%s", requests, post, sum, r.stdout)
	}
}

// Hostile lines: one line of the log stays one line of output, and a
// line written in another format is counted, not mistaken.
func TestTraceHostileLinesAndLogFlag(t *testing.T) {
	dir := t.TempDir()
	log := write(t, filepath.Join(dir, "access.log"),
		`192.0.2.1 - - [02/Dec/2025:10:00:01 +0000] "GET /x.php?\x0A\x1B[31mforged HTTP/1.1" 200 1 "-" "a\x09b\x22 200"`+"\n"+
			`192.0.2.2 - - [02/Dec/2025:10:00:02 +0000] "GET /x.php HTTP/1.1" 200 1 "-" "\xff"`+"\n"+
			"/x.php junk that is not a log line\n")
	r := runCmd(t, "trace", "--log", log, "--format", `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`, "/x.php")
	if r.status != exitOK {
		t.Fatalf("trace: %+v", r)
	}
	timeline, _, _ := strings.Cut(r.stdout, "\n\n")
	lines := strings.Split(timeline, "\n")
	if len(lines) != 2 || strings.Contains(timeline, "\x1b") || !utf8.ValidString(timeline) || len(strings.Split(lines[0], "\t")) != 7 {
		t.Errorf("timeline not one line per request, or raw control bytes:\n%q", timeline)
	}
	if !strings.Contains(lines[0], `"/x.php?\n\x1b[31mforged"`) {
		t.Errorf("target not quoted: %q", lines[0])
	}
	if !strings.Contains(r.stderr, "1 lines not in their log's format") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func TestTraceErrors(t *testing.T) {
	cfg, _, _ := traceLogs(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "--config", cfg}, "name one URL or PATH"},
		{[]string{"trace", "--config", cfg, "--ip", "192.0.2.1", "/x.php"}, "do not go together"},
		{[]string{"trace", "/x.php"}, "no access log"},
		{[]string{"trace", "--config", cfg, "--since", "yesterday", "/x.php"}, "--since"},
		{[]string{"trace", "--log", "/x", "--format", "%Z", "/x.php"}, "%Z is not a LogFormat directive"},
		{[]string{"trace", "--log", filepath.Join(dir, "none.log"), "/x.php"}, "no such log"},
		{[]string{"trace", "--config", cfg, "relative/x.php"}, "neither a URL path"},
	} {
		r := runCmd(t, tc.args...)
		if r.status != exitError || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("shellwatch %q: status %d, stderr %q; want 2 and %q", tc.args, r.status, r.stderr, tc.want)
		}
	}
}

// A URL operand with a port names the host the logs carry without it
// ($host, %v): "http://Shop:8080/x.php" is host "shop".
func TestTraceTargetDropsThePort(t *testing.T) {
	for _, op := range []string{"http://Shop:8080/up/x.php", "https://shop/up/x.php"} {
		tg, _, err := traceTarget(op, config.Default())
		if err != nil || tg.Path != "/up/x.php" || len(tg.Hosts) != 1 || tg.Hosts[0] != "shop" {
			t.Errorf("traceTarget(%q) = %+v, %v", op, tg, err)
		}
	}
}
