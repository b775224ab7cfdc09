package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/safetext"
)

// exitNotRunning is the status of a command that needs the daemon when it
// is not running, as `systemctl status` uses 3.
const exitNotRunning = 3

// controlTimeout bounds a call to the daemon; a baseline diff walks the
// roots, so it is generous.
const controlTimeout = 5 * time.Minute

const statusUsage = `Usage:
  shellwatch status [--config F] [--json]
      Ask the running daemon (over agent.control_socket; root only) for its
      roots, inotify watches, files in the baseline, counters, whether
      prevention is on and for which users, webhook spools, open deploy
      windows and last alerts.

Exit status: 0 the daemon answered, 3 it is not running, 2 an error.

Flags:
`

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", statusUsage, stdout, stderr)
	configPath := fs.String("config", config.DefaultPath, "the daemon's config `file` (for agent.control_socket)")
	asJSON := fs.Bool("json", false, "print the status as one JSON object")
	if status, ok := fs.parseNoOperands(args); !ok {
		return status
	}
	var st wire.Status
	if code := callDaemon(*configPath, wire.CmdStatus, nil, &st, stderr); code != exitOK {
		return code
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(st); err != nil {
			fmt.Fprintf(stderr, "shellwatch: %v\n", err)
			return exitError
		}
		return exitOK
	}
	printStatus(stdout, st)
	return exitOK
}

// callDaemon sends one command to the daemon named by the config's
// control_socket and returns the exit status to use.
func callDaemon(configPath, command string, args, result any, stderr io.Writer) int {
	socket := control.DefaultSocket
	cfg, err := config.Load(configPath)
	from := "agent.control_socket of " + configPath
	switch {
	case err == nil:
		socket = cfg.Agent.ControlSocket
	case configPath != config.DefaultPath:
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	case errors.Is(err, fs.ErrNotExist):
		from = fmt.Sprintf("the default, as %s is absent", configPath)
	default:
		// A daemon may run on the config it loaded before this file broke.
		from = fmt.Sprintf("the default, as %s does not load (shellwatch rules check --config %s says why)", configPath, configPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	if err := control.Call(ctx, socket, command, args, result); err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		if errors.Is(err, control.ErrNotRunning) {
			fmt.Fprintf(stderr, "shellwatch: the socket tried is %s; a daemon started with another config is reached with the same --config FILE (the demo of `make run`: --config demo/config.toml)\n", from)
			return exitNotRunning
		}
		return exitError
	}
	return exitOK
}

func printStatus(w io.Writer, st wire.Status) {
	ready := "starting (not every root watched yet)"
	if st.Ready {
		ready = "watching"
	}
	fmt.Fprintf(w, "shellwatch %s on %s: %s since %s (%s)\n", st.Version, st.Host, ready,
		st.StartedAt.Local().Format(time.DateTime), time.Since(st.StartedAt).Round(time.Second))
	fmt.Fprintf(w, "config %s\n\n", st.Config)
	printBlind(w, st.Blind)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOT\tMODE")
	for _, r := range st.Roots {
		fmt.Fprintf(tw, "%s\t%s\n", safetext.Path(r.Path), r.Mode)
	}
	tw.Flush()
	fmt.Fprintf(w, "\ninotify watches %d, overflows %d; files in the baseline %d\n", st.Watches, st.Overflows, st.FilesKnown)
	fmt.Fprintf(w, "scanned %d, flagged %d, quarantined %d, quarantine failures %d, scan errors %d\n",
		st.Scanned, st.Flagged, st.Quarantined, st.QuarantineFailed, st.ScanErrors)
	if p := st.Prevention; p.Active {
		fmt.Fprintf(w, "prevention on for %s: %d folders guarded, %d files trusted; since the last start or reload %d opens, %d allowed, %d refused, %d allowed unjudged (deadline, queue full, unjudgeable)\n",
			strings.Join(p.Users, ", "), p.Folders, p.Trusted, p.Events, p.Allowed, p.Denied, p.DeadlineMisses)
	} else {
		fmt.Fprintln(w, "prevention off")
	}
	for _, h := range st.Webhooks {
		fmt.Fprintf(w, "%s: %d spooled (oldest %s), %d delivered, %d retries, %d dropped\n", h.Name, h.Spooled,
			time.Duration(h.OldestAgeSeconds*float64(time.Second)).Round(time.Second), h.Delivered, h.Retries, h.Dropped)
	}
	if len(st.Deploys) == 0 {
		fmt.Fprintln(w, "no deploy window open")
	}
	for _, d := range st.Deploys {
		fmt.Fprintf(w, "deploy window open on %s since %s, until %s (by %s)\n", safetext.Path(d.Root),
			d.Started.Local().Format(time.TimeOnly), d.Until.Local().Format(time.TimeOnly), d.By)
	}
	if len(st.LastAlerts) > 0 {
		fmt.Fprintln(w, "\nlast alerts, newest first:")
	}
	for _, a := range st.LastAlerts {
		fmt.Fprintf(w, "  %s  %-8s %-20s %s\n", a.Time.Local().Format(time.DateTime), a.Severity, a.Kind, strings.TrimSpace(a.Message))
	}
}

// printBlind lists the blind states that are on, first thing after the
// header, so an operator sees at once what the agent cannot see.
func printBlind(w io.Writer, conds []blind.Condition) {
	if len(conds) == 0 {
		fmt.Fprintln(w, "blind: nothing (every root watched, state and vault writable, every sink reachable, the last reload worked)")
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "BLIND: %d states the agent cannot see or act on:\n", len(conds))
	for _, c := range conds {
		fmt.Fprintf(w, "  %-20s %s since %s (%s)", c.State, safetext.Path(c.Subject),
			c.Since.Local().Format(time.DateTime), time.Since(c.Since).Round(time.Second))
		if c.Detail != "" {
			fmt.Fprintf(w, ": %s", safetext.Path(c.Detail))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}
