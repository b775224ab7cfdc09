package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/quarantine"
	"github.com/shellwatch/shellwatch/scanner"
)

const quarantineUsage = `Usage:
  shellwatch quarantine [--vault DIR] list [--json]
      List the vault, oldest first: id, when, size, severity, rules, status
      and original path. With --json, one object per line in the vault's
      metadata format. Each stored file is read again: status "changed"
      when its bytes no longer match the recorded sha256, "missing" when
      it is gone.
  shellwatch quarantine [--vault DIR] show [--json] ID
      Print everything the vault knows about one entry, and whether the
      stored file still holds the bytes recorded (read again now).
  shellwatch quarantine [--vault DIR] restore ID [--to PATH]
      Put the file back at its original path, or at PATH, with its owner,
      mode and times, and remove it from the vault. An existing file is
      never overwritten, and no symbolic link is followed. A running
      daemon scans the restored file like any new one: while a rule still
      matches it, it is quarantined again — add its sha256 (show ID prints
      it) to a rules.allow_lists file and reload first. restore says so
      when the file lands in a watched root (the roots and allow lists of
      --config, else of ` + config.DefaultPath + ` when it exists).
  shellwatch quarantine [--vault DIR] purge --older-than DURATION
      Delete the entries quarantined longer ago than DURATION: a Go
      duration (12h, 90m) or a number of days (30d).

The vault is --vault, else the config's quarantine.dir, else
<agent.state_dir>/quarantine (` + quarantine.DefaultDir + ` by default).
Exit status: 0 success, 1 a stored file no longer holds its recorded
bytes (list, show: named on stderr), 2 an error (a usage error included).

Flags:
`

// quarantineFlags lists, per subcommand, the flags it takes besides --vault
// and --config.
var quarantineFlags = map[string][]string{
	"list":    {"json"},
	"show":    {"json"},
	"restore": {"to"},
	"purge":   {"older-than"},
}

func runQuarantine(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("quarantine", quarantineUsage, stdout, stderr)
	vaultFlag := fs.String("vault", "", "the vault `directory` (default: from the config, "+quarantine.DefaultDir+")")
	configPath := fs.String("config", "", "read settings from this config `file`")
	asJSON := fs.Bool("json", false, "with list and show: JSON, one object per line")
	to := fs.String("to", "", "with restore: restore to this `path` instead of the original")
	olderThan := fs.String("older-than", "", "with purge: remove entries older than this `duration` (30d, 12h)")
	operands, stop, status := fs.parse(args)
	if stop {
		return status
	}
	if len(operands) == 0 {
		return fs.usageError()
	}
	sub, operands := operands[0], operands[1:]
	if sub == "help" {
		return fs.help()
	}
	allowed, ok := quarantineFlags[sub]
	if !ok {
		fmt.Fprintf(stderr, "shellwatch quarantine: unknown subcommand %q\n\n%s", sub, quarantineUsage)
		return exitError
	}
	var misplaced string
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "vault" && f.Name != "config" && !slices.Contains(allowed, f.Name) {
			misplaced = f.Name
		}
	})
	if misplaced != "" {
		fmt.Fprintf(stderr, "shellwatch quarantine %s: --%s does not apply here\n", sub, misplaced)
		return exitError
	}
	wantOperands := map[string]int{"list": 0, "show": 1, "restore": 1, "purge": 0}[sub]
	if len(operands) != wantOperands {
		fmt.Fprintf(stderr, "shellwatch quarantine %s: want %d argument(s), got %d\n\n%s", sub, wantOperands, len(operands), quarantineUsage)
		return exitError
	}
	var age time.Duration
	if sub == "purge" {
		var err error
		if age, err = parseAge(*olderThan); err != nil {
			fmt.Fprintf(stderr, "shellwatch quarantine purge: --older-than: %v\n", err)
			return exitError
		}
	}

	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	dir := vaultDir(cfg, *vaultFlag)
	// The commands here read or empty a vault; only the agent creates one,
	// so a mistyped --vault is an error, not a new empty vault.
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "shellwatch: no vault at %s (nothing was quarantined there; --vault names another)\n", safetext.Path(dir))
		return exitError
	}
	v, err := quarantine.Open(dir)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	defer v.Close()

	switch sub {
	case "list":
		return quarantineList(v, *asJSON, stdout, stderr)
	case "show":
		return quarantineShow(v, operands[0], *asJSON, stdout, stderr)
	case "restore":
		if *configPath == "" {
			// The daemon's roots and allow lists, to say what it will do
			// with the file; the vault still comes from --vault or the
			// defaults.
			if daemonCfg, err := config.Load(config.DefaultPath); err == nil {
				cfg, *configPath = daemonCfg, config.DefaultPath
			}
		}
		return quarantineRestore(v, operands[0], *to, cfg, *configPath, stdout, stderr)
	default:
		n, err := v.Purge(age)
		fmt.Fprintf(stdout, "purged %d quarantined files (each with its metadata), quarantined more than %s ago\n", n, *olderThan)
		if err != nil {
			fmt.Fprintf(stderr, "shellwatch: %v\n", err)
			return exitError
		}
		return exitOK
	}
}

// vaultDir picks the vault: --vault, else the config's (quarantine.dir, or
// the one under agent.state_dir).
func vaultDir(cfg config.Config, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return cfg.VaultDir()
}

func quarantineList(v *quarantine.Vault, asJSON bool, stdout, stderr io.Writer) int {
	entries, listErr := v.List()
	problems := make([]string, len(entries))
	var damaged []string
	for i, e := range entries {
		if problems[i], _ = checkStored(v, e); problems[i] != "" {
			damaged = append(damaged, e.ID+" ("+problems[i]+")")
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				fmt.Fprintf(stderr, "shellwatch: %v\n", err)
				return exitError
			}
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tQUARANTINED\tSIZE\tSEVERITY\tRULES\tSTATUS\tPATH")
		for i, e := range entries {
			path := safetext.Path(e.Path)
			if e.Path == "" {
				path = "?"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", e.ID, e.QuarantinedAt.Format(time.RFC3339),
				e.Size, worstSeverity(e.Rules), ruleNames(e.Rules), entryStatus(e, problems[i]), path)
		}
		if err := tw.Flush(); err != nil {
			fmt.Fprintf(stderr, "shellwatch: %v\n", err)
			return exitError
		}
	}
	if listErr != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", listErr)
		return exitError
	}
	if len(damaged) > 0 {
		fmt.Fprintf(stderr, "shellwatch: %d stored file(s) no longer hold the bytes their metadata records: %s (shellwatch quarantine show ID says how)\n",
			len(damaged), strings.Join(damaged, ", "))
		return exitFlagged
	}
	return exitOK
}

// checkStored reads the stored file of e again. It returns what is wrong
// with it as a status word ("changed", "missing", "unreadable"), or "" when
// it holds the bytes the metadata records (or cannot be compared: no
// metadata, or a directory or FIFO swapped in during the move), and a line
// for show.
func checkStored(v *quarantine.Vault, e quarantine.Entry) (problem, line string) {
	if e.Path == "" {
		return "", "not checked: no metadata records its hash"
	}
	s, err := v.Check(e)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "missing", "MISSING: " + err.Error()
	case errors.Is(err, quarantine.ErrNotRegular):
		return "", "not read: " + err.Error()
	case err != nil:
		return "unreadable", "CANNOT BE READ: " + err.Error()
	case !s.Intact:
		return "changed", "CHANGED: " + s.Mismatch(e)
	}
	return "", fmt.Sprintf("intact: read again now, %d bytes, sha256 as recorded", s.Size)
}

func quarantineShow(v *quarantine.Vault, id string, asJSON bool, stdout, stderr io.Writer) int {
	e, err := v.Get(id)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	problem, stored := checkStored(v, e)
	status := exitOK
	if problem != "" {
		fmt.Fprintf(stderr, "shellwatch: %s: the stored file is %s: %s\n", e.ID, problem, stored)
		status = exitFlagged
	}
	if asJSON {
		if err := json.NewEncoder(stdout).Encode(e); err != nil {
			fmt.Fprintf(stderr, "shellwatch: %v\n", err)
			return exitError
		}
		return status
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{k}, a...)...) }
	row("id", "%s", e.ID)
	row("path", "%s", safetext.Path(e.Path))
	row("status", "%s", entryStatus(e, problem))
	row("stored", "%s", stored)
	if e.Problem != "" {
		row("problem", "%s", e.Problem)
	}
	if e.Note != "" {
		row("note", "%s", e.Note)
	}
	row("quarantined", "%s on %s (%s)", e.QuarantinedAt.Format(time.RFC3339Nano), e.Host, e.Method)
	row("reason", "%s", e.Reason)
	for _, m := range e.Rules {
		row("rule", "%s (severity %s, family %s)", m.Rule, orDash(m.Severity), orDash(m.Family))
	}
	row("type", "%s", e.Type)
	row("size", "%d", e.Size)
	row("sha256", "%s", e.SHA256)
	row("md5", "%s", e.MD5)
	row("owner", "%s (%d):%s (%d)", orDash(e.User), e.UID, orDash(e.Group), e.GID)
	row("mode", "%s", e.Mode)
	row("mtime", "%s", e.MTime.Format(time.RFC3339Nano))
	row("ctime", "%s", e.CTime.Format(time.RFC3339Nano))
	row("atime", "%s", e.ATime.Format(time.RFC3339Nano))
	row("device/inode", "%d/%d, %d link(s), %d left outside the vault", e.Dev, e.Inode, e.Nlink, e.OtherLinks)
	if s := e.Scanned; s != nil {
		row("scanned", "device %d inode %d size %d sha256 %s", s.Dev, s.Inode, s.Size, s.SHA256)
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	return status
}

func quarantineRestore(v *quarantine.Vault, id, to string, cfg config.Config, cfgPath string, stdout, stderr io.Writer) int {
	if to != "" {
		abs, err := filepath.Abs(to)
		if err != nil {
			fmt.Fprintf(stderr, "shellwatch: --to %s: %v\n", safetext.Path(to), err)
			return exitError
		}
		to = abs
	}
	e, err := v.Get(id)
	if err == nil {
		err = v.Restore(id, to)
	}
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	target := e.Path
	if to != "" {
		target = to
	}
	fmt.Fprintf(stdout, "restored %s to %s\n", id, safetext.Path(target))
	if note := restoreNote(cfg, cfgPath, e, target); note != "" {
		fmt.Fprintln(stdout, note)
	}
	return exitOK
}

// restoreNote says what a running daemon does with a file restored into a
// watched root: it scans it like any new file, so while a rule still
// matches, it is quarantined again at once, unless its hash is in a
// rules.allow_lists file. cfg holds the roots and allow lists (read from
// cfgPath). Without roots, a file put back where it was quarantined from (a
// watched root, then) gets the warning too; one restored elsewhere does not.
func restoreNote(cfg config.Config, cfgPath string, e quarantine.Entry, target string) string {
	keep := fmt.Sprintf("To keep it, add its sha256 %s (a line of its own; sha256sum output works too) to a file "+
		"named in rules.allow_lists, reload (systemctl reload shellwatch), then restore it from its new vault entry.", e.SHA256)
	names := ruleNames(e.Rules)
	if len(cfg.Watch) == 0 {
		if target != e.Path {
			return ""
		}
		return fmt.Sprintf("note: it was quarantined from a watched root: while a shellwatch watching it runs, "+
			"it scans the file like any new one and, while a rule still matches it (%s), quarantines it again at once, "+
			"with a new vault id. %s (--config FILE names the daemon's config to say for sure.)", names, keep)
	}
	root := ""
	for _, w := range cfg.Watch {
		for _, r := range []string{filepath.Clean(w.Path), realPath(w.Path)} {
			if target == r || strings.HasPrefix(target, strings.TrimSuffix(r, "/")+"/") {
				root = r
			}
		}
	}
	if root == "" {
		return ""
	}
	if allow, err := scanner.LoadHashLists(cfg.Rules.AllowLists...); err == nil {
		if _, ok := allow.Lookup(e.SHA256, e.MD5); ok {
			return fmt.Sprintf("note: %s is in the watched root %s and its sha256 is in rules.allow_lists of %s: "+
				"a running shellwatch leaves it in place (a known-bad hash list would still flag it).",
				safetext.Path(target), safetext.Path(root), cfgPath)
		}
	}
	return fmt.Sprintf("note: %s is in the watched root %s (%s): a running shellwatch scans it like any new file and, "+
		"while a rule still matches it (%s), quarantines it again at once, with a new vault id. %s",
		safetext.Path(target), safetext.Path(root), cfgPath, names, keep)
}

// realPath returns p with its symlinks resolved, or p when that fails.
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// parseAge reads a purge age: a Go duration ("12h", "90m") or whole days
// ("30d").
func parseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("missing (write e.g. --older-than 30d)")
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil || n > 100*366 {
			return 0, fmt.Errorf("%q is not a number of days (write e.g. 30d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (write e.g. 30d, 12h or 90m)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

// worstSeverity returns the highest severity among the matches, by the
// rules package's ranking; names it does not know are shown as they are.
func worstSeverity(ms []quarantine.Match) string {
	worst, name := finding.SeverityNone, "-"
	for _, m := range ms {
		s, err := finding.ParseSeverity(m.Severity)
		if err != nil {
			if name == "-" && m.Severity != "" {
				name = m.Severity
			}
			continue
		}
		if s > worst {
			worst, name = s, s.String()
		}
	}
	return name
}

func ruleNames(ms []quarantine.Match) string {
	if len(ms) == 0 {
		return "-"
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Rule
	}
	return safetext.Path(strings.Join(names, ","))
}

// entryStatus is the one word for an entry: what is wrong with its stored
// file now (problem, from checkStored), else what its metadata says.
func entryStatus(e quarantine.Entry, problem string) string {
	switch {
	case problem != "":
		return problem
	case e.Path == "":
		return "no-metadata"
	case !e.Verified:
		return "unverified"
	}
	return "ok"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
