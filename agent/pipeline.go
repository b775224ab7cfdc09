package agent

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/shellwatch/shellwatch/recheck"
	"github.com/shellwatch/shellwatch/walk"
	"github.com/shellwatch/shellwatch/watcher"
	"golang.org/x/sys/unix"
)

// queues carry the watchers' changes to the workers, one worker per shard
// of paths, and their problems to the problem handler.
type queues struct {
	changes      chan watcher.Change
	problems     chan watcher.Problem
	shards       []chan task // per-path workers; see startPipeline
	workers      sync.WaitGroup
	problemsDone sync.WaitGroup
	inflight     atomic.Int64 // tasks queued or running
	// recheck lists the files a write can reach with no file event,
	// checked by lstat every agent.recheck_interval (sweep.go).
	recheck *recheck.List

	// The slow lane: a file past slowLaneSize is scanned by its own
	// worker, so that expensive files (huge, sparse, slow for YARA) never
	// hold the shards that judge new scripts. slowPaths counts the tasks of
	// each path in it: a path's later tasks follow it there, in order.
	slow      chan task
	slowDone  sync.WaitGroup
	slowMu    sync.Mutex
	slowPaths map[string]int
}

// slowLaneSize is the size past which a file is scanned in the slow lane;
// a webshell is a few KiB, a page of PHP rarely more than a few hundred.
const slowLaneSize = 1 << 20

// startPipeline starts the workers. Changes of one path are handled by one
// worker, in the order the watcher reported them: a file's creation and its
// first write arrive back to back, and the write must be judged knowing the
// creation (a new file is quarantined, an old one only alerted).
func (a *Agent) startPipeline(ctx context.Context) {
	a.q.shards = make([]chan task, max(2*a.current.Load().engine.Scanner.Workers(), 2))
	for i := range a.q.shards {
		a.q.shards[i] = make(chan task, 64)
		a.q.workers.Go(func() {
			for t := range a.q.shards[i] {
				if !a.toSlowLane(t) {
					a.handleTask(ctx, t)
				}
			}
		})
	}
	a.q.slow = make(chan task, 1024)
	a.q.slowPaths = map[string]int{}
	a.q.slowDone.Go(func() {
		for t := range a.q.slow {
			a.handleTask(ctx, t)
			a.q.slowMu.Lock()
			if a.q.slowPaths[t.c.Path]--; a.q.slowPaths[t.c.Path] <= 0 {
				delete(a.q.slowPaths, t.c.Path)
			}
			a.q.slowMu.Unlock()
		}
	})
	a.q.workers.Go(func() {
		for c := range a.q.changes {
			a.enqueue(task{c: c})
		}
		for _, sh := range a.q.shards {
			close(sh)
		}
	})
	a.q.problemsDone.Go(func() {
		for p := range a.q.problems {
			a.handleProblem(p)
		}
	})
}

// stopPipeline drains the pipeline: no new changes are taken, the changes
// already delivered are scanned and acted on.
func (a *Agent) stopPipeline() {
	close(a.q.changes)
	a.q.workers.Wait()
	close(a.q.slow)
	a.q.slowDone.Wait()
	close(a.q.problems)
	a.q.problemsDone.Wait()
}

// toSlowLane hands t to the slow lane, and reports so, when its file is
// past slowLaneSize or the path already has a task there. The slow lane's
// queue being full holds the shard back, as a full shard holds back the
// watcher.
func (a *Agent) toSlowLane(t task) bool {
	a.q.slowMu.Lock()
	slow := a.q.slowPaths[t.c.Path] > 0
	a.q.slowMu.Unlock()
	if !slow && t.deleted == nil && t.c.Op != watcher.OpRemoved {
		// Outside the lock: the shards do not wait on each other's lstat.
		// Only this shard hands this path on, so nothing of the path
		// changes in the lane's count meanwhile but the lane finishing it.
		var st unix.Stat_t
		slow = walk.LstatT(t.c.Path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size > slowLaneSize
	}
	if !slow {
		return false
	}
	a.q.slowMu.Lock()
	a.q.slowPaths[t.c.Path]++
	a.q.slowMu.Unlock()
	a.metrics.slowLane.Add(1)
	a.q.slow <- t
	return true
}

// enqueue hands t to the worker of its path.
func (a *Agent) enqueue(t task) {
	a.q.inflight.Add(1)
	a.q.shards[shardOf(t.c.Path, len(a.q.shards))] <- t
}

// shardSeed makes shardOf's hashes; one per process is enough, since only
// the same path must land on the same worker.
var shardSeed = maphash.MakeSeed()

// shardOf picks the worker of a path.
func shardOf(path string, n int) int {
	return int(maphash.String(shardSeed, path) % uint64(n))
}

// pipeline is where every watcher delivers: the agent's queues, read by
// its workers and its problem handler.
type pipeline struct{ a *Agent }

// Change waits for room in the workers' queue (the watcher coalesces
// events meanwhile), until the watcher stops.
func (p pipeline) Change(ctx context.Context, c watcher.Change) bool {
	select {
	case p.a.q.changes <- c:
		return true
	case <-ctx.Done():
		return false
	}
}

// Problem never blocks the watcher: a problem that does not fit is logged
// and counted by it.
func (p pipeline) Problem(pr watcher.Problem) bool {
	select {
	case p.a.q.problems <- pr:
		return true
	default:
		return false
	}
}
