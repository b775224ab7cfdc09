package baseline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/state"
	"github.com/shellwatch/shellwatch/walk"
)

// Change is one way the files under a root differ from the accepted
// baseline.
type Change struct {
	// Kind is "added", "changed" or "deleted" (the file differs from its
	// record now), or "unaccepted" (recorded, but changed since it was last
	// accepted: an unexpected change nobody accepted yet).
	Kind string
	Path string
	// Since is when an unaccepted file was last seen.
	Since time.Time
	// Detail says what changed (changed), or the hash and first sighting
	// (unaccepted).
	Detail string
}

// Diff returns how the files under root (excluding what ex excludes)
// differ from the accepted baseline now, and the problems met on the way,
// each naming its path: a folder that could not be read, a root that is
// missing.
func (b *Baseline) Diff(ctx context.Context, root string, ex walk.Excluder) (changes []Change, problems []string) {
	b.records.flush()
	_, err := state.Reconcile(ctx, b.db, root, ex, func(d state.Difference) {
		c := Change{Kind: d.Kind.String(), Path: d.Path}
		switch d.Kind {
		case state.Added, state.Deleted:
		case state.Changed:
			c.Detail = statChange(d.Old.Stat(), d.Stat)
		default:
			problems = append(problems, safetext.Path(d.Path)+": "+fmt.Sprint(d.Err))
			return
		}
		changes = append(changes, c)
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	if err := b.db.ForEach(root, func(f state.File) error {
		if !f.Accepted {
			changes = append(changes, Change{Kind: "unaccepted", Path: f.Path, Since: f.LastSeen,
				Detail: fmt.Sprintf("sha256 %x, first seen %s", f.SHA256[:8], f.FirstSeen.Format(time.RFC3339))})
		}
		return nil
	}); err != nil {
		problems = append(problems, err.Error())
	}
	return changes, problems
}

// statChange describes how a file's lstat differs from its record.
func statChange(old, now state.Stat) string {
	var what []string
	if old.Dev != now.Dev || old.Inode != now.Inode {
		what = append(what, "another inode")
	}
	if old.Size != now.Size {
		what = append(what, fmt.Sprintf("size %d → %d", old.Size, now.Size))
	}
	if !old.MTime.Equal(now.MTime) {
		what = append(what, "mtime "+now.MTime.UTC().Format(time.RFC3339))
	}
	if old.Mode&0o7777 != now.Mode&0o7777 {
		what = append(what, fmt.Sprintf("mode %04o → %04o", old.Mode&0o7777, now.Mode&0o7777))
	}
	if old.UID != now.UID || old.GID != now.GID {
		what = append(what, fmt.Sprintf("owner %d:%d → %d:%d", old.UID, old.GID, now.UID, now.GID))
	}
	if len(what) == 0 {
		what = append(what, "ctime only")
	}
	return strings.Join(what, ", ")
}
