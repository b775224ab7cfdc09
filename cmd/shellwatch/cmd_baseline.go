package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/safetext"
)

const baselineUsage = `Usage:
  shellwatch baseline accept [--config F] [--manifest FILE] [PATH…]
      Accept files (folders: every file below) into the baseline as they
      are now: after a hotfix you have checked, say. With --manifest, FILE
      holds "sha256  path" lines (sha256sum output, absolute paths, "#"
      comments): each file is accepted when it is, or arrives, at its path
      with exactly that hash (until deploy.max_ttl from now); anything else
      there still alerts. Run it before the files land.
  shellwatch baseline diff [--config F] [--json]
      List what differs from the accepted baseline now: A added, M changed,
      D deleted (on disk, not yet seen by the daemon), U unaccepted (seen
      and alerted, never accepted).

Both talk to the running daemon over agent.control_socket (root only).
Exit status: 0 done (diff: nothing differs), 1 diff lists differences,
3 the daemon is not running, 2 an error.

Flags:
`

func runBaseline(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, baselineUsage)
		return exitError
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("baseline "+sub, baselineUsage, stdout, stderr)
	configPath := fs.String("config", config.DefaultPath, "the daemon's config `file` (for agent.control_socket)")
	manifest := fs.String("manifest", "", "with accept: a `file` of \"sha256  path\" lines")
	asJSON := fs.Bool("json", false, "with diff: one JSON object")
	switch sub {
	case "accept", "diff":
	case "-h", "--help", "help":
		return fs.help()
	default:
		fmt.Fprintf(stderr, "shellwatch baseline: unknown subcommand %q\n\n%s", sub, baselineUsage)
		return exitError
	}
	operands, stop, status := fs.parse(args)
	if stop {
		return status
	}
	if sub == "diff" {
		if len(operands) > 0 || *manifest != "" {
			fmt.Fprintln(stderr, "shellwatch baseline diff: takes no paths and no --manifest")
			return exitError
		}
		return baselineDiff(*configPath, *asJSON, stdout, stderr)
	}
	args2 := wire.AcceptArgs{}
	for _, p := range operands {
		abs, err := filepath.Abs(p)
		if err != nil {
			fmt.Fprintf(stderr, "shellwatch: %v\n", err)
			return exitError
		}
		args2.Paths = append(args2.Paths, abs)
	}
	if *manifest != "" {
		entries, err := readManifest(*manifest)
		if err != nil {
			fmt.Fprintf(stderr, "shellwatch: %v\n", err)
			return exitError
		}
		args2.Manifest = entries
	}
	if len(args2.Paths) == 0 && len(args2.Manifest) == 0 {
		fmt.Fprintln(stderr, "shellwatch baseline accept: name files or folders, or --manifest FILE")
		return exitError
	}
	var res wire.AcceptResult
	if code := callDaemon(*configPath, wire.CmdBaselineAccept, args2, &res, stderr); code != exitOK {
		return code
	}
	fmt.Fprintf(stdout, "accepted %d, pending %d (manifest files not there yet), refused %d\n", len(res.Accepted), len(res.Pending), len(res.Refused))
	for _, p := range res.Flagged {
		fmt.Fprintf(stdout, "warning: %s is flagged by the rules; accepting it does not silence them\n", safetext.Path(p))
	}
	for _, r := range res.Refused {
		fmt.Fprintf(stderr, "refused: %s\n", r)
	}
	if len(res.Refused) > 0 {
		return exitError
	}
	return exitOK
}

func baselineDiff(configPath string, asJSON bool, stdout, stderr io.Writer) int {
	var res wire.DiffResult
	if code := callDaemon(configPath, wire.CmdBaselineDiff, nil, &res, stderr); code != exitOK {
		return code
	}
	if asJSON {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			fmt.Fprintf(stderr, "shellwatch: %v\n", err)
			return exitError
		}
	} else {
		marks := map[string]string{"added": "A", "changed": "M", "deleted": "D", "unaccepted": "U"}
		for _, e := range res.Entries {
			line := marks[e.Kind] + " " + safetext.Path(string(e.Path))
			if e.Detail != "" {
				line += "  (" + e.Detail + ")"
			}
			fmt.Fprintln(stdout, line)
		}
	}
	for _, e := range res.Errors {
		fmt.Fprintf(stderr, "error: %s\n", e)
	}
	switch {
	case len(res.Errors) > 0:
		return exitError
	case len(res.Entries) > 0:
		return exitFlagged
	}
	return exitOK
}

// readManifest reads "sha256  path" lines, as sha256sum writes them (a "*"
// before the path marks binary mode and is dropped). Errors name the line.
func readManifest(name string) ([]wire.ManifestEntry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	var out []wire.ManifestEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		sum, path, ok := strings.Cut(line, " ")
		path = strings.TrimPrefix(strings.TrimPrefix(path, " "), "*")
		if !ok || len(sum) != 64 || strings.Trim(strings.ToLower(sum), "0123456789abcdef") != "" || !filepath.IsAbs(path) {
			return nil, fmt.Errorf("manifest %s:%d: want \"<sha256>  /absolute/path\", got %q", name, n, line)
		}
		out = append(out, wire.ManifestEntry{SHA256: strings.ToLower(sum), Path: safetext.JSONPath(path)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", name, err)
	}
	return out, nil
}
