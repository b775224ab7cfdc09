package alert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// A stream record, as `shellwatch verify` reads it: one alert of one
// sink's stream, from a receiver's JSON-lines file (the webhook bodies, one
// a line; the stderr fallback) or from `journalctl -o json`.
type Record struct {
	Line  int    // 1-based line of the input
	Body  []byte // the alert's JSON form, exactly as received
	Alert Alert
	// Journal holds the journal entry's SHELLWATCH_SEQ and
	// SHELLWATCH_CHAIN when the record came from one, to be checked
	// against the JSON.
	Journal *struct{ Seq, Chain, AlertID string }
}

// Problem kinds of a [VerifyReport].
const (
	ProblemGap       = "gap"        // a record the stream links to is missing
	ProblemLost      = "lost"       // a gap the agent itself announced (alerts_dropped): the sink lost it
	ProblemDuplicate = "duplicate"  // the same record twice
	ProblemReorder   = "reorder"    // a record after one with a higher seq
	ProblemAltered   = "altered"    // a record whose content does not match its chain, or that does not follow the one before it
	ProblemRestart   = "restart"    // the stream starts again in the middle (the agent lost its head file)
	ProblemUnlinked  = "unlinked"   // a shellwatch alert without seq and chain
	ProblemUnread    = "unreadable" // a line that is not an alert
)

// Problem is one thing verify found wrong in a stream.
type Problem struct {
	Kind string
	Seq  uint64 // the seq at fault (the missing one for a gap), 0 when none
	Line int    // the input line at fault, 0 for a missing record
	Text string // what is wrong, for people
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", p.Kind, p.Line, p.Text)
	}
	return fmt.Sprintf("%s: %s", p.Kind, p.Text)
}

// StreamReport is what verify found in the stream of one host.
type StreamReport struct {
	Host       string
	Records    int
	Heartbeats int
	First      uint64 // lowest seq
	Last       uint64 // highest seq
	Problems   []Problem
	// Notes are what is not wrong but worth knowing: the stream began
	// before the input did, gaps explained by alerts_grouped, crashes the
	// agent reported.
	Notes []string
}

// VerifyReport is the result of [Verify].
type VerifyReport struct {
	Streams  []StreamReport
	Unread   []Problem // lines that are not alerts
	Problems int       // total, Unread included
}

// ReadRecords reads JSON lines: alert bodies or `journalctl -o json`
// entries (those of other programs are skipped). Lines that are neither
// are returned as ProblemUnread.
func ReadRecords(r io.Reader) ([]Record, []Problem, error) {
	var out []Record
	var bad []Problem
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		rec, ok, err := parseRecord(text)
		switch {
		case err != nil:
			bad = append(bad, Problem{Kind: ProblemUnread, Line: line, Text: err.Error()})
		case ok:
			rec.Line = line
			out = append(out, rec)
		}
	}
	return out, bad, sc.Err()
}

// parseRecord reads one line; ok is false for a journal entry of another
// program.
func parseRecord(text []byte) (Record, bool, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(text, &probe); err != nil {
		return Record{}, false, fmt.Errorf("not JSON: %v", err)
	}
	if _, isAlert := probe["schema_version"]; isAlert {
		rec := Record{Body: append([]byte(nil), text...)}
		if err := json.Unmarshal(text, &rec.Alert); err != nil {
			return Record{}, false, fmt.Errorf("not a shellwatch alert: %v", err)
		}
		return rec, true, nil
	}
	field := func(name string) (string, bool) {
		raw, ok := probe[name]
		if !ok {
			return "", false
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true
		}
		var b []byte // journalctl writes values that are not text as arrays of bytes
		var nums []int
		if json.Unmarshal(raw, &nums) == nil {
			for _, n := range nums {
				b = append(b, byte(n))
			}
			return string(b), true
		}
		return "", false
	}
	if id, _ := field("SYSLOG_IDENTIFIER"); id != JournalIdentifier {
		return Record{}, false, nil
	}
	alertID, isAlert := field(JournalAlertID)
	if !isAlert {
		return Record{}, false, nil // the agent's own log lines
	}
	body, ok := field(JournalJSON)
	if !ok {
		return Record{}, false, fmt.Errorf("journal entry of alert %s has no %s: written by a shellwatch without streams, or stripped", alertID, JournalJSON)
	}
	rec := Record{Body: []byte(body)}
	if err := json.Unmarshal(rec.Body, &rec.Alert); err != nil {
		return Record{}, false, fmt.Errorf("journal entry of alert %s: %s is not an alert: %v", alertID, JournalJSON, err)
	}
	seq, _ := field(JournalSeq)
	chain, _ := field(JournalChain)
	rec.Journal = &struct{ Seq, Chain, AlertID string }{seq, chain, alertID}
	return rec, true, nil
}

// Verify checks each host's stream in records: every record holds the
// chain of its content; every record it links to (prev_seq) is there and
// its chain is the one the link names; no seq comes twice or out of order;
// and every seq a heartbeat names as the stream's last is there. A record
// before the first of the input is not asked for: the input may start in
// the middle of a stream.
func Verify(records []Record, unread []Problem) VerifyReport {
	byHost := map[string][]Record{}
	var hosts []string
	for _, r := range records {
		if _, ok := byHost[r.Alert.Host]; !ok {
			hosts = append(hosts, r.Alert.Host)
		}
		byHost[r.Alert.Host] = append(byHost[r.Alert.Host], r)
	}
	rep := VerifyReport{Unread: unread, Problems: len(unread)}
	for _, h := range hosts {
		sr := verifyStream(h, byHost[h])
		rep.Problems += len(sr.Problems)
		rep.Streams = append(rep.Streams, sr)
	}
	return rep
}

func verifyStream(host string, recs []Record) StreamReport {
	sr := StreamReport{Host: host}
	problem := func(kind string, seq uint64, line int, format string, args ...any) {
		sr.Problems = append(sr.Problems, Problem{Kind: kind, Seq: seq, Line: line, Text: fmt.Sprintf(format, args...)})
	}
	bySeq := map[uint64]Record{}
	var linked []Record
	var beats []Record
	var maxSeq uint64
	maxLine := 0
	explained := map[uint64]Record{} // seqs a grouped or dropped record stands for
	for _, r := range recs {
		a := r.Alert
		if a.Kind == KindHeartbeat {
			beats = append(beats, r)
			continue
		}
		if a.Seq == 0 || a.Chain == "" {
			problem(ProblemUnlinked, 0, r.Line, "alert %s (%s) has no seq or chain: it is not part of the stream", a.ID, a.Kind)
			continue
		}
		sr.Records++
		canon, chain, ok := CanonicalOf(r.Body)
		switch {
		case !ok:
			problem(ProblemAltered, a.Seq, r.Line, "seq %d: the chain is not the last member of the JSON", a.Seq)
		case ChainOf(canon) != chain:
			problem(ProblemAltered, a.Seq, r.Line, "seq %d (%s %s): its content does not match its chain", a.Seq, a.Kind, a.ID)
		}
		if j := r.Journal; j != nil && (j.Seq != strconv.FormatUint(a.Seq, 10) || j.Chain != a.Chain || j.AlertID != a.ID) {
			problem(ProblemAltered, a.Seq, r.Line, "seq %d: the journal entry's %s, %s or %s do not match its %s",
				a.Seq, JournalSeq, JournalChain, JournalAlertID, JournalJSON)
		}
		if prev, dup := bySeq[a.Seq]; dup {
			if bytes.Equal(prev.Body, r.Body) {
				problem(ProblemDuplicate, a.Seq, r.Line, "seq %d (%s %s) is also on line %d", a.Seq, a.Kind, a.ID, prev.Line)
			} else {
				problem(ProblemAltered, a.Seq, r.Line, "seq %d differs from the record with the same seq on line %d", a.Seq, prev.Line)
			}
			continue
		}
		if a.Seq < maxSeq {
			problem(ProblemReorder, a.Seq, r.Line, "seq %d comes after seq %d (line %d)", a.Seq, maxSeq, maxLine)
		} else {
			maxSeq, maxLine = a.Seq, r.Line
		}
		bySeq[a.Seq] = r
		linked = append(linked, r)
		if a.Seqs != "" && (a.Kind == KindAlertsGrouped || a.Kind == KindAlertsDropped) {
			for _, n := range parseSeqRanges(a.Seqs) {
				explained[n] = r
			}
		}
	}
	sort.Slice(linked, func(i, j int) bool { return linked[i].Alert.Seq < linked[j].Alert.Seq })
	if len(linked) > 0 {
		sr.First, sr.Last = linked[0].Alert.Seq, linked[len(linked)-1].Alert.Seq
	}
	for i, r := range linked {
		a := r.Alert
		if a.Kind == KindAgentStarted && a.Start != nil && a.Start.Crashed {
			sr.Notes = append(sr.Notes, fmt.Sprintf("seq %d: the agent restarted after a crash (it had reserved seqs up to %d); alerts it lost in memory show as gaps", a.Seq, a.Start.PrevReserved))
		}
		if a.PrevSeq == 0 {
			if i > 0 {
				problem(ProblemRestart, a.Seq, r.Line, "seq %d starts the stream again: %s; what came before it cannot be checked", a.Seq, a.StreamStart)
			}
			continue
		}
		prev, ok := bySeq[a.PrevSeq]
		if ok {
			if prev.Alert.Chain != a.PrevChain {
				problem(ProblemAltered, prev.Alert.Seq, prev.Line, "seq %d is not the record seq %d (line %d) follows: one of them was altered", prev.Alert.Seq, a.Seq, r.Line)
			}
			continue
		}
		if i == 0 {
			sr.Notes = append(sr.Notes, fmt.Sprintf("the input begins in the middle of the stream: seq %d follows seq %d, which is not in it", a.Seq, a.PrevSeq))
			continue
		}
		if by, ok := explained[a.PrevSeq]; ok {
			if by.Alert.Kind == KindAlertsGrouped {
				sr.Notes = append(sr.Notes, fmt.Sprintf("seq %d (and the alerts before it) grouped into seq %d (line %d)", a.PrevSeq, by.Alert.Seq, by.Line))
				continue
			}
			problem(ProblemLost, a.PrevSeq, 0, "seq %d, before seq %d (line %d), was lost by the sink, as alerts_dropped seq %d (line %d) says", a.PrevSeq, a.Seq, r.Line, by.Alert.Seq, by.Line)
			continue
		}
		problem(ProblemGap, a.PrevSeq, 0, "seq %d is missing: seq %d (line %d) follows it; the gap lies after seq %d", a.PrevSeq, a.Seq, r.Line, linked[i-1].Alert.Seq)
	}
	for _, b := range beats {
		sr.Heartbeats++
		hb := b.Alert.Heartbeat
		if hb == nil || hb.LastSeq == 0 || hb.LastSeq < sr.First {
			continue
		}
		r, ok := bySeq[hb.LastSeq]
		switch {
		case !ok:
			problem(ProblemGap, hb.LastSeq, 0, "seq %d is missing: the heartbeat of %s (line %d) names it as the stream's last", hb.LastSeq, b.Alert.Time.Format("2006-01-02T15:04:05Z07:00"), b.Line)
		case hb.LastChain != "" && hb.LastChain != r.Alert.Chain:
			problem(ProblemAltered, r.Alert.Seq, r.Line, "seq %d does not have the chain the heartbeat on line %d names", r.Alert.Seq, b.Line)
		}
	}
	sort.SliceStable(sr.Problems, func(i, j int) bool { return sr.Problems[i].Seq < sr.Problems[j].Seq })
	return sr
}

// parseSeqRanges reads "12-40,45,…".
func parseSeqRanges(s string) []uint64 {
	var out []uint64
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a || b-a > 1<<20 {
				continue
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out
}
