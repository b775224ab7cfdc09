package alert

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/finding"
)

// A seq is never reused: not after a clean stop, not after a crash (the
// reservation is skipped), not when the seq file is lost or corrupt (the
// clock is the floor), and the start says which of these happened.
func TestSequencerNeverReuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "alert-seq")
	s, err := OpenSequencer(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Start(); st.Reset == "" || st.Crashed {
		t.Errorf("first start %+v, want a reset (no seq file) and no crash", st)
	}
	var last uint64
	for range seqBlock + 5 { // crosses a reservation
		n := s.Next()
		if n <= last {
			t.Fatalf("seq %d after %d", n, last)
		}
		last = n
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenSequencer(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Start(); st.PrevLast != last || st.First <= last || st.Crashed || st.Reset != "" {
		t.Errorf("after a clean stop at %d: %+v", last, st)
	}
	last = s.Next()
	// A crash: the process ends without Close; the next run starts past
	// the reservation.
	s, err = OpenSequencer(path)
	if err != nil {
		t.Fatal(err)
	}
	st := s.Start()
	if !st.Crashed || st.PrevReserved < last || st.First <= st.PrevReserved {
		t.Errorf("after a crash (last issued %d): %+v", last, st)
	}
	last = s.Next()
	for _, content := range []string{"", "{garbage", `{"reserved":5,"last":9}`} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err = OpenSequencer(path)
		if err != nil {
			t.Fatal(err)
		}
		if st := s.Start(); st.Reset == "" || st.First <= last {
			t.Errorf("seq file %q: %+v, want a reset past %d", content, st, last)
		}
		last = s.Next()
	}
}

// streamBodies links n alerts into a stream and returns their bodies as a
// receiver stores them.
func streamBodies(t *testing.T, s *Stream, n int, kind Kind) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		a := Alert{ID: NewID(time.Now()), Time: time.Now().UTC(), Host: "web-01", Kind: kind, Severity: finding.SeverityHigh,
			Message: "alert " + string(rune('a'+i%26)), File: &File{Path: "/var/www/x\n\xff.php"}}
		s.Link(&a)
		body, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		// What a receiver gets went through the spool: decoded and
		// encoded again. The chain must survive it.
		var back Alert
		if err := json.Unmarshal(body, &back); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(back)
		if !bytes.Equal(again, body) {
			t.Fatalf("an alert does not survive a round trip:\n%s\n%s", body, again)
		}
		out = append(out, body)
	}
	return out
}

func verifyBodies(t *testing.T, bodies [][]byte) VerifyReport {
	t.Helper()
	recs, bad, err := ReadRecords(bytes.NewReader(append(bytes.Join(bodies, []byte("\n")), '\n')))
	if err != nil {
		t.Fatal(err)
	}
	return Verify(recs, bad)
}

func problemsOf(rep VerifyReport) []Problem {
	var out []Problem
	for _, s := range rep.Streams {
		out = append(out, s.Problems...)
	}
	return append(out, rep.Unread...)
}

// A stream links across a restart (the head file), and verify names each
// deleted, duplicated, edited or moved record.
func TestStreamVerifyNamesEachTampering(t *testing.T) {
	dir := t.TempDir()
	seq, err := OpenSequencer(filepath.Join(dir, "alert-seq"))
	if err != nil {
		t.Fatal(err)
	}
	head := filepath.Join(dir, "streams", "webhook-x")
	s, err := OpenStream(head, "webhook x", seq)
	if err != nil {
		t.Fatal(err)
	}
	bodies := streamBodies(t, s, 5, KindDetection)
	s.Close()
	s, err = OpenStream(head, "webhook x", seq) // a restart
	if err != nil {
		t.Fatal(err)
	}
	bodies = append(bodies, streamBodies(t, s, 5, KindDetection)...)
	if rep := verifyBodies(t, bodies); rep.Problems != 0 || rep.Streams[0].Records != 10 {
		t.Fatalf("an intact stream across a restart: %+v", rep)
	}
	seqOf := func(i int) uint64 {
		var a Alert
		json.Unmarshal(bodies[i], &a)
		return a.Seq
	}

	for _, c := range []struct {
		name   string
		edit   func([][]byte) [][]byte
		kind   string
		seq    uint64
		noMore bool
	}{
		{"delete one", func(b [][]byte) [][]byte { return append(append([][]byte{}, b[:3]...), b[4:]...) }, ProblemGap, seqOf(3), true},
		{"delete the last but a heartbeat names it", func(b [][]byte) [][]byte {
			hb := Alert{ID: "hb", Host: "web-01", Kind: KindHeartbeat, Heartbeat: &Heartbeat{LastSeq: seqOf(9)}}
			body, _ := json.Marshal(hb)
			return append(append([][]byte{}, b[:9]...), body)
		}, ProblemGap, seqOf(9), true},
		{"duplicate one", func(b [][]byte) [][]byte { return append(append([][]byte{}, b...), b[6]) }, ProblemDuplicate, seqOf(6), true},
		{"edit one", func(b [][]byte) [][]byte {
			out := append([][]byte{}, b...)
			out[2] = bytes.Replace(out[2], []byte(`"severity":"high"`), []byte(`"severity":"low"`), 1)
			return out
		}, ProblemAltered, seqOf(2), true},
		{"edit one and recompute its chain", func(b [][]byte) [][]byte {
			out := append([][]byte{}, b...)
			canon, _, _ := CanonicalOf(out[2])
			canon = bytes.Replace(canon, []byte(`"severity":"high"`), []byte(`"severity":"low"`), 1)
			out[2] = append(canon[:len(canon)-1], []byte(`,"chain":"`+ChainOf(canon)+`"}`)...)
			return out
		}, ProblemAltered, seqOf(2), true},
		{"swap two", func(b [][]byte) [][]byte {
			out := append([][]byte{}, b...)
			out[4], out[5] = out[5], out[4]
			return out
		}, ProblemReorder, seqOf(4), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := verifyBodies(t, c.edit(bodies))
			ps := problemsOf(rep)
			if len(ps) == 0 || ps[0].Kind != c.kind || ps[0].Seq != c.seq || (c.noMore && len(ps) != 1) {
				t.Errorf("problems %v, want exactly one %s naming seq %d", ps, c.kind, c.seq)
			}
		})
	}
}

// A grouped alert explains the gaps of the alerts it folded; a lost one is
// reported as lost, with the alerts_dropped that says so.
func TestVerifyGroupedAndDropped(t *testing.T) {
	dir := t.TempDir()
	seq, err := OpenSequencer(filepath.Join(dir, "alert-seq"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStream(filepath.Join(dir, "s"), "s", seq)
	if err != nil {
		t.Fatal(err)
	}
	bodies := streamBodies(t, s, 6, KindScanFailed)
	seqOf := func(i int) uint64 {
		var a Alert
		json.Unmarshal(bodies[i], &a)
		return a.Seq
	}
	var rs seqRanges
	rs.add(seqOf(1))
	rs.add(seqOf(2))
	g := Alert{ID: "g", Host: "web-01", Kind: KindAlertsGrouped, Count: 2, Seqs: rs.String()}
	s.Link(&g)
	gb, _ := json.Marshal(g)
	var ls seqRanges
	ls.add(seqOf(4))
	d := Alert{ID: "d", Host: "web-01", Kind: KindAlertsDropped, Count: 1, Seqs: ls.String()}
	s.Link(&d)
	db, _ := json.Marshal(d)
	stream := [][]byte{bodies[0], bodies[3], bodies[5], gb, db}
	rep := verifyBodies(t, stream)
	ps := problemsOf(rep)
	if len(ps) != 1 || ps[0].Kind != ProblemLost || ps[0].Seq != seqOf(4) {
		t.Errorf("problems %v, want only seq %d lost", ps, seqOf(4))
	}
	if !strings.Contains(strings.Join(rep.Streams[0].Notes, "\n"), "grouped") {
		t.Errorf("notes %v, want the grouped gap explained", rep.Streams[0].Notes)
	}
}

// verify reads `journalctl -o json`: SHELLWATCH_JSON as a string or, when
// journalctl writes it as bytes, as an array of numbers; entries of other
// programs and the agent's own log lines are skipped; fields that
// disagree with the JSON are an alteration.
func TestVerifyReadsJournalJSON(t *testing.T) {
	dir := t.TempDir()
	seq, err := OpenSequencer(filepath.Join(dir, "alert-seq"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStream(filepath.Join(dir, "journald"), "journald", seq)
	if err != nil {
		t.Fatal(err)
	}
	bodies := streamBodies(t, s, 3, KindDetection)
	entry := func(body []byte, asBytes bool, seqField string) []byte {
		var a Alert
		json.Unmarshal(body, &a)
		e := map[string]any{"SYSLOG_IDENTIFIER": "shellwatch", JournalAlertID: a.ID, JournalChain: a.Chain, JournalSeq: seqField}
		if asBytes {
			nums := make([]int, len(body))
			for i, b := range body {
				nums[i] = int(b)
			}
			e[JournalJSON] = nums
		} else {
			e[JournalJSON] = string(body)
		}
		out, _ := json.Marshal(e)
		return out
	}
	seqStr := func(b []byte) string {
		var a Alert
		json.Unmarshal(b, &a)
		return strconv.FormatUint(a.Seq, 10)
	}
	lines := [][]byte{
		[]byte(`{"SYSLOG_IDENTIFIER":"sshd","MESSAGE":"hello"}`),
		[]byte(`{"SYSLOG_IDENTIFIER":"shellwatch","MESSAGE":"level=INFO msg=watching"}`),
		entry(bodies[0], false, seqStr(bodies[0])),
		entry(bodies[1], true, seqStr(bodies[1])),
		entry(bodies[2], false, seqStr(bodies[2])),
	}
	if rep := verifyBodies(t, lines); rep.Problems != 0 || len(rep.Streams) != 1 || rep.Streams[0].Records != 3 {
		t.Fatalf("journal entries: %+v", rep)
	}
	lines[4] = entry(bodies[2], false, "1")
	ps := problemsOf(verifyBodies(t, lines))
	if len(ps) != 1 || ps[0].Kind != ProblemAltered {
		t.Errorf("a journal entry whose SHELLWATCH_SEQ disagrees with its JSON: %v", ps)
	}
}
