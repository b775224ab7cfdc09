package regular

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileRefusesWhatIsNotAFile opens a FIFO with no writer (a
// blocking open would hang), a directory and a device, and reads regular
// files at, under and over the bound.
func TestReadFileRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path    string
		max     int64
		wantErr string
	}{
		{fifo, 100, "not a regular file (fifo)"},
		{dir, 100, "not a regular file (directory)"},
		{"/dev/null", 100, "not a regular file (character device)"},
		{filepath.Join(dir, "missing"), 100, "no such file"},
		{file, 9, "more than 9"},
		{file, 10, ""},
	} {
		done := make(chan error, 1)
		var data []byte
		go func() {
			var err error
			data, _, err = ReadFile(c.path, c.max)
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			// Unblock a blocking open so the goroutine ends.
			w, _ := os.OpenFile(c.path, os.O_WRONLY, 0)
			if w != nil {
				w.Close()
			}
			t.Fatalf("ReadFile(%s) still blocked after 10 s", c.path)
		}
		if c.wantErr == "" {
			if err != nil || string(data) != "0123456789" {
				t.Errorf("ReadFile(%s, %d) = %q, %v", c.path, c.max, data, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("ReadFile(%s, %d): error %v, want one naming the path and %q", c.path, c.max, err, c.wantErr)
		}
	}
}
