package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/internal/procstatus"
	"github.com/shellwatch/shellwatch/state"
)

// restartResult is what one restart (a fresh process: open the DB, then
// reconcile the tree) measured; the child prints it as JSON.
type restartResult struct {
	SkipCheck bool    `json:"skip_check"`
	OpenSecs  float64 `json:"open_secs"`
	TotalSecs float64 `json:"total_secs"`
	Unchanged int64   `json:"unchanged"`
	Reported  int     `json:"reported"`
	PeakAnon  int64   `json:"rss_anon_peak_kib"`  // sampled every rssInterval
	AfterAnon int64   `json:"rss_anon_after_kib"` // when Reconcile returned, no GC forced
	AfterRSS  int64   `json:"vm_rss_after_kib"`
	PeakRSS   int64   `json:"vm_hwm_kib"` // the kernel's peak of VmRSS (file pages included)
	StartAnon int64   `json:"rss_anon_start_kib"`
	HeapFile  string  `json:"heap_profile,omitempty"`
}

// rssInterval is how often the child samples its RssAnon.
const rssInterval = 5 * time.Millisecond

// measureRestart runs a restart in a child process (this binary with
// -restart-child), so that what the baseline build allocated in this one
// does not count, and returns what the child measured.
func measureRestart(dbPath, tree string, skipCheck bool, heapProfile, cpuProfile string) (restartResult, error) {
	self, err := os.Executable()
	if err != nil {
		return restartResult{}, err
	}
	args := []string{"-restart-child", "-db", dbPath, "-tree", tree, fmt.Sprintf("-skip-check=%v", skipCheck)}
	if heapProfile != "" {
		args = append(args, "-memprofile", heapProfile)
	}
	if cpuProfile != "" {
		args = append(args, "-cpuprofile", cpuProfile)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return restartResult{}, fmt.Errorf("restart child %s %s: %w", self, strings.Join(args, " "), err)
	}
	var res restartResult
	if err := json.Unmarshal(out, &res); err != nil {
		return restartResult{}, fmt.Errorf("restart child output %q: %w", out, err)
	}
	return res, nil
}

// restartChild is the child's side: what the daemon does with its baseline
// at a restart where nothing changed — open the state DB (with or without
// the full check), reconcile the tree — while a goroutine samples RssAnon.
// With heapProfile set it writes the heap profile at the peak it saw; with
// cpuProfile, the CPU profile of the open and the reconciliation.
func restartChild(dbPath, tree string, skipCheck bool, heapProfile, cpuProfile string) error {
	var res restartResult
	res.SkipCheck = skipCheck
	mem, err := procstatus.Read(0)
	if err != nil {
		return err
	}
	res.StartAnon = mem.Anon
	stopProfile := func() {}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile %s: %w", cpuProfile, err)
		}
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	var samplerErr error
	sampler.Go(func() {
		profiled := int64(0)
		tick := time.NewTicker(rssInterval)
		defer tick.Stop()
		for {
			mem, err := procstatus.Read(0)
			if err != nil {
				samplerErr = err
				return
			}
			anon := mem.Anon
			res.PeakAnon = max(res.PeakAnon, anon)
			// A heap profile each time the peak grows by a tenth: the
			// last one shows what was live at (about) the peak.
			if heapProfile != "" && anon > profiled+profiled/10 {
				if err := writeHeapProfile(heapProfile); err != nil {
					samplerErr = err
					return
				}
				profiled = anon
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})

	start := time.Now()
	db, err := state.Open(dbPath, state.Options{SkipCheck: skipCheck})
	if err != nil {
		stopProfile()
		close(stop)
		sampler.Wait()
		return err
	}
	res.OpenSecs = time.Since(start).Seconds()
	stats, err := state.Reconcile(context.Background(), db, tree, nil, func(state.Difference) { res.Reported++ })
	res.TotalSecs = time.Since(start).Seconds()
	stopProfile()
	close(stop)
	sampler.Wait()
	if err != nil {
		db.Close()
		return err
	}
	if samplerErr != nil {
		db.Close()
		return samplerErr
	}
	res.Unchanged = stats.Unchanged
	if mem, err = procstatus.Read(0); err != nil {
		db.Close()
		return err
	}
	res.AfterAnon, res.AfterRSS, res.PeakRSS = mem.Anon, mem.RSS, mem.HWM
	res.PeakAnon = max(res.PeakAnon, res.AfterAnon)
	res.HeapFile = heapProfile
	if err := db.Close(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	return f.Close()
}
