// Package packaging holds what puts shellwatch on a Debian server: the
// hardened systemd unit (shellwatch.service), the journald message catalog
// that explains every alert's MESSAGE_ID (shellwatch.catalog), and the
// Debian package built by nfpm (nfpm.yaml, the maintainer scripts in
// scripts/, version.sh). It has no code; its tests check the unit with
// systemd-analyze, the catalog against alert.Kinds and journalctl, and
// install, run and purge the package.
package packaging
