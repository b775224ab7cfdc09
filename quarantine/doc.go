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
// was scanned, checking device and inode before the move and device, inode,
// size and SHA-256 after it. A file swapped in before the move is not moved;
// one swapped in during the move stays in the vault marked unverified. In both
// cases the error wraps [ErrChanged] and the caller rescans the original path.
package quarantine
