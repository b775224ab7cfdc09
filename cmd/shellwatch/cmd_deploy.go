package main

import (
	"fmt"
	"io"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/control/wire"
	"github.com/shellwatch/shellwatch/internal/safetext"
)

const deployUsage = `Usage:
  shellwatch deploy begin [--config F] [--root R] [--ttl DURATION]
      Open a deploy window on root R (every root without --root) for
      DURATION (deploy.default_ttl, 30m, by default; at most
      deploy.max_ttl). Changes inside it are still scanned — a webshell is
      still quarantined — but raise no unexpected_change. Beginning again
      extends an open window.
  shellwatch deploy end [--config F] [--root R]
      Close the window: what was added or changed in it is accepted into
      the baseline, and one deploy_finished alert lists it with what was
      removed. A window also closes by itself when its TTL runs out.

Both talk to the running daemon over agent.control_socket (root only).
Exit status: 0 done, 3 the daemon is not running, 2 an error.

Flags:
`

func runDeploy(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, deployUsage)
		return exitError
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("deploy "+sub, deployUsage, stdout, stderr)
	configPath := fs.String("config", config.DefaultPath, "the daemon's config `file` (for agent.control_socket)")
	root := fs.String("root", "", "the watched `root` (default: every root)")
	ttl := fs.String("ttl", "", "with begin: how long the window stays open (`duration`, 30m, 2h)")
	switch sub {
	case "begin", "end":
	case "-h", "--help", "help":
		return fs.help()
	default:
		fmt.Fprintf(stderr, "shellwatch deploy: unknown subcommand %q\n\n%s", sub, deployUsage)
		return exitError
	}
	if status, ok := fs.parseNoOperands(args); !ok {
		return status
	}
	var res wire.DeployResult
	if sub == "begin" {
		if code := callDaemon(*configPath, wire.CmdDeployBegin, wire.DeployArgs{Root: *root, TTL: *ttl}, &res, stderr); code != exitOK {
			return code
		}
		for _, w := range res.Windows {
			fmt.Fprintf(stdout, "deploy window open on %s until %s\n", safetext.Path(w.Root), w.Until.Local().Format("2006-01-02 15:04:05"))
		}
		return exitOK
	}
	if *ttl != "" {
		fmt.Fprintln(stderr, "shellwatch deploy end: --ttl is for begin")
		return exitError
	}
	if code := callDaemon(*configPath, wire.CmdDeployEnd, wire.DeployArgs{Root: *root}, &res, stderr); code != exitOK {
		return code
	}
	for _, s := range res.Closed {
		fmt.Fprintf(stdout, "deploy on %s accepted: %d added, %d changed, %d removed\n",
			safetext.Path(s.Root), len(s.Added), len(s.Changed), len(s.Removed))
		for _, l := range []struct {
			mark  string
			paths []string
		}{{"A", s.Added}, {"M", s.Changed}, {"D", s.Removed}} {
			for _, p := range l.paths {
				fmt.Fprintf(stdout, "  %s %s\n", l.mark, safetext.Path(p))
			}
		}
	}
	return exitOK
}
