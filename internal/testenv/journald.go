// Package testenv gives tests the real system services they talk to —
// systemd-journald, Alertmanager — started on demand on a Debian machine
// and stopped again, or a skip with the reason when they cannot run; and
// the ways every test waits: [Eventually] for a state it can observe,
// [NoGoroutinesLeft] for a component's goroutines to be gone,
// [WaitCtimePast] for the file system clock, never a sleep that hopes.
package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shellwatch/shellwatch/internal/journaldlease"
)

// journaldUsers is shared by the tests of one process: the first user takes
// the cross-process lock and starts journald if none runs, the last one
// stops it (if it was started here) and releases the lock. Tests of one
// process that call Journald in parallel so share one journald.
var journaldUsers struct {
	mu    sync.Mutex
	count int
	lease *journaldlease.Lease
}

// JournalReader reads back what tests sent to the journal, through the real
// journalctl.
type JournalReader struct{}

// Journald makes sure a real systemd-journald listens on
// /run/systemd/journal/socket for the rest of the test, starting
// /lib/systemd/systemd-journald when none runs (this machine has no systemd
// as PID 1), and stopping it in t.Cleanup. It holds an exclusive flock on
// /run/shellwatch-test-journald.lock while the test runs, so test processes
// of other packages wait rather than stop it under this test.
//
// Without root the test is skipped. Without systemd-journald installed the
// test fails when CI or SHELLWATCH_REQUIRE_CORPUS is set (CI must run it)
// and is skipped otherwise.
func Journald(t testing.TB) *JournalReader {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: starts systemd-journald and reads the system journal")
	}
	for _, bin := range []string{journaldlease.Binary, "journalctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			msg := fmt.Sprintf("%s not found (install the Debian package systemd): %v", bin, err)
			if os.Getenv("CI") != "" || os.Getenv("SHELLWATCH_REQUIRE_CORPUS") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}

	u := &journaldUsers
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.count == 0 {
		if err := acquireJournald(); err != nil {
			t.Fatal(err)
		}
	}
	u.count++
	t.Cleanup(func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.count--
		if u.count == 0 {
			if err := releaseJournald(); err != nil {
				t.Error(err)
			}
		}
	})
	return &JournalReader{}
}

// acquireJournald takes the lease: the cross-process lock, and journald
// started unless one runs. Called with journaldUsers.mu held.
func acquireJournald() error {
	lease, err := journaldlease.Acquire(os.Stderr)
	if err != nil {
		return err
	}
	journaldUsers.lease = lease
	return nil
}

// releaseJournald stops the journald this process started, if any, and
// lets the next test process have it. Called with journaldUsers.mu held.
func releaseJournald() error {
	lease := journaldUsers.lease
	journaldUsers.lease = nil
	if lease == nil {
		return nil
	}
	return lease.Release()
}

// Entries returns the journal entries that satisfy every match
// ("FIELD=value", as journalctl takes them), oldest first, each decoded
// from journalctl's JSON output. Binary field values (invalid UTF-8,
// control characters) come as arrays of byte values: read them with
// [FieldBytes].
func (r *JournalReader) Entries(t testing.TB, match ...string) []map[string]any {
	t.Helper()
	// --sync makes journald write out everything it received before the
	// call, so entries a test just sent are there to read.
	if out, err := exec.Command("journalctl", "--sync").CombinedOutput(); err != nil {
		t.Fatalf("journalctl --sync: %v: %s", err, out)
	}
	// --all: without it journalctl replaces values over 4 KiB with null.
	args := append([]string{"--output=json", "--no-pager", "--quiet", "--all"}, match...)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("journalctl", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("journalctl %s: %v: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	var entries []map[string]any
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var e map[string]any
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("decode journalctl output: %v", err)
		}
		entries = append(entries, e)
	}
	return entries
}

// WaitEntries polls [JournalReader.Entries] until at least n entries match,
// and fails the test if they have not arrived within timeout. The timeout
// bounds a broken journal; it is not a speed requirement.
func (r *JournalReader) WaitEntries(t testing.TB, timeout time.Duration, n int, match ...string) []map[string]any {
	t.Helper()
	var entries []map[string]any
	Eventually(t, timeout, fmt.Sprintf("%d journal entries matching %q", n, match), func() bool {
		entries = r.Entries(t, match...)
		return len(entries) >= n
	})
	return entries
}

// FieldBytes returns the exact bytes of the field name of a journalctl JSON
// entry, whether journalctl printed it as a string or, for binary values,
// as an array of byte values. When the field occurs more than once in the
// entry it returns the first value; nil when the field is absent.
func FieldBytes(entry map[string]any, name string) []byte {
	values := FieldValues(entry, name)
	if len(values) == 0 {
		return nil
	}
	return values[0]
}

// FieldValues returns every value of the field name of a journalctl JSON
// entry (a field may occur several times in one entry; journalctl then
// prints an array of values).
func FieldValues(entry map[string]any, name string) [][]byte {
	v, ok := entry[name]
	if !ok || v == nil {
		return nil
	}
	if one, ok := jsonValueBytes(v); ok {
		return [][]byte{one}
	}
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var out [][]byte
	for _, item := range list {
		if b, ok := jsonValueBytes(item); ok {
			out = append(out, b)
		}
	}
	return out
}

// jsonValueBytes decodes one field value: a string, or an array of numbers
// 0-255. An empty array is an empty binary value.
func jsonValueBytes(v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return []byte(v), true
	case []any:
		b := make([]byte, 0, len(v))
		for _, item := range v {
			n, ok := item.(float64)
			if !ok || n < 0 || n > 255 || n != float64(int(n)) {
				return nil, false
			}
			b = append(b, byte(n))
		}
		return b, true
	}
	return nil, false
}
