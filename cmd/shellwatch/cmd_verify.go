package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/safetext"
)

const verifyUsage = `Usage:
  shellwatch verify [FILE]
  shellwatch verify --journal [--since TIME]
      Check an alert stream: a receiver's JSON-lines file (the webhook
      bodies, one a line, as the README's receiver writes them; the
      stderr fallback), ` + "`journalctl -o json`" + ` output on stdin or in FILE, or,
      with --journal, the local journal (journalctl is run for the
      shellwatch entries). Each alert carries its seq and the seq and
      chain of the alert before it in that sink's stream: verify reports
      every gap (an alert the stream links to that is not there, or the
      last seq a heartbeat names), every duplicate, every record out of
      order, every altered record (its content does not hash to its
      chain, or the next one does not link to it), and a stream that
      starts again. Gaps the agent announced itself (alerts_dropped) are
      reported as lost; those alerts_grouped stands for are noted.

Exit status: 0 the stream is whole, 1 a problem was found, 2 an error.

Flags:
`

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", verifyUsage, stdout, stderr)
	journal := fs.Bool("journal", false, "read the local journal (runs journalctl -o json SYSLOG_IDENTIFIER=shellwatch)")
	since := fs.String("since", "", "with --journal: only entries since `TIME` (journalctl --since)")
	operands, stop, status := fs.parse(args)
	if stop {
		return status
	}
	if len(operands) > 1 || (*journal && len(operands) > 0) {
		fmt.Fprintln(stderr, "shellwatch verify: one FILE, or --journal, or stdin")
		return fs.usageError()
	}
	var in io.Reader = os.Stdin
	switch {
	case *journal:
		jargs := []string{"-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=" + alert.JournalIdentifier}
		if *since != "" {
			jargs = append(jargs, "--since", *since)
		}
		var out, errOut bytes.Buffer
		cmd := exec.Command("journalctl", jargs...)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(stderr, "shellwatch verify: journalctl: %v: %s\n", err, bytes.TrimSpace(errOut.Bytes()))
			return exitError
		}
		in = &out
	case len(operands) == 1:
		f, err := os.Open(operands[0])
		if err != nil {
			fmt.Fprintf(stderr, "shellwatch verify: %v\n", err)
			return exitError
		}
		defer f.Close()
		in = f
	}
	records, unread, err := alert.ReadRecords(in)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch verify: read: %v\n", err)
		return exitError
	}
	rep := alert.Verify(records, unread)
	for _, p := range rep.Unread {
		fmt.Fprintln(stdout, p)
	}
	for _, s := range rep.Streams {
		fmt.Fprintf(stdout, "host %s: %d alerts (seq %d to %d), %d heartbeats, %d problems\n",
			safetext.Path(s.Host), s.Records, s.First, s.Last, s.Heartbeats, len(s.Problems))
		for _, p := range s.Problems {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(stdout, "  note: %s\n", n)
		}
	}
	if len(rep.Streams) == 0 {
		fmt.Fprintln(stdout, "no shellwatch alert in the input")
	}
	if rep.Problems > 0 {
		return exitFlagged
	}
	return exitOK
}
