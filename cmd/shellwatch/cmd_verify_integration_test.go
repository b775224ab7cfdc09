package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/finding"
)

// TestVerifyCommand: `shellwatch verify FILE` says a whole stream is whole
// (exit 0) and names a deleted record (exit 1).
func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	seq, err := alert.OpenSequencer(filepath.Join(dir, "alert-seq"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := alert.OpenStream(filepath.Join(dir, "streams", "w"), "w", seq)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var lines [][]byte
	var seqs []uint64
	for i := range 4 {
		a := alert.Alert{ID: alert.NewID(time.Now()), Time: time.Now().UTC(), Host: "web-01", Kind: alert.KindDetection,
			Severity: finding.SeverityCritical, Message: "shell " + strconv.Itoa(i)}
		s.Link(&a)
		body, _ := json.Marshal(a)
		lines = append(lines, body)
		seqs = append(seqs, a.Seq)
	}
	whole := filepath.Join(dir, "whole.jsonl")
	write(t, whole, string(bytes.Join(lines, []byte("\n")))+"\n")
	if r := runCmd(t, "verify", whole); r.status != exitOK || !strings.Contains(r.stdout, "host web-01: 4 alerts") {
		t.Errorf("verify of a whole stream: %+v", r)
	}
	cut := filepath.Join(dir, "cut.jsonl")
	write(t, cut, string(bytes.Join([][]byte{lines[0], lines[1], lines[3]}, []byte("\n")))+"\n")
	r := runCmd(t, "verify", cut)
	if r.status != exitFlagged || !strings.Contains(r.stdout, "gap: seq "+strconv.FormatUint(seqs[2], 10)+" is missing") {
		t.Errorf("verify of a stream with a record deleted: %+v", r)
	}
}
