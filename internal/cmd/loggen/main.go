// Command loggen writes a synthetic combined access log with rotated and
// gzipped parts, for `make bench-trace`:
//
//	go run ./internal/cmd/loggen -dir build/bench/weblog -lines 20000000 -parts 10
//
// Every -shell-every-th line requests -shell from one of three clients.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/shellwatch/shellwatch/internal/weblogtest"
)

func main() {
	dir := flag.String("dir", "build/bench/weblog", "folder to write access.log and its rotated parts into")
	lines := flag.Int("lines", 20_000_000, "lines in all parts")
	parts := flag.Int("parts", 10, "files: access.log, access.log.1, then access.log.N.gz")
	shell := flag.String("shell", "/wp-content/uploads/2025/12/cache.php", "URL path of the webshell some lines request")
	every := flag.Int("shell-every", 100_000, "one request for the shell every this many lines")
	flag.Parse()
	spec := weblogtest.Spec{
		Dir: *dir, Lines: *lines, Parts: *parts,
		Start: time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), Span: 30 * 24 * time.Hour,
		Shell: *shell, Upload: "/wp-admin/admin-ajax.php?action=upload", ShellEvery: *every,
		ShellClients: []string{"203.0.113.7", "203.0.113.8", "192.0.2.99"}, Seed: 1,
	}
	hits, err := spec.Write()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loggen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d lines in %s (%d requests for %s)\n", *lines, strings.Join(spec.Files(), " "), hits, *shell)
}
