package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelp: every way of asking for a command's help prints that command's
// usage and flags once, on stdout, and exits 0; a bad flag prints the usage
// on stderr and exits 2.
func TestHelp(t *testing.T) {
	usages := map[string]string{
		"run": runUsage, "status": statusUsage, "deploy": deployUsage, "baseline": baselineUsage,
		"scan": scanUsage, "explain": explainUsage, "rules": rulesUsage, "quarantine": quarantineUsage,
		"trace":  traceUsage,
		"verify": verifyUsage,
	}
	for cmd, usage := range usages {
		firstLine := strings.SplitN(strings.TrimPrefix(usage, "Usage:\n"), "\n", 2)[0]
		ways := [][]string{{"help", cmd}, {cmd, "--help"}, {cmd, "-h"}, {"--help", cmd}}
		switch cmd {
		case "deploy", "baseline", "rules":
			sub := map[string]string{"deploy": "begin", "baseline": "diff", "rules": "check"}[cmd]
			ways = append(ways, []string{cmd, sub, "--help"}, []string{"help", cmd, sub}, []string{cmd, "help"})
		case "quarantine":
			ways = append(ways, []string{cmd, "list", "--help"}, []string{cmd, "help"})
		}
		for _, args := range ways {
			var stdout, stderr bytes.Buffer
			status := run(args, &stdout, &stderr)
			out := stdout.String()
			if status != exitOK || stderr.Len() != 0 {
				t.Errorf("shellwatch %q: status %d, stderr %q; want 0 and nothing on stderr", args, status, stderr.String())
			}
			if !strings.HasPrefix(out, usage) || strings.Count(out, firstLine) != 1 {
				t.Errorf("shellwatch %q printed, want the %s usage once:\n%s", args, cmd, out)
			}
			flag := "  -config"
			if cmd == "verify" {
				flag = "  -journal"
			}
			if !strings.Contains(out, flag) || strings.Contains(out, usageSummary) {
				t.Errorf("shellwatch %q: want the flags of %s, not the general usage:\n%s", args, cmd, out)
			}
		}
	}

	var stdout, stderr bytes.Buffer
	if status := run([]string{"help"}, &stdout, &stderr); status != exitOK || stdout.String() != usageSummary {
		t.Errorf("shellwatch help: status %d, stdout %q", status, stdout.String())
	}
	stdout.Reset()
	if status := run([]string{"help", "frobnicate"}, &stdout, &stderr); status != exitError || !strings.Contains(stderr.String(), `unknown command "frobnicate"`) {
		t.Errorf("shellwatch help frobnicate: status %d, stderr %q", status, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	status := run([]string{"run", "--bogus"}, &stdout, &stderr)
	if status != exitError || stdout.Len() != 0 || !strings.Contains(stderr.String(), "-bogus") ||
		strings.Count(stderr.String(), "shellwatch run [--config F]") != 1 {
		t.Errorf("shellwatch run --bogus: status %d, stdout %q, stderr %q; want 2, the error and the usage once on stderr", status, stdout.String(), stderr.String())
	}
}
