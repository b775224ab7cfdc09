package scanner

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/shellwatch/shellwatch/walk"
)

// counters are Stats that goroutines update at once.
type counters struct {
	files, bytes, flagged, errors, tooLarge, symlinks, special atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Files:    c.files.Load(),
		Bytes:    c.bytes.Load(),
		Flagged:  c.flagged.Load(),
		Errors:   c.errors.Load(),
		TooLarge: c.tooLarge.Load(),
		Symlinks: c.symlinks.Load(),
		Special:  c.special.Load(),
	}
}

// Progress returns the running totals of every ScanTrees call on s, those
// under way included, for a live progress line. It is safe to call at any
// time from any goroutine.
func (s *Scanner) Progress() Stats { return s.total.snapshot() }

// ScanTrees walks each root (a folder or a file) with walk.Walk, never
// following symbolic links and leaving out what ex excludes (ex may be nil),
// and scans every regular file found with Workers goroutines. It calls
// report with every verdict, from one goroutine at a time, so report needs
// no lock (report may be nil); a slow report slows the scan down rather than
// queueing verdicts without bound.
//
// Symbolic links are skipped and counted in Stats.Symlinks; FIFOs, sockets
// and device nodes are skipped and counted in Stats.Special. A folder that
// cannot be walked, or a root that cannot be read (or is a symbolic link),
// is reported as a Verdict with only Path and Err set.
//
// When ctx is cancelled, ScanTrees stops promptly: no new file is started,
// verdicts of files interrupted are dropped, and every goroutine it started
// has returned when it returns the counts of what was reported.
func (s *Scanner) ScanTrees(ctx context.Context, roots []string, ex *walk.Globs, report func(Verdict)) Stats {
	if report == nil {
		report = func(Verdict) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var local counters
	n := len(s.all)
	paths := make(chan string, 2*n)
	verdicts := make(chan Verdict, 2*n)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the walker
		defer wg.Done()
		defer close(paths)
		s.walkRoots(ctx, roots, ex, paths, verdicts, &local)
	}()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { // a scanning worker
			defer wg.Done()
			for p := range paths {
				if ctx.Err() != nil {
					continue // drain, so the walker is never stuck
				}
				if s.beforeScan != nil {
					s.beforeScan(p)
				}
				v := s.ScanContext(ctx, p)
				if ctx.Err() != nil && errors.Is(v.Err, context.Canceled) {
					continue
				}
				local.files.Add(1)
				s.total.files.Add(1)
				local.bytes.Add(v.Size)
				s.total.bytes.Add(v.Size)
				verdicts <- v
			}
		}()
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		wg.Wait()
		close(verdicts)
	}()

	for v := range verdicts {
		if v.Err != nil {
			local.errors.Add(1)
			s.total.errors.Add(1)
		}
		if v.Flagged() {
			local.flagged.Add(1)
			s.total.flagged.Add(1)
		}
		if v.TooLarge {
			local.tooLarge.Add(1)
			s.total.tooLarge.Add(1)
		}
		report(v)
	}
	<-closed
	return local.snapshot()
}

// walkRoots feeds the regular files under roots to paths, counts what is
// skipped, and turns walk errors into verdicts.
func (s *Scanner) walkRoots(ctx context.Context, roots []string, ex *walk.Globs, paths chan<- string, verdicts chan<- Verdict, local *counters) {
	visit := func(p string, d fs.DirEntry) error {
		switch t := d.Type(); {
		case t.IsRegular():
			select {
			case paths <- p:
			case <-ctx.Done():
				return ctx.Err()
			}
		case t&fs.ModeSymlink != 0:
			local.symlinks.Add(1)
			s.total.symlinks.Add(1)
		default:
			local.special.Add(1)
			s.total.special.Add(1)
		}
		return nil
	}
	onError := func(p string, err error) {
		select {
		case verdicts <- Verdict{Path: p, Err: err}:
		case <-ctx.Done():
		}
	}
	for _, root := range roots {
		if err := walk.Walk(ctx, root, ex, visit, onError); err != nil {
			return
		}
	}
}
