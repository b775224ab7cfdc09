// Package quarantine moves flagged files into a vault and keeps what is known
// about them, so an operator can list, inspect, restore or purge them later.
//
// A [Vault] is a directory owned by root (or the effective user) that nobody
// else may enter. Each quarantined file is stored under a random,
// time-ordered id (never under the name the attacker chose) with mode 0000,
// and beside it a metadata file <id>.json holding the original path
// byte-exact, its owner, mode, times, hashes and the rules that flagged it.
//
// [Vault.Move] never follows a symbolic link: the parent directory of the file
// is opened one component at a time from "/" with O_NOFOLLOW, and every later
// step works relative to that directory descriptor. It moves the inode that
// was scanned, checking device and inode before the move and after it. A
// file swapped in before the move is not moved; one swapped in during the
// move is kept in the vault marked unverified. In both cases the error wraps
// [ErrChanged] and the caller rescans the original path.
//
// Move never changes the mode, owner or content of the inode it takes out of
// the root: it may have other names (hard links, to a file outside the root
// even), and one renamed over the path during the move is not the file
// scanned. What the vault stores is a copy it writes itself, by content,
// into a fresh inode of mode 0000: the bytes that were scanned, checked
// against their SHA-256, whatever a writer that kept the file open wrote
// after them. No other process holds that copy, so the evidence stays what
// was scanned; [Vault.Check] reads it again and says when it no longer
// matches.
package quarantine
