package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/shellwatch/shellwatch/agent"
	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/internal/logwriter"
)

const runUsage = `Usage:
  shellwatch run [--config F]
      Run the daemon in the foreground: watch every [[watch]] root, scan
      each file as it is written, move new flagged files into the vault
      ([quarantine]) and alert through journald and the [[webhook]]s.
      At start the roots are compared with the baseline in
      agent.state_dir: the first start scans every file and builds it
      (clean files raise nothing); later starts scan and alert what
      changed while the agent was down (changed_while_down).

      Signals: SIGHUP reloads the config and rules (a broken new config
      keeps the old one running and raises a rules_reload_failed alert);
      SIGTERM or SIGINT stops watching, scans what was queued, flushes the
      alert sinks and exits 0. Under systemd (Type=notify) it reports
      READY=1 once every root is watched, STATUS= with counters, and pings
      the watchdog when WatchdogSec is set.

Exit status: 0 stopped by a signal, 2 could not start (the error says why,
naming the config key or file at fault).

Flags:
`

func runRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", runUsage, stdout, stderr)
	configPath := fs.String("config", config.DefaultPath, "the config `file`")
	if status, ok := fs.parseNoOperands(args); !ok {
		return status
	}
	// The level comes from the config; read it early so that startup is
	// logged at the level the operator asked for.
	level := new(slog.LevelVar)
	if cfg, err := config.Load(*configPath); err == nil {
		level.Set(cfg.Agent.SlogLevel())
	}
	// Under systemd stderr is a stream to journald: the agent's logs (and
	// its alerts when journald is off) must never wait on it.
	logs := logwriter.New(stderr, 4096)
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: level}))
	err := agent.Run(context.Background(), agent.Options{
		ConfigPath: *configPath,
		Version:    agentVersion(),
		Logger:     logger,
		Stderr:     logs,
	})
	logs.Close(5 * time.Second)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch run: %v\n", err)
		return exitError
	}
	return exitOK
}
