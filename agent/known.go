package agent

import (
	"strings"
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/scanner"
	"github.com/shellwatch/shellwatch/watcher"
)

// knownFile is what the agent remembers of a file it scanned.
type knownFile struct {
	dev, inode   uint64
	size         int64
	mtime, ctime time.Time
	sha256       string
	// born says the agent saw the file appear (created, renamed or linked
	// into a root, or first met with a ctime after the agent started): it
	// is new, and keeps being new while it is written.
	born bool
	// alerted says a finding on this content (sha256) was already alerted,
	// so a file rewritten with the same bytes is not alerted twice.
	alerted bool
}

// knownFiles remembers the files of the roots between changes, so that a
// resync (overflow, new directory, restored root) skips what did not change
// and the policy can tell a new file from one that was there before.
type knownFiles struct {
	mu    sync.Mutex
	files map[string]*knownFile
	start time.Time
}

func newKnownFiles(start time.Time) *knownFiles {
	return &knownFiles{files: make(map[string]*knownFile), start: start}
}

// isNew decides whether the file of verdict v, reported by change c, is new
// (quarantined when flagged) or was there before (only alerted, unless
// quarantine_modified is set).
func (k *knownFiles) isNew(c watcher.Change, v scanner.Verdict) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	prev, known := k.files[c.Path]
	sameInode := known && prev.dev == v.Dev && prev.inode == v.Inode
	switch c.Op {
	case watcher.OpCreated:
		return true
	case watcher.OpModified:
		// Written after we saw it appear, or a new inode under an old
		// name (an editor's rename-over counts as a change of the old
		// file only when the old file was known).
		return known && (prev.born && sameInode)
	default: // OpResync: a walk found it
		if known {
			return prev.born && sameInode
		}
		// Never met: new if its inode changed after the agent started
		// (created, renamed or linked in while events were lost).
		return v.ChangeTime.After(k.start)
	}
}

// record remembers what v saw. It returns whether the finding on this
// content was already alerted.
func (k *knownFiles) record(v scanner.Verdict, born, flagged bool) (alreadyAlerted bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	prev := k.files[v.Path]
	f := &knownFile{dev: v.Dev, inode: v.Inode, size: v.Size, mtime: v.ModTime, ctime: v.ChangeTime, sha256: v.SHA256, born: born}
	if prev != nil && prev.sha256 == v.SHA256 && prev.inode == v.Inode && prev.alerted {
		alreadyAlerted = true
	}
	f.alerted = flagged
	k.files[v.Path] = f
	return alreadyAlerted
}

// forget drops path and, when it was a directory, everything below it.
func (k *knownFiles) forget(path string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, isFile := k.files[path]; isFile {
		delete(k.files, path)
		return
	}
	// Not a file we know: perhaps a directory, whose files go with it.
	prefix := strings.TrimSuffix(path, "/") + "/"
	for p := range k.files {
		if strings.HasPrefix(p, prefix) {
			delete(k.files, p)
		}
	}
}

func (k *knownFiles) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.files)
}
