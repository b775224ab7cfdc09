package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Stream is what one sink was given, as a chain: every alert linked into it
// carries the seq of the alert before it in this sink's stream (PrevSeq)
// and that alert's chain (PrevChain), and its own Chain, the hex SHA-256 of
// its canonical JSON (see [Alert.Canonical]), which holds both. A receiver
// that finds a PrevSeq it does not hold has lost an alert; one whose Chain
// is not the hash of its canonical JSON, or whose PrevChain is not the
// chain of the alert before it, holds an altered one.
//
// Seqs are the agent's (a [Sequencer]): the same alert has the same seq in
// every sink. PrevSeq and the chain are the sink's own, because a sink gets
// only part of the alerts (min_severity, grouping) and must be able to
// check what it holds without the rest.
//
// The head (the last seq and chain linked) is written to a small file
// after every link, in place (pwrite, no fsync): a killed agent leaves it
// exact (the page cache outlives the process), so the next run links on
// from where the stream stopped and an alert linked but never delivered
// (lost in memory by the crash) shows as a gap. After a power loss or a
// lost head file the stream starts again, and its first alert says why
// (StreamStart).
type Stream struct {
	name string
	seq  *Sequencer

	mu        sync.Mutex
	head      *os.File
	prevSeq   uint64
	prevChain string
	start     string // why the next alert starts the stream, while prevSeq is 0
	err       error  // the last head write that failed
}

// headSize is the size of a head file: "%020d %64s\n".
const headSize = 20 + 1 + 64 + 1

// OpenStream opens (or creates) the head file at path of the stream named
// name ("journald", "webhook …"). seq gives seqs to alerts linked without
// one. An unreadable head starts a new stream, and says why.
func OpenStream(path, name string, seq *Sequencer) (*Stream, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("stream head %s: %w", path, err)
	}
	// O_NOFOLLOW: a link planted in its place must not make the agent
	// write elsewhere.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("stream head %s: %w", path, err)
	}
	s := &Stream{name: name, seq: seq, head: f}
	buf := make([]byte, headSize+1)
	n, err := f.ReadAt(buf, 0)
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		s.start = fmt.Sprintf("the stream's head file %s is unreadable (%v)", path, err)
	case n == 0:
		s.start = "a new stream: no alert was linked in " + path + " before"
	default:
		seqN, chain, ok := parseHead(buf[:n])
		if !ok {
			s.start = fmt.Sprintf("the stream's head file %s is corrupt (%q): the stream starts again", path, truncate(string(buf[:n]), 90))
		} else {
			s.prevSeq, s.prevChain = seqN, chain
		}
	}
	return s, nil
}

func parseHead(b []byte) (uint64, string, bool) {
	if len(b) != headSize || b[headSize-1] != '\n' || b[20] != ' ' {
		return 0, "", false
	}
	n, err := strconv.ParseUint(string(b[:20]), 10, 64)
	chain := string(b[21:85])
	if err != nil || n == 0 || !isHexChain(chain) {
		return 0, "", false
	}
	return n, chain, true
}

func isHexChain(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// Name is the stream's name.
func (s *Stream) Name() string { return s.name }

// Link makes a the next alert of the stream: it gives a a seq when it has
// none, sets PrevSeq, PrevChain, StreamStart and Chain, and records the new
// head. A stream with no Sequencer links nothing into an alert without a
// seq.
func (s *Stream) Link(a *Alert) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Seq == 0 && s.seq != nil {
		a.Seq = s.seq.Next()
	}
	if a.Seq == 0 {
		return
	}
	a.PrevSeq, a.PrevChain, a.StreamStart = s.prevSeq, s.prevChain, ""
	if s.prevSeq == 0 {
		a.StreamStart = s.start
	}
	a.Chain = ""
	canon, err := a.Canonical()
	if err != nil {
		return // an alert that cannot be written cannot be delivered either
	}
	a.Chain = ChainOf(canon)
	s.prevSeq, s.prevChain = a.Seq, a.Chain
	_, err = s.head.WriteAt(fmt.Appendf(nil, "%020d %64s\n", a.Seq, a.Chain), 0)
	s.err = err
}

// ChainOf returns the chain of an alert whose canonical JSON is canon: the
// hex SHA-256 of it.
func ChainOf(canon []byte) string {
	sum := sha256.Sum256(canon)
	return hex.EncodeToString(sum[:])
}

// Head returns the seq and chain of the last alert linked, 0 and "" when
// none was.
func (s *Stream) Head() (uint64, string) {
	if s == nil {
		return 0, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prevSeq, s.prevChain
}

// Err returns why the latest head write failed, or nil.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close closes the head file.
func (s *Stream) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head.Close()
}

// Canonical returns the alert's canonical JSON, what its Chain is the
// SHA-256 of: its JSON form as [Alert.MarshalJSON] writes it, without the
// "chain" member. As that member is always the last one, a receiver gets
// the canonical bytes from the body it received by cutting `,"chain":"…"`
// off its end and putting the closing brace back; it never serializes
// anything again.
func (a Alert) Canonical() ([]byte, error) {
	a.Chain = ""
	return json.Marshal(a)
}

// CanonicalOf returns the canonical bytes of a received alert body (a
// webhook body, a JSON line, a journal entry's SHELLWATCH_JSON) and the
// chain it carries; ok is false when the body carries no chain as its last
// member.
func CanonicalOf(body []byte) (canon []byte, chain string, ok bool) {
	const key = `,"chain":"`
	i := strings.LastIndex(string(body), key)
	if i < 0 || !strings.HasSuffix(string(body), `"}`) {
		return nil, "", false
	}
	chain = string(body[i+len(key) : len(body)-2])
	if !isHexChain(chain) {
		return nil, "", false
	}
	canon = append(append([]byte(nil), body[:i]...), '}')
	return canon, chain, true
}
