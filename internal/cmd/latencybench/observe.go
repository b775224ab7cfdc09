package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shellwatch/shellwatch/alert"
)

// stage is one place a dropped webshell is seen after its close().
type stage int

const (
	stageJournal stage = iota // journald received the alert (__REALTIME_TIMESTAMP)
	stageWebhook              // the webhook receiver got the alert
	stageGone                 // the file left the web root (IN_MOVED_FROM / IN_DELETE)
	numStages
)

var stageNames = [numStages]string{"journald", "webhook", "quarantine"}

var stageLabels = [numStages]string{"journald entry", "webhook received", "left web root"}

// sample is one dropped webshell.
type sample struct {
	path   string
	closed time.Time
	at     [numStages]time.Time
	action string        // Action.Taken of its alert, from the webhook
	acted  chan struct{} // closed when the webhook has it and the file is gone
}

// tracker matches what the observers see to the files written.
type tracker struct {
	mu         sync.Mutex
	byPath     map[string]*sample
	unexpected map[string]int // alerts about other paths, by kind
	agent      chan alert.Alert
}

func newTracker() *tracker {
	return &tracker{
		byPath:     make(map[string]*sample),
		unexpected: make(map[string]int),
		agent:      make(chan alert.Alert, 64),
	}
}

// expect registers path before it is written, so no observation of it can
// come in unmatched.
func (t *tracker) expect(path string) *sample {
	s := &sample{path: path, acted: make(chan struct{})}
	t.mu.Lock()
	t.byPath[path] = s
	t.mu.Unlock()
	return s
}

func (t *tracker) setClosed(s *sample, at time.Time) {
	t.mu.Lock()
	s.closed = at
	t.mu.Unlock()
}

// record notes the first time path reached st; it reports whether path is
// one of ours.
func (t *tracker) record(path string, st stage, at time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.byPath[path]
	if s == nil {
		return false
	}
	if s.at[st].IsZero() {
		s.at[st] = at
		if st != stageJournal && !s.at[stageWebhook].IsZero() && !s.at[stageGone].IsZero() {
			close(s.acted)
		}
	}
	return true
}

// webhookAlert takes an alert the receiver got at time at.
func (t *tracker) webhookAlert(a alert.Alert, at time.Time) {
	if a.File == nil {
		select {
		case t.agent <- a:
		default: // nobody waits for the agent's own news now
		}
		return
	}
	if !t.record(a.Path(), stageWebhook, at) {
		t.countUnexpected("webhook", a.Kind)
		return
	}
	if a.Action != nil {
		t.mu.Lock()
		if s := t.byPath[a.Path()]; s.action == "" {
			s.action = a.Action.Taken
		}
		t.mu.Unlock()
	}
}

func (t *tracker) countUnexpected(sink string, kind alert.Kind) {
	t.mu.Lock()
	t.unexpected[sink+" "+string(kind)]++
	t.mu.Unlock()
}

func (t *tracker) unexpectedAlerts() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.unexpected))
	for k, v := range t.unexpected {
		out[k] = v
	}
	return out
}

// waitActed waits until every sample is acted on, or timeout.
func (t *tracker) waitActed(ctx context.Context, ss []*sample, timeout time.Duration) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for _, s := range ss {
		select {
		case <-s.acted:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// waitStage polls until every sample reached st, or timeout.
func (t *tracker) waitStage(ctx context.Context, ss []*sample, st stage, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		missing := 0
		t.mu.Lock()
		for _, s := range ss {
			if s.at[st].IsZero() {
				missing++
			}
		}
		t.mu.Unlock()
		if missing == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// receiver is the webhook receiver: it stamps each request on arrival,
// checks its HMAC signature and hands the alert to the tracker.
type receiver struct {
	secret  []byte
	tr      *tracker
	ln      net.Listener
	srv     *http.Server
	badSig  atomic.Int64 // requests whose HMAC signature did not verify
	badBody atomic.Int64 // signed bodies that did not decode as an alert
}

func newReceiver(secret []byte, tr *tracker) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	r := &receiver{secret: secret, tr: tr, ln: ln}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) url() string { return "http://" + r.ln.Addr().String() + "/hook" }

func (r *receiver) close() { r.srv.Close() }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	mac := hmac.New(sha256.New, r.secret)
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(req.Header.Get(alert.SignatureHeader)), []byte(want)) {
		r.badSig.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var a alert.Alert
	if err := json.Unmarshal(body, &a); err != nil {
		r.badBody.Add(1)
		http.Error(w, "bad body: "+err.Error(), http.StatusUnprocessableEntity)
		return
	}
	r.tr.webhookAlert(a, at)
	w.WriteHeader(http.StatusNoContent)
}

// journalFollower runs `journalctl --follow` on the entries of one root.
type journalFollower struct {
	cmd    *exec.Cmd
	done   chan struct{}
	stderr bytes.Buffer
}

// followJournal reads every journal entry whose SHELLWATCH_ROOT is root,
// past and future, and records __REALTIME_TIMESTAMP (when journald received
// the entry) as the journal stage of its path.
func followJournal(root string, tr *tracker) (*journalFollower, error) {
	jf := &journalFollower{done: make(chan struct{})}
	jf.cmd = exec.Command("journalctl", "--follow", "--lines=all", "--output=json", "--all",
		"--no-pager", "--quiet", alert.JournalRoot+"="+root)
	jf.cmd.Stderr = &jf.stderr
	jf.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, err := jf.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := jf.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start journalctl: %w", err)
	}
	go func() {
		defer close(jf.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			var e map[string]any
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				continue
			}
			us, err := strconv.ParseInt(fieldString(e, "__REALTIME_TIMESTAMP"), 10, 64)
			if err != nil {
				continue
			}
			path := fieldString(e, alert.JournalPath)
			if !tr.record(path, stageJournal, time.UnixMicro(us)) {
				tr.countUnexpected("journald", alert.Kind(fieldString(e, alert.JournalKind)))
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	return jf, nil
}

// stop sends SIGTERM to the journalctl it started, by PID, and waits.
func (jf *journalFollower) stop() {
	if jf.cmd.Process == nil {
		return
	}
	_ = jf.cmd.Process.Signal(syscall.SIGTERM)
	<-jf.done
	_ = jf.cmd.Wait()
}

// fieldString returns a journalctl JSON field as a string, whether it was
// printed as a string or as an array of byte values.
func fieldString(e map[string]any, name string) string {
	switch v := e[name].(type) {
	case string:
		return v
	case []any:
		b := make([]byte, 0, len(v))
		for _, x := range v {
			n, ok := x.(float64)
			if !ok {
				return ""
			}
			b = append(b, byte(n))
		}
		return string(b)
	}
	return ""
}

// goneWatcher is the harness's own inotify instance on the drop folders: a
// name moved out of them or deleted is the file leaving the web root.
type goneWatcher struct {
	f        *os.File
	dirs     map[int32]string
	done     chan struct{}
	overflow atomic.Int64
}

func watchGone(tr *tracker, dirs ...string) (*goneWatcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	g := &goneWatcher{dirs: make(map[int32]string), done: make(chan struct{})}
	for _, d := range dirs {
		wd, err := unix.InotifyAddWatch(fd, d, unix.IN_MOVED_FROM|unix.IN_DELETE)
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("inotify_add_watch %s: %w", d, err)
		}
		g.dirs[int32(wd)] = d
	}
	// Non-blocking, so the runtime poller reads it and Close ends the read.
	g.f = os.NewFile(uintptr(fd), "inotify")
	go g.loop(tr)
	return g, nil
}

func (g *goneWatcher) loop(tr *tracker) {
	defer close(g.done)
	buf := make([]byte, 256<<10)
	for {
		n, err := g.f.Read(buf)
		now := time.Now()
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				fmt.Fprintf(os.Stderr, "latencybench: read inotify: %v\n", err)
			}
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(buf[off:]))
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
			name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+nameLen], "\x00"))
			off += unix.SizeofInotifyEvent + nameLen
			if mask&unix.IN_Q_OVERFLOW != 0 {
				g.overflow.Add(1)
				continue
			}
			if dir, ok := g.dirs[wd]; ok && name != "" {
				tr.record(filepath.Join(dir, name), stageGone, now)
			}
		}
	}
}

func (g *goneWatcher) overflows() int { return int(g.overflow.Load()) }

func (g *goneWatcher) close() {
	g.f.Close()
	<-g.done
}
