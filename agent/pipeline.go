package agent

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/shellwatch/shellwatch/internal/countdown"
	"github.com/shellwatch/shellwatch/recheck"
	"github.com/shellwatch/shellwatch/walk"
	"github.com/shellwatch/shellwatch/watcher"
	"golang.org/x/sys/unix"
)

// queues carry the watchers' changes to the workers, one worker per shard
// of paths, and their problems to the problem handler.
type queues struct {
	changes      chan task // the watchers' changes, counted in tasks already
	problems     chan watcher.Problem
	shards       []chan task // per-path workers; see startPipeline
	workers      sync.WaitGroup
	problemsDone sync.WaitGroup
	tasks        taskCount // tasks queued or running
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
		for t := range a.q.changes {
			a.dispatch(t)
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
	t.seq = a.q.tasks.begin()
	a.dispatch(t)
}

// dispatch hands t, counted already, to the worker of its path.
func (a *Agent) dispatch(t task) {
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
//
// The change is counted as a task from now on, before it is in the queue:
// a deploy end that synced the watcher then finds it counted (drain).
func (p pipeline) Change(ctx context.Context, c watcher.Change) bool {
	t := task{c: c, seq: p.a.q.tasks.begin()}
	select {
	case p.a.q.changes <- t:
		return true
	case <-ctx.Done():
		p.a.q.tasks.end(t.seq)
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

// taskCount counts the tasks queued or running, each numbered as it
// begins, and lets a caller wait for the end of those begun before it
// (waitBegun) while later ones come and go.
type taskCount struct {
	mu    sync.Mutex
	last  uint64 // the number of the last task begun
	n     int64  // begun and not ended
	begun countdown.Countdown
}

// begin counts a task and returns its number.
func (c *taskCount) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last++
	c.n++
	return c.last
}

// end counts the end of the task numbered seq.
func (c *taskCount) end(seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n--
	c.begun.Ended(seq)
}

// load returns how many tasks are queued or running.
func (c *taskCount) load() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// waitBegun returns once every task begun before the call has ended, or
// ctx's error. One caller at a time: a call replaces the wait of the one
// before.
func (c *taskCount) waitBegun(ctx context.Context) error {
	c.mu.Lock()
	// Every task not ended is numbered up to last: they are the ones.
	done := c.begun.Mark(c.last, c.n)
	c.mu.Unlock()
	return countdown.Wait(ctx, done)
}
