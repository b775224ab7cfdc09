package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// seqBlock is how many seqs a Sequencer reserves at a time: one fsynced
// write per seqBlock alerts.
const seqBlock = 1000

// Sequencer hands out the agent's alert seqs: increasing, never reused,
// across restarts, crashes and a lost state.
//
// The rule, stated once: a run starts at the higher of (a) one past the
// seqs the seq file says were reserved (or issued, after a clean stop) and
// (b) the clock in microseconds since 1970. Seqs are then handed out one
// by one, and before a seq past the reservation is handed out the file is
// rewritten (fsynced, renamed) to reserve seqBlock more. So:
//   - a clean stop records the last seq issued;
//   - a crash skips at most what was reserved and not issued, never reuses;
//   - a lost or unreadable seq file (the state directory wiped or
//     corrupted) still never reuses a seq, because (b) is past any seq an
//     earlier run issued as long as the clock did not go back and fewer
//     than a million alerts a second were raised; SeqStart.Reset says so.
//
// The file lives beside the state database, not in it: a state database
// set aside as corrupt (state_reset) leaves the seqs alone.
type Sequencer struct {
	path string

	mu       sync.Mutex
	next     uint64    // the seq Next hands out next
	reserved uint64    // the file reserves every seq up to this one
	err      error     // the last reservation that failed, nil once one works
	retryAt  time.Time // after a failed reservation, when to try the disk again
	start    SeqStart
}

// SeqStart says where a run's seqs start and what the previous run left.
type SeqStart struct {
	First uint64 `json:"first_seq"` // the first seq of this run
	// PrevLast is the last seq the previous run issued, known when it
	// stopped cleanly; 0 otherwise.
	PrevLast uint64 `json:"prev_last_seq,omitempty"`
	// PrevReserved is, after a crash, the highest seq the previous run had
	// reserved: it issued seqs up to at most this one.
	PrevReserved uint64 `json:"prev_reserved_seq,omitempty"`
	// Crashed says the previous run did not stop cleanly (kill -9, power
	// loss, a panic): alerts it raised just before may have been lost in
	// memory; the streams (prev_seq) show which.
	Crashed bool `json:"prev_crashed,omitempty"`
	// Reset says why the seqs start from the clock alone: no seq file
	// (the first start, or the state directory was lost), or one that
	// could not be read.
	Reset string `json:"seq_reset,omitempty"`
}

// seqFile is the seq file's content.
type seqFile struct {
	Reserved uint64 `json:"reserved"`
	// Last is the last seq issued, written by a clean stop; 0 while the
	// agent runs (and so after a crash).
	Last uint64 `json:"last,omitempty"`
}

// OpenSequencer reads the seq file at path (creating it) and reserves the
// first block of this run. It fails only when the first reservation
// cannot be written: an agent that cannot promise not to reuse a seq must
// not start.
func OpenSequencer(path string) (*Sequencer, error) {
	s := &Sequencer{path: path}
	var prev seqFile
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.start.Reset = "no seq file " + path + " (the first start, or the state directory was lost): seqs start from the clock"
	case err != nil:
		s.start.Reset = fmt.Sprintf("seq file %s unreadable (%v): seqs start from the clock", path, err)
	default:
		if err := json.Unmarshal(data, &prev); err != nil || prev.Reserved == 0 || prev.Last > prev.Reserved {
			s.start.Reset = fmt.Sprintf("seq file %s is corrupt (%q): seqs start from the clock", path, truncate(string(data), 80))
			prev = seqFile{}
		}
	}
	floor := uint64(max(time.Now().UnixMicro(), 1))
	first := floor
	switch {
	case prev.Last > 0:
		s.start.PrevLast = prev.Last
		first = max(first, prev.Last+1)
	case prev.Reserved > 0:
		s.start.Crashed, s.start.PrevReserved = true, prev.Reserved
		first = max(first, prev.Reserved+1)
	}
	s.start.First = first
	s.next = first
	if err := s.reserveLocked(first + seqBlock - 1); err != nil {
		return nil, err
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Start says where this run's seqs start and what the previous run left.
func (s *Sequencer) Start() SeqStart { return s.start }

// Next returns the next seq. When the file cannot be written to reserve
// more (disk full, read-only), seqs are still handed out, one past the
// other, and the failure is kept for Err: alerts matter more than the
// promise, which then rests on the clock rule alone.
func (s *Sequencer) Next() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next
	s.next++
	// A failed reservation (disk full, read-only) is tried again once a
	// second, not at every alert: Next runs on the sender's path.
	if n > s.reserved && time.Now().After(s.retryAt) {
		if s.err = s.reserveLocked(n + seqBlock - 1); s.err != nil {
			s.retryAt = time.Now().Add(time.Second)
		}
	}
	return n
}

// Err returns why the latest reservation failed, or nil.
func (s *Sequencer) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close records the last seq issued, so the next run knows none was lost.
func (s *Sequencer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.next - 1
	return s.writeLocked(seqFile{Reserved: max(s.reserved, last), Last: last})
}

func (s *Sequencer) reserveLocked(upTo uint64) error {
	if err := s.writeLocked(seqFile{Reserved: upTo}); err != nil {
		return err
	}
	s.reserved = upTo
	return nil
}

// writeLocked replaces the seq file: a temporary file, fsynced, renamed
// over it, and the folder fsynced, so a crash leaves the old or the new.
func (s *Sequencer) writeLocked(f seqFile) error {
	data, _ := json.Marshal(f)
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seq file %s: %w", s.path, err)
	}
	tmp, err := os.CreateTemp(dir, ".seq-*")
	if err != nil {
		return fmt.Errorf("seq file %s: %w", s.path, err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("seq file %s: %w", s.path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
