package agent

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/shellwatch/shellwatch/recheck"
	"github.com/shellwatch/shellwatch/watcher"
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
}

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
				a.handleTask(ctx, t)
			}
		})
	}
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
	close(a.q.problems)
	a.q.problemsDone.Wait()
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
