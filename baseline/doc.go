// Package baseline is what shellwatch knows of the files under its roots and
// what it has accepted of them, kept in the state database (package state):
//
//   - the record of each file as last scanned ([Baseline.Record],
//     [Baseline.Remember], [Baseline.Forget], [Baseline.Removed]), written
//     behind the scan workers: a worker never waits for an fsync, and reads
//     its own writes at once;
//   - which roots have their first baseline built ([Baseline.Built],
//     [Baseline.MarkBuilt]): until then, what a root holds was there before
//     shellwatch and is accepted;
//   - deploy windows ([Baseline.Begin], [Baseline.End], [Baseline.Expire]):
//     what changes in a root while its window is open is accepted when it
//     closes, and a change made in a window but scanned after it closed
//     still counts as deployed ([Baseline.DeployedAt]); open windows are
//     kept in the state database across restarts;
//   - approvals: the hashes a deploy manifest announced for paths
//     ([Baseline.Announce]), each used up when its file arrives with it
//     ([Baseline.ConsumeApproval]);
//   - what differs from the accepted baseline now ([Baseline.Diff]);
//   - the symbolic links each root's last complete reconciliation that
//     told links met (links have no record): the next tells only those made
//     since ([Baseline.ReconcileLinks]), every one at a root's first; a
//     sweep ([Baseline.Reconcile]) tells none and remembers none.
//
// It decides nothing about alerts: the agent tells it what was scanned and
// what policy accepted, and asks it what a file was and whether a change was
// deployed or announced.
//
// # Crash contract
//
// Records are committed at most writeBehind (50 ms) after [Baseline.Remember]
// or [Baseline.Forget]: a crash loses at most those, and at the next start
// their files differ from the baseline and are looked at again — at least
// once, never silence. A root's first-baseline marker is stored after the
// records written before [Baseline.MarkBuilt], never ahead of them: a
// commit that fails (the disk full) keeps both pending, and a crash then
// loses both, so the next start builds that first baseline again. Deploy windows are stored when they open and close;
// the files a window saw removed and the approvals used up are stored by
// [Baseline.Save] (every few seconds) and [Baseline.Close], so a crash in
// between loses at most a few seconds of those: removals missing from a
// deploy summary, or an announcement used once more.
package baseline
