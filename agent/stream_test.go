package agent

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/internal/testenv"
)

// streamReceiver is the README's receiver: it checks the signature and
// keeps each alert's body once (delivery is at least once: it
// de-duplicates on id), one a line, as `shellwatch verify` reads them.
// While down it answers 503, as a receiver under maintenance does.
type streamReceiver struct {
	t      *testing.T
	secret []byte
	ln     net.Listener
	down   atomic.Bool

	mu      sync.Mutex
	seen    map[string]bool
	lines   [][]byte
	refused int
}

func newStreamReceiver(t *testing.T, secret []byte) *streamReceiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &streamReceiver{t: t, secret: secret, ln: ln, seen: map[string]bool{}}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *streamReceiver) url() string { return "http://" + r.ln.Addr().String() + "/hook" }

func (r *streamReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil || !hmac.Equal([]byte(req.Header.Get(alert.SignatureHeader)), []byte(alert.Sign(r.secret, body))) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down.Load() {
		r.refused++
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var a struct{ ID string }
	if err := json.Unmarshal(body, &a); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if !r.seen[a.ID] {
		r.seen[a.ID] = true
		r.lines = append(r.lines, body)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *streamReceiver) alerts() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []alert.Alert
	for _, l := range r.lines {
		var a alert.Alert
		if err := json.Unmarshal(l, &a); err != nil {
			r.t.Fatalf("received %s: %v", l, err)
		}
		out = append(out, a)
	}
	return out
}

func (r *streamReceiver) file() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.lines...)
}

func (r *streamReceiver) refusedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}

// wait waits for an alert for which match says yes.
func (r *streamReceiver) wait(what string, match func(alert.Alert) bool) alert.Alert {
	r.t.Helper()
	var got alert.Alert
	testenv.Eventually(r.t, waitFor, what, func() bool {
		for _, a := range r.alerts() {
			if match(a) {
				got = a
				return true
			}
		}
		return false
	})
	return got
}

func (r *streamReceiver) waitDetection(path string) alert.Alert {
	r.t.Helper()
	return r.wait("a detection of "+path, func(a alert.Alert) bool { return a.Kind == alert.KindDetection && a.Path() == path })
}

// verifyLines runs what `shellwatch verify FILE` runs on the lines.
func verifyLines(t *testing.T, lines [][]byte) alert.VerifyReport {
	t.Helper()
	recs, bad, err := alert.ReadRecords(bytes.NewReader(append(bytes.Join(lines, []byte("\n")), '\n')))
	if err != nil {
		t.Fatal(err)
	}
	return alert.Verify(recs, bad)
}

func problemsOf(rep alert.VerifyReport) []alert.Problem {
	var out []alert.Problem
	for _, s := range rep.Streams {
		out = append(out, s.Problems...)
	}
	return append(out, rep.Unread...)
}

// TestStreamWholeAcrossOutageRestartKillAndReset: a receiver collects the
// stream of an agent (a child process) across a receiver outage, a clean
// restart, a kill -9 and a state reset; verify finds it whole. Then one
// record deleted, one duplicated and one edited are each named.
func TestStreamWholeAcrossOutageRestartKillAndReset(t *testing.T) {
	h := newHarness(t)
	recv := newStreamReceiver(t, h.secret)
	h.hookURL = recv.url()
	h.extraConfig = "[heartbeat]\ninterval = \"1s\"\n"
	shell := func(n int) string {
		return h.write(fmt.Sprintf("up/s%d.php", n), fmt.Sprintf("<?php @eval($_POST[\"x%d\"]); ?>\n", n))
	}

	c := h.startChild()
	first := recv.wait("agent_started", func(a alert.Alert) bool { return a.Kind == alert.KindAgentStarted })
	if first.Seq == 0 || first.Chain == "" || first.Start == nil || first.Start.Reset == "" {
		t.Errorf("first agent_started %+v: want a seq, a chain and the reset of a first start", first)
	}
	recv.waitDetection(shell(1))

	// The receiver is down: the detection waits in the spool, and comes
	// when the receiver is back.
	recv.down.Store(true)
	p2 := shell(2)
	testenv.Eventually(t, waitFor, "the agent trying the receiver that is down", func() bool { return recv.refusedCount() > 0 })
	recv.down.Store(false)
	recv.waitDetection(p2)

	// A clean restart.
	c.stop(t)
	c = h.startChild()
	recv.waitDetection(shell(3))

	// kill -9, and a detection just before it.
	p4 := shell(4)
	recv.waitDetection(p4)
	c.kill9(t)
	c = h.startChild()
	crashed := recv.wait("agent_started after the crash", func(a alert.Alert) bool {
		return a.Kind == alert.KindAgentStarted && a.Start != nil && a.Start.Crashed
	})
	if !strings.Contains(crashed.Message, "did not stop cleanly") {
		t.Errorf("agent_started after kill -9: %q", crashed.Message)
	}
	recv.waitDetection(shell(5))

	// A state reset: the state database is unreadable at the next start.
	c.stop(t)
	if err := os.WriteFile(filepath.Join(h.state, "state.db"), bytes.Repeat([]byte("junk"), 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	c = h.startChild()
	reset := recv.wait("state_reset", func(a alert.Alert) bool { return a.Kind == alert.KindStateReset })
	if reset.Seq <= crashed.Seq || !strings.Contains(reset.Message, "seqs go on") {
		t.Errorf("state_reset seq %d (agent_started before it: %d): %q; want the seqs to go on", reset.Seq, crashed.Seq, reset.Message)
	}
	last := recv.waitDetection(shell(6))
	// A heartbeat naming the last alert closes the stream: deleting that
	// alert must show too.
	recv.wait("a heartbeat naming the last detection", func(a alert.Alert) bool {
		return a.Kind == alert.KindHeartbeat && a.Heartbeat != nil && a.Heartbeat.LastSeq >= last.Seq
	})
	c.stop(t)

	lines := recv.file()
	rep := verifyLines(t, lines)
	if rep.Problems != 0 || len(rep.Streams) != 1 {
		t.Fatalf("verify of the whole stream: %+v", rep)
	}
	s := rep.Streams[0]
	if s.Records < 12 || s.Heartbeats == 0 {
		t.Errorf("stream %+v: want every alert and some heartbeats", s)
	}
	t.Logf("stream: %d alerts, %d heartbeats, notes %v", s.Records, s.Heartbeats, s.Notes)

	// The tampering: each is named by seq.
	var idx struct{ del, dup, edit int }
	var seqs struct{ del, dup, edit uint64 }
	n := 0
	for i, l := range lines {
		var a alert.Alert
		json.Unmarshal(l, &a)
		if a.Kind != alert.KindDetection {
			continue
		}
		switch n {
		case 1:
			idx.del, seqs.del = i, a.Seq
		case 3:
			idx.dup, seqs.dup = i, a.Seq
		case 4:
			idx.edit, seqs.edit = i, a.Seq
		}
		n++
	}
	var tampered [][]byte
	for i, l := range lines {
		switch i {
		case idx.del:
			continue
		case idx.edit:
			l = bytes.Replace(l, []byte(`"action":{"taken":"quarantined"`), []byte(`"action":{"taken":"alerted"`), 1)
		}
		tampered = append(tampered, l)
		if i == idx.dup {
			tampered = append(tampered, l)
		}
	}
	got := map[string]uint64{}
	for _, p := range problemsOf(verifyLines(t, tampered)) {
		got[p.Kind] = p.Seq
		t.Logf("verify: %s", p)
	}
	want := map[string]uint64{alert.ProblemGap: seqs.del, alert.ProblemDuplicate: seqs.dup, alert.ProblemAltered: seqs.edit}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verify of the tampered stream named %v, want %v", got, want)
	}
}

// TestHeartbeatResolvesAtAlertmanagerWhenStopped: a real Alertmanager gets
// the ShellwatchHeartbeat, always firing while the agent runs; SIGSTOP the
// agent (a child process) and the heartbeat resolves there within the
// three intervals its endsAt allows; SIGCONT and it fires again.
func TestHeartbeatResolvesAtAlertmanagerWhenStopped(t *testing.T) {
	am := testenv.Alertmanager(t)
	h := newHarness(t)
	h.hookURL = am
	h.webhookRate = "rate = 0.0\nformat = \"alertmanager\""
	h.extraConfig = "[heartbeat]\ninterval = \"1s\"\n"
	c := h.startChild()
	pid := c.cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) }) // before the harness kills it

	active := func() (time.Time, bool) {
		resp, err := http.Get(am + "/api/v2/alerts?filter=" + url.QueryEscape(`alertname="ShellwatchHeartbeat"`))
		if err != nil {
			t.Logf("alertmanager: %v", err)
			return time.Time{}, false
		}
		defer resp.Body.Close()
		var alerts []struct {
			EndsAt time.Time         `json:"endsAt"`
			Labels map[string]string `json:"labels"`
			Status struct{ State string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
			t.Fatalf("alertmanager answer: %v", err)
		}
		for _, a := range alerts {
			if a.Status.State == "active" && a.Labels["kind"] == "heartbeat" {
				return a.EndsAt, true
			}
		}
		return time.Time{}, false
	}
	var ends time.Time
	testenv.Eventually(t, waitFor, "ShellwatchHeartbeat firing at Alertmanager", func() bool {
		var ok bool
		ends, ok = active()
		return ok
	})
	// Each beat renews it: endsAt moves on while the agent runs.
	testenv.Eventually(t, waitFor, "the heartbeat renewed", func() bool {
		e, ok := active()
		return ok && e.After(ends)
	})

	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// 3 intervals of endsAt, and Alertmanager's own resolution: the bound
	// catches a heartbeat that never resolves, it measures nothing.
	testenv.Eventually(t, 3*time.Second+waitFor, "the heartbeat resolved at Alertmanager once the agent is stopped", func() bool {
		_, ok := active()
		return !ok
	})
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, waitFor, "the heartbeat firing again after SIGCONT", func() bool {
		_, ok := active()
		return ok
	})
	c.stop(t)
}
