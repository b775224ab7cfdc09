package baseline

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/state"
)

// Meta keys in the state database.
const (
	metaDeployWindows = "deploy_windows"
	metaApprovals     = "approvals"
	metaBaselineBuilt = "baseline_built:" // + root: the root's first baseline is complete
)

// Options configure [Open].
type Options struct {
	// Logger receives the errors the baseline survives (a record that
	// could not be read or stored, say); nil discards them.
	Logger *slog.Logger
	// State tunes the state database's open.
	State state.Options
	// Now is the clock of deploy windows and approvals; nil is time.Now.
	Now func() time.Time
	// OnCommit hears how each commit of records went: the error of one
	// that failed (the records are kept and tried again), nil for one
	// that worked. It runs on the writer's goroutine; nil hears nothing.
	OnCommit func(err error)
}

// Baseline is the baseline of every root, over one state database. Its
// methods are safe for concurrent use.
type Baseline struct {
	db      *state.DB
	log     *slog.Logger
	now     func() time.Time
	records *recordWriter

	born      *bornFiles // files seen appearing lately
	reset     error      // why the database was set aside at open, if it was
	windows   windows
	approvals approvals
}

// Open opens the state database at path, creating it if missing, and reads
// back the deploy windows and approvals it keeps. A database found corrupt
// is set aside and a fresh one started, as [state.OpenOrReset] does: reset
// then says why, for the caller to alert that the baseline is rebuilt. err
// is set when no database could be opened.
func Open(path string, opts Options) (b *Baseline, reset error, err error) {
	db, reset, err := state.OpenOrReset(path, opts.State)
	if err != nil {
		return nil, reset, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b = &Baseline{db: db, log: opts.Logger, now: opts.Now, records: newRecordWriter(db, opts.Logger, opts.OnCommit), born: newBornFiles(), reset: reset}
	b.loadWindows()
	b.loadApprovals()
	return b, reset, nil
}

// State returns the state database the baseline is kept in, for what
// else the agent keeps there (the flagged URLs of attacker_returned). It
// is closed by [Baseline.Close].
func (b *Baseline) State() *state.DB { return b.db }

// Reset says why the database was found unreadable and set aside when it
// was opened, or nil: the baseline is then rebuilt from scratch.
func (b *Baseline) Reset() error { return b.reset }

// Close stores the deploy windows and approvals, commits the records
// pending and closes the database.
func (b *Baseline) Close() error {
	b.Save()
	b.records.close()
	return b.db.Close()
}

// Record returns the record of path, the one pending commit first, or nil
// when there is none. An unreadable record is logged and read as none.
func (b *Baseline) Record(path string) *state.File {
	if f, pending := b.records.get(path); pending {
		return f
	}
	f, ok, err := b.db.Get(path)
	if err != nil {
		b.log.Error("state: read a record", "path", safetext.Path(path), "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	return &f
}

// Remember stores what a scan saw of a file: seen holds its path, lstat,
// SHA-256, severity and rules. prev is the file's record before the scan
// (nil for none): FirstSeen is kept from it, and AcceptedAt too when the
// same content stays accepted. accepted says whether the content belongs to
// the baseline now.
func (b *Baseline) Remember(seen state.File, prev *state.File, accepted bool) {
	now := b.now().UTC()
	f := seen
	f.FirstSeen, f.LastSeen, f.Accepted, f.AcceptedAt = now, now, accepted, time.Time{}
	if prev != nil {
		f.FirstSeen = prev.FirstSeen
		if accepted && prev.Accepted && prev.SHA256 == f.SHA256 {
			f.AcceptedAt = prev.AcceptedAt
		}
	}
	if accepted && f.AcceptedAt.IsZero() {
		f.AcceptedAt = now
	}
	b.records.put(f)
}

// Forget drops the record of the file at path: it left the baseline (it
// was quarantined, or found gone at a restart).
func (b *Baseline) Forget(path string) {
	b.records.delete(path)
}

// Removed drops the records of a path that is gone from root: a file, or a
// folder and every file below it. Inside a deploy window of root, what had
// a record is listed among the window's removals.
func (b *Baseline) Removed(root, path string) {
	// The common case, a file (a quarantined one among them), costs no
	// database scan and never waits for the writer.
	if f, pending := b.records.get(path); pending || b.Record(path) != nil {
		if f != nil || !pending {
			b.noteRemoved(root, []string{path})
		}
		b.records.delete(path)
		return
	}
	// Perhaps a folder: its files go with it, pending or stored.
	paths := b.records.pendingBelow(path)
	if err := b.db.ForEach(path, func(f state.File) error {
		paths = append(paths, f.Path)
		return nil
	}); err != nil {
		b.log.Error("state: list records below a removed path", "path", safetext.Path(path), "err", err)
	}
	if len(paths) > 0 {
		b.noteRemoved(root, paths)
		b.records.delete(paths...)
	}
}

// Flush returns once a commit tried every record written before the call:
// nil when they are committed, else why not (they stay pending and are
// tried again).
func (b *Baseline) Flush() error {
	return b.records.flush()
}

// Count returns how many files the baseline holds, as committed.
func (b *Baseline) Count() (int, error) {
	return b.db.Count()
}

// Built reports whether root's first baseline is complete: marked by
// [Baseline.MarkBuilt], stored or still pending with its records. Until it
// is, what the root holds was there before shellwatch: clean files raise
// nothing. A marker that cannot be read counts as not built (the root's
// files are then accepted again, not alerted), and is logged.
func (b *Baseline) Built(root string) bool {
	if b.records.marked(metaBaselineBuilt + root) {
		return true
	}
	var built bool
	if _, err := b.db.GetMeta(metaBaselineBuilt+root, &built); err != nil {
		b.log.Error("state: read baseline flag", "root", root, "err", err)
	}
	return built
}

// MarkBuilt records that root's first baseline is complete. The marker is
// stored only once every record written before the call is committed, and
// after them: a root marked built on disk has all its records. It returns
// once a commit tried them: nil when the marker is stored, else why not —
// the records and the marker then stay pending and are stored together
// when a commit works (the state's disk has room again), or lost with them
// if the agent stops first, and the next start builds the root's first
// baseline again.
func (b *Baseline) MarkBuilt(root string) error {
	b.records.putMark(metaBaselineBuilt + root)
	if err := b.records.flush(); err != nil {
		return fmt.Errorf("mark the first baseline of %s built: kept until its records are stored: %w", root, err)
	}
	return nil
}
