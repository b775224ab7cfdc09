// Package walk walks directory trees the safe way for a scanner of hostile
// web roots: it never follows a symbolic link, prunes excluded folders,
// reports every error it meets and keeps going, and stops when its context is
// cancelled.
//
// # Walking
//
// [Walk] descends directories only. Every other entry — regular file,
// symbolic link, FIFO, socket, device node — is passed to the visit function
// as what it is, so the caller decides what to scan, count or ignore. A
// symbolic link is never followed, neither to a file nor to a folder, and a
// root that is itself a symbolic link is reported, not walked. Folders are
// opened with openat2 and RESOLVE_NO_SYMLINKS, so a folder swapped for a link
// while the walk runs is refused too (see [OpenNoSymlinks]).
//
// Paths are opaque bytes: a name may hold newlines or invalid UTF-8 and comes
// out exactly as it is on disk. A path is the root as given, then "/" and the
// names below it, whatever its length: a tree deeper than PATH_MAX is walked
// to the bottom (see [OpenNoSymlinks]). Errors (permission denied, an entry
// that vanished) go to the error function, naming the path, and the walk goes
// on with the next entry.
//
// # Exclude patterns
//
// An [Globs] holds glob patterns of paths not to walk. A pattern is
// matched against the path of every entry below a root (a root named
// explicitly is never excluded):
//
//   - A pattern without "/" is matched against the base name of the entry,
//     so "*.log" excludes every file ending in .log, and "node_modules" every
//     entry of that name, anywhere.
//   - A pattern with "/" is matched against the full path, and there "*"
//     matches any run of characters INCLUDING "/": "*/cache/*" excludes
//     /var/www/html/wp-content/cache/a.php, and "/var/www/*.log" every .log
//     file at any depth below /var/www.
//   - "?" matches any one character except "/"; "[abc]", "[a-z]" and
//     "[^a-z]" match one character of (or not of) the class; "\" quotes the
//     character after it. These are the rules of Go's path.Match; only "*" is
//     different, and only in patterns with "/".
//   - A pattern must match the whole base name or the whole path, not a part.
//   - For a folder, the path is also tried with a "/" appended, so
//     "*/cache/*" prunes the cache folder itself and nothing below it is read.
//
// Patterns are translated to Go regular expressions, which match in time
// linear in the length of the path, so no pattern or path can make matching
// slow.
package walk
