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
//	read ──▶ opener ──not a web user──────────────────────────▶ ALLOW
//	           │ a web user (prevent.users), or unknown
//	           ▼
//	         identity (fstat: dev, inode, size, mtime, ctime)
//	           │──not a regular file──────────────────────────▶ ALLOW
//	           │──judged lately (the cache)───────────────────▶ ALLOW / DENY
//	           ▼
//	         lookup (the baseline's record of the path, same identity)
//	           │──known───────────────────────────────────────▶ ALLOW / DENY
//	           │──judged since the read loop looked───────────▶ ALLOW / DENY
//	           │──its scan failed lately──────────────────────▶ ALLOW (degraded)
//	           ▼
//	         flight (one scan per identity: an event of an identity queued
//	           │      or under scan waits for that scan's verdict)
//	           ▼
//	         scan (the guard's own scanners, through the first event's descriptor)
//	           │──flagged at prevent.min_severity or above────▶ DENY
//	           │──could not judge (timeout, error)────────────▶ ALLOW, remembered
//	           │──a script still open for writing─────────────▶ DENY
//	           └──otherwise (clean)───────────────────────────▶ ALLOW
//
//	at any state past "identity": prevent.deadline passes ─────▶ ALLOW (degraded)
//	a stage's queue is full ───────────────────────────────────▶ ALLOW (degraded)
//
// The read loop does only what cannot block: it reads /proc/PID/status for
// the opener's user ids, fstats the descriptor and looks in the cache.
// The lookup (a bbolt read) has a goroutine of its own, the scans their own
// workers, so a scan never delays an answer from the cache or the
// baseline, and none of them delays the read loop. A timer per held event
// allows it at the deadline, whatever the stage is doing. The answer is
// written to the fanotify descriptor before anything else is done with the
// event: alerts, logs and the opener's executable and command line come
// after it, from another goroutine ([Options.Report]).
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
// mark, see the README.
package guard
