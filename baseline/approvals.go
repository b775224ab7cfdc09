package baseline

import (
	"sync"
	"time"

	"github.com/shellwatch/shellwatch/internal/safetext"
)

// approval is a hash a deploy manifest announced for a path.
type approval struct {
	SHA256 string    `json:"sha256"`
	Until  time.Time `json:"until"`
}

// storedApproval is an approval as the state database keeps it: a list,
// since JSON map keys could not carry every path exactly.
type storedApproval struct {
	Path safetext.JSONPath `json:"path"`
	approval
}

type approvals struct {
	mu     sync.Mutex
	byPath map[string]approval
	dirty  bool // used up since last stored
}

// loadApprovals reads the announced hashes back from the database.
func (b *Baseline) loadApprovals() {
	b.approvals.byPath = map[string]approval{}
	var stored []storedApproval
	if _, err := b.db.GetMeta(metaApprovals, &stored); err != nil {
		b.log.Error("state: read manifest approvals; announced files will alert when they arrive", "key", metaApprovals, "err", err)
	}
	for _, s := range stored {
		b.approvals.byPath[string(s.Path)] = s.approval
	}
}

// saveApprovalsLocked stores the approvals; approvals.mu is held.
func (b *Baseline) saveApprovalsLocked() {
	b.approvals.dirty = false
	stored := make([]storedApproval, 0, len(b.approvals.byPath))
	for p, ap := range b.approvals.byPath {
		stored = append(stored, storedApproval{Path: safetext.JSONPath(p), approval: ap})
	}
	if err := b.db.PutMeta(metaApprovals, stored); err != nil {
		b.log.Error("state: store manifest approvals", "key", metaApprovals, "err", err)
	}
}

// Announce records that each path of announced (path → lower-case hex
// SHA-256) may arrive with that content until ttl from now, and stores them
// all at once; the announcements past their time are dropped meanwhile.
func (b *Baseline) Announce(announced map[string]string, ttl time.Duration) {
	if len(announced) == 0 {
		return
	}
	now := b.now().UTC()
	b.approvals.mu.Lock()
	defer b.approvals.mu.Unlock()
	for p, ap := range b.approvals.byPath {
		if now.After(ap.Until) {
			delete(b.approvals.byPath, p)
		}
	}
	for p, sum := range announced {
		b.approvals.byPath[p] = approval{SHA256: sum, Until: now.Add(ttl)}
	}
	b.saveApprovalsLocked()
}

// ConsumeApproval reports whether a manifest announced this content
// (lower-case hex SHA-256) for path, still in time, and uses the
// announcement up.
func (b *Baseline) ConsumeApproval(path, sha256 string) bool {
	b.approvals.mu.Lock()
	defer b.approvals.mu.Unlock()
	ap, ok := b.approvals.byPath[path]
	if !ok || ap.SHA256 != sha256 || b.now().After(ap.Until) {
		return false
	}
	delete(b.approvals.byPath, path)
	b.approvals.dirty = true
	return true
}
