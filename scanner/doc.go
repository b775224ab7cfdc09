// Package scanner reads a file once, hashes it and YARA-scans the same bytes,
// so the hash in an alert is the hash of what was scanned.
//
// A [Scanner] owns a pool of workers, each with its own libyara scanner and
// read buffer; [Scanner.Scan] is safe for concurrent use and runs at most
// Options.Workers scans at once. A file is opened without following a
// symbolic link in any component of its path (openat2 with
// RESOLVE_NO_SYMLINKS), without blocking (a FIFO is refused, never waited
// on), and only a regular file is read. Its metadata in the [Verdict] comes
// from fstat of the descriptor that was read, not from the path, so it
// describes the file that was scanned even when the path now names another.
//
// A file larger than Options.MaxFileSize — or one that grows past it while it
// is read — is YARA-scanned and analysed on its head and tail only, still
// hashed completely, streaming in small chunks, and marked TooLarge; the
// known-bad hash lists ([HashList]) still apply to it. A sparse one, or one
// over Options.MaxHashSize, is not hashed: its data is read, never its holes
// (see windows.go).
//
// [Scanner.ScanTrees] walks folders with package walk and scans every regular
// file found, reporting each [Verdict] to one callback at a time.
package scanner
