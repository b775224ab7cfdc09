package baseline

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/walk"
)

// metaLinks + root: the symbolic links met by the root's last complete
// reconciliation, for the next to tell only the new ones.
const metaLinks = "links:"

// maxLinks bounds the links remembered per root; past it the others are
// not remembered, and are told again at each start (logged).
const maxLinks = 10_000

// knownLink is a symbolic link as a reconciliation met it, known by the
// SHA-256 of its path: a web user can make paths of hundreds of KiB, and
// ten thousand links down such a folder must not cost gigabytes at every
// start. Path is the path itself, as the first stores wrote it (read
// only; bytes, since JSON would turn invalid UTF-8 into U+FFFD).
type knownLink struct {
	Path  []byte `json:"p,omitempty"`
	Sum   []byte `json:"h,omitempty"`
	Dev   uint64 `json:"d"`
	Inode uint64 `json:"i"`
	Size  int64  `json:"s"`
	MTime int64  `json:"m"` // Unix nanoseconds
	CTime int64  `json:"c"`
}

func (k knownLink) stat() state.Stat {
	return state.Stat{Dev: k.Dev, Inode: k.Inode, Size: k.Size, MTime: time.Unix(0, k.MTime), CTime: time.Unix(0, k.CTime)}
}

// Reconcile compares the files under root with their records and calls fn
// for each difference, as [state.Reconcile] (which see): the baseline is
// streamed, never held in memory whole. It judges no symbolic link, and so
// remembers none: the next [Baseline.ReconcileLinks] still tells those made
// since the last one.
func (b *Baseline) Reconcile(ctx context.Context, root string, ex walk.Excluder, fn func(state.Difference)) (state.ReconcileStats, error) {
	return b.ReconcileLinks(ctx, root, ex, fn, nil)
}

// ReconcileLinks is [Baseline.Reconcile], and tells the new links.
//
// Symbolic links have no record: newLink, when not nil, is called for each
// link met that the root's last complete reconciliation did not meet as it
// is now (same device, inode, size and times: a link is never changed in
// place, only made anew) — every link, at the first. A complete
// reconciliation with a newLink remembers the links it met for the next
// one; one with none (a sweep) tells no link and remembers none, since a
// link met but never told would be judged by no one: one made with no
// event the agent saw would pass the sweep and every start after it.
func (b *Baseline) ReconcileLinks(ctx context.Context, root string, ex walk.Excluder, fn func(state.Difference), newLink func(path string)) (state.ReconcileStats, error) {
	if newLink == nil {
		return state.Reconcile(ctx, b.db, root, ex, fn)
	}
	var known []knownLink
	if _, err := b.db.GetMeta(metaLinks+root, &known); err != nil {
		b.log.Error("state: read the links met last; each is told again", "root", root, "err", err)
		known = nil
	}
	was := make(map[[sha256.Size]byte]state.Stat, len(known))
	for _, k := range known {
		var sum [sha256.Size]byte
		if len(k.Sum) == sha256.Size {
			copy(sum[:], k.Sum)
		} else {
			sum = sha256.Sum256(k.Path)
		}
		was[sum] = k.stat()
	}
	var met []knownLink
	changed, over := false, 0
	stats, err := state.ReconcileWithLinks(ctx, b.db, root, ex, fn, func(p string, st state.Stat) {
		sum := sha256.Sum256([]byte(p))
		old, ok := was[sum]
		isNew := !ok || !old.SameIdentity(st)
		if isNew {
			newLink(p)
		}
		if len(met) == maxLinks {
			over++
			return
		}
		changed = changed || isNew
		met = append(met, knownLink{Sum: sum[:], Dev: st.Dev, Inode: st.Inode, Size: st.Size,
			MTime: st.MTime.UnixNano(), CTime: st.CTime.UnixNano()})
	})
	if err != nil {
		return stats, err
	}
	if over > 0 {
		b.log.Warn("state: too many symbolic links to remember; the others are told again at the next start", "root", root, "remembered", maxLinks, "others", over)
	}
	if changed || len(met) != len(known) {
		if err := b.db.PutMeta(metaLinks+root, met); err != nil {
			b.log.Error("state: store the links met; they are told again at the next start", "root", root, "err", err)
		}
	}
	return stats, nil
}
