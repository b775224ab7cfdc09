// Package guard is prevention: it holds the web server's opens of files in
// the watched roots (fanotify permission events, FAN_OPEN_PERM and
// FAN_OPEN_EXEC_PERM) until the file is judged, denies the flagged ones
// and allows the rest, and fails open.
//
// # One event, from the kernel to its answer
//
// The kernel puts the opener to sleep and hands the guard an event: the
// opener's pid and a descriptor of the file. Each event goes through
// these states, and leaves them by exactly one answer:
//
//	read ──▶ identity (fstat: dev, inode, size, mtime, ctime)
//	           │──not a regular file───────────────────────────▶ ALLOW
//	           │──judged clean lately (the cache), no writer───▶ ALLOW, trust
//	           ▼
//	         opener ──not a web user───────────────────────────▶ ALLOW, learn
//	           │ a web user (prevent.users), or unknown
//	           │──an empty script──────────────────────────────▶ DENY
//	           │──judged lately (the cache)────────────────────▶ ALLOW / DENY
//	           ▼
//	         lookup (the baseline's record of the path, same identity)
//	           │──known────────────────────────────────────────▶ ALLOW, trust / DENY
//	           │──judged since the read loop looked────────────▶ ALLOW / DENY
//	           │──its scan failed lately───────────────────────▶ ALLOW (degraded)
//	           ▼
//	         flight (one scan per identity: an event of an identity queued
//	           │      or under scan waits for that scan's verdict)
//	           ▼
//	         scan (the guard's own scanners, through the first event's descriptor)
//	           │──flagged at prevent.min_severity or above──────▶ DENY
//	           │──could not judge (timeout, error)──────────────▶ ALLOW, remembered
//	           │──a script still open for writing───────────────▶ DENY
//	           └──otherwise (clean)────────────────────────────▶ ALLOW, trust
//
//	at any state past "opener": prevent.deadline passes ──────────▶ ALLOW (degraded)
//	a stage's queue is full ─────────────────────────────────────▶ ALLOW (degraded)
//
// "trust" hands a clean file that no web user can write to the kernel: an
// ignore mark on its inode, so that its next opens are no events at all
// until it is written (ignore.go). "learn" asks the baseline, beside the
// read loop, about a file someone not held opened, and trusts it when it
// is known clean: a second pass of root's backup costs nothing. At its
// start the guard walks the roots once, beside the event loop, and trusts
// the files the baseline knows clean ("pretrust"), so that even the first
// pass after a start or a reload raises no events for them.
//
// The read loop does only what cannot block: it fstats the descriptor,
// looks in the cache, reads /proc/PID/status for the opener's user ids
// when the cache did not answer, and makes an ignore mark (a few system
// calls). The lookup (a bbolt read) has a goroutine of its own, the
// learning another, the scans their own workers, so a scan never delays
// an answer from the cache or the baseline, and none of them delays the
// read loop. A timer per held event allows it at the deadline, whatever
// the stage is doing. The answer is written to the fanotify descriptor
// before anything else is done with the event: trusting, alerts, logs and
// the opener's executable and command line come after it, the reports
// from another goroutine ([Options.Report]).
//
// A file slow to judge must not keep the scanners busy, or every other new
// file would be allowed at the deadline unjudged, an attacker's shell
// among them: an identity is scanned once at a time, however often it is
// opened (the events that wait for its scan are each still allowed at
// their own deadline), the scanners give up soon (package scanner's
// PreventTimeout), and an identity they could not judge is not scanned
// again for ten minutes. Its opens are allowed then, counted as
// unjudgeable, unless the baseline knows it: the normal pipeline judges
// it in full, with its own timeout, and the lookup hears its verdict.
//
// # Failing open
//
// When the guard's descriptor closes — Stop, or the process dies, kill -9
// included — the kernel allows every pending open and holds no more. A
// stuck guard can hold the web server for at most prevent.deadline per
// open, never the rest of the host: only opens under the roots' folders
// are ever reported (inode marks, not a filesystem mark).
//
// # Marks
//
// Every folder of every root gets an inode mark (FAN_EVENT_ON_CHILD: its
// files are reported, not the folder's own opens). Inode marks see the
// file whatever mount namespace the web server opens it from (systemd's
// PrivateTmp, a container's bind mount), as a filesystem mark would and a
// mount mark would not. Folders made later are marked as soon as a second
// fanotify group (notification class, FAN_CREATE and FAN_MOVED_TO on the
// same folders) reports them: a folder exists for a moment before its
// mark, see the README. The same group hears the changes of the files'
// attributes (FAN_ATTRIB, with each file's own handle), which end their
// trust (ignore.go).
package guard
