package logwriter

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// A stderr nobody reads (a real pipe, filled) never blocks Write; once it
// is read again, the lines kept arrive, after a count of those dropped.
func TestWriteNeverBlocksOnAFullPipe(t *testing.T) {
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w := New(pw, 16)
	line := strings.Repeat("x", 1000) + "\n"
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 { // 1 MB: far past the pipe's 64 KiB
			fmt.Fprintf(w, "%04d %s", i, line)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Write blocked on a pipe nobody reads")
	}
	if w.Dropped() == 0 {
		t.Fatal("1 MB went through a 64 KiB pipe nobody reads and a 16-line queue: nothing was dropped?")
	}
	var got []string
	var mu sync.Mutex
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			mu.Lock()
			got = append(got, sc.Text())
			mu.Unlock()
		}
	}()
	// The reader drains the pipe, the writer its queue.
	for deadline := time.Now().Add(30 * time.Second); len(w.queue) > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queue never drained once the pipe was read")
		}
	}
	fmt.Fprintf(w, "after %s", line)
	w.Close(10 * time.Second)
	pw.Close()
	<-read
	joined := strings.Join(got, "\n")
	if !strings.Contains(joined, "log lines dropped") || !strings.HasPrefix(got[len(got)-1], "after ") {
		t.Errorf("after the reader came back: %d lines, last %.20q; want a dropped count and the last line", len(got), got[len(got)-1])
	}
	if n, err := fmt.Fprint(w, "after close\n"); n == 0 || err != nil {
		t.Errorf("Write after Close = %d, %v: want it dropped quietly", n, err)
	}
}
