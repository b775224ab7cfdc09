// Package watcher reports what happens to the files under the watched web
// roots: it keeps a recursive set of inotify watches (through fsnotify) over
// every root and turns the kernel's events into a stream of [Change] values
// for the scanner, plus a stream of [Problem] values for the operator.
//
// What it guarantees, and how:
//
//   - A new directory gets its watch first and is then walked, and every
//     file it already holds is reported: nothing created between mkdir and
//     the watch landing is missed (mkdir -p a/b/c && touch a/b/c/x).
//   - Writes are coalesced per path. A file is reported as soon as it appears,
//     at once again at its first change (a file is usually created empty and
//     written a moment later), then at most once per settle interval while
//     writes continue, and always once more after its last write (fsnotify has no
//     close-write event, so the watcher cannot know when a file is complete):
//     a steady stream of writes never postpones a report forever, and the
//     final content is always reported.
//   - Renames into a root and hard links are seen (they arrive as a create in
//     the directory); a directory renamed in is walked.
//   - Queue overflow (the kernel dropped events) becomes a [ProblemOverflow]
//     and a resync: every root is walked again and every file reported with
//     [OpResync], so the consumer can compare with what it knows.
//   - When the inotify watch limit is reached (ENOSPC from
//     inotify_add_watch), a [ProblemWatchLimit] names the sysctl to raise
//     (fs.inotify.max_user_watches) and the root falls back to periodic
//     rescans, so it is never silently unwatched.
//   - Excluded paths are neither reported nor watched; symlinks are never
//     followed (a symlink is reported, its target is not); nothing ever opens
//     a file (a FIFO in a root cannot block the watcher).
//   - A root that is missing or removed is a [ProblemRootMissing], never a
//     fatal error: it is polled for and watched again when it reappears.
//
// A [Change] is a hint, not a fact: by the time the consumer looks, the path
// may be gone or be something else. The consumer must lstat (and open with
// O_NOFOLLOW) before trusting it.
//
// The event loop never reads or hashes a file: it only lstats new paths to
// tell directories from files and updates an in-memory set of pending
// reports, which a separate goroutine delivers to [Watcher.Changes]. When the
// consumer is slow the delivery blocks (backpressure); no Change is dropped.
package watcher
