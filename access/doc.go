// Package access joins the daemon's file alerts to the web server's access
// logs. It follows the [[access_log]] tables of one configuration into
// indexes of recent requests (package weblog), follows up each file alert
// with an access_report — who requested the file's URL, and the request
// that most likely wrote it — and raises attacker_returned when a request
// comes for the URL of a file shellwatch flagged or quarantined.
//
// Nothing here runs on a worker's path: a file alert is sent first,
// unchanged, and its report is made by the package's own goroutine, which
// waits (at most [DefaultWait]) for the log lines of the file's birth: a
// web server writes a request's line when the request ends, after the file
// it wrote exists.
package access
