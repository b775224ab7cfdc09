package state

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashChildEnv makes the test binary the crash test's child: it puts
// records into the DB the variable names until it is killed.
const crashChildEnv = "STATE_CRASH_CHILD_DB"

const crashBatch = 20

// crashChild runs in the re-executed test binary: four goroutines Put
// batches (sharing commits) and write "goroutine round batch" on fd 3 once
// each Put has returned.
func crashChild(path string) {
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	acks := os.NewFile(3, "acks")
	round := os.Getenv("STATE_CRASH_ROUND")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ; b++ {
				files := make([]File, crashBatch)
				for i := range files {
					files[i] = sampleFile(fmt.Sprintf("/crash/%s/%d/%06d/%02d", round, g, b, i))
					files[i].Inode = uint64(b)
				}
				if err := db.Put(files...); err != nil {
					fmt.Fprintln(os.Stderr, "child put:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(acks, "%d %d\n", g, b)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashSafety kills a writing child with SIGKILL at random moments;
// each time the file must open without damage and hold every batch whose
// Put had returned.
func TestCrashSafety(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary several times")
	}
	path := filepath.Join(t.TempDir(), "state.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := range 6 {
		// A kill at a random moment: counted from the start in even
		// rounds, so it may land while the child opens the file; from
		// the child's first acknowledgement in odd ones, so it lands
		// amid commits with batches acknowledged, however slowly a
		// loaded machine starts the child.
		afterFirstAck := round%2 == 1
		acked := runCrashChild(t, path, round, afterFirstAck, time.Duration(50+rng.IntN(400))*time.Millisecond)
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		for _, a := range acked {
			for i := range crashBatch {
				p := fmt.Sprintf("/crash/%d/%s/%02d", round, a, i)
				if _, ok, err := db.Get(p); !ok || err != nil {
					t.Fatalf("round %d: acknowledged %s missing (%v, %v)", round, p, ok, err)
				}
			}
		}
		db.Close()
		t.Logf("round %d: %d acknowledged batches intact", round, len(acked))
	}
}

// runCrashChild starts the child on path, kills it (SIGKILL, by its PID)
// d after its start, or d after its first acknowledgement when
// afterFirstAck, and returns the acknowledged batches as "goroutine/batch".
func runCrashChild(t *testing.T, path string, round int, afterFirstAck bool, d time.Duration) []string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafety$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path, "STATE_CRASH_ROUND="+strconv.Itoa(round))
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var acked []string
	done, firstAck := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			// Only whole lines count: a kill may cut the last one.
			if f := strings.Fields(sc.Text()); len(f) == 2 {
				b, _ := strconv.Atoi(f[1])
				acked = append(acked, fmt.Sprintf("%s/%06d", f[0], b))
				if len(acked) == 1 {
					close(firstAck)
				}
			}
		}
	}()
	if afterFirstAck {
		select {
		case <-firstAck:
		case <-done:
			cmd.Wait()
			t.Fatalf("round %d: the child exited before acknowledging a batch", round)
		case <-time.After(time.Minute): // a hang is the failure, not a timing
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: the child acknowledged nothing in a minute", round)
		}
	}
	time.Sleep(d) // the scenario: a kill at a random moment, whatever it lands on
	cmd.Process.Kill()
	cmd.Wait()
	<-done
	return acked
}
