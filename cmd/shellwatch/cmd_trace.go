package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shellwatch/shellwatch/config"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/weblog"
)

const traceUsage = `Usage: shellwatch trace [--config F] [--since T] [--until T] [--json] [--log FILE [--format F]]… (URL | PATH | --ip IP)

Read the access logs, their rotated and gzipped siblings included, oldest
first, and print every request for a URL, or everything one client did,
then a summary per client and per day. Streams: memory stays flat on logs
of any size.

  URL    a URL path ("/up/x.php"; "/up/x.php/anything" counts too: PHP runs
         x.php for it), or a full URL (http://host/up/x.php)
  PATH   a file below a [[watch]] root of the config: its URL is the root's
         url_path and its path below the root, and only the logs serving
         that root ([[access_log]] roots) and its server_names are read
  --ip   every request of that client address

The logs are the config's [[access_log]] tables, or those named with --log
(each with the --format after it, "combined" without; one --format before
all --log applies to each). T is a date (2025-12-01), a time
(2025-12-01T10:00, RFC 3339) or a duration back from now (24h).

One request per line on stdout, tab-separated: time, client, method,
status, bytes, target as sent, user agent; text a client chose that holds
control characters, tabs, quotes or invalid UTF-8 is printed as a Go
quoted string, so one line is one request. With --json, one JSON object per
request ("type":"request") and a last one with the summary
("type":"summary"). What was read goes to stderr, with a progress line when
stderr is a terminal.

Exit status: 0 the logs were read (whether or not a request matched), 2 an
error (a log that cannot be read: the others are read all the same).

Flags:
`

func runTrace(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("trace", traceUsage, stdout, stderr)
	configPath := fs.String("config", "", "read [[watch]] roots and [[access_log]] tables from this config `file`")
	since := fs.String("since", "", "only requests at or after `T`")
	until := fs.String("until", "", "only requests before `T`")
	asJSON := fs.Bool("json", false, "print JSON lines")
	ip := fs.String("ip", "", "every request of this client `address`")
	var logs logFlags
	fs.Func("log", "read this access log `file` (and its rotated siblings) instead of the config's (repeatable)", logs.addLog)
	fs.Func("format", "`format` of the --log after it: combined, common, vhost_combined, an nginx or Apache format string", logs.addFormat)
	operands, stop, status := fs.parse(args)
	if stop {
		return status
	}
	switch {
	case *ip == "" && len(operands) != 1:
		fmt.Fprintln(stderr, "shellwatch trace: name one URL or PATH, or --ip IP")
		return fs.usageError()
	case *ip != "" && len(operands) > 0:
		fmt.Fprintf(stderr, "shellwatch trace: --ip and a URL or PATH (%q) do not go together\n", operands[0])
		return fs.usageError()
	}
	now := time.Now()
	var q weblog.Query
	var err error
	if q.Since, err = parseWhen(*since, now); err != nil {
		fmt.Fprintf(stderr, "shellwatch trace: --since: %v\n", err)
		return exitError
	}
	if q.Until, err = parseWhen(*until, now); err != nil {
		fmt.Fprintf(stderr, "shellwatch trace: --until: %v\n", err)
		return exitError
	}
	cfg, err := loadConfig(*configPath)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch: %v\n", err)
		return exitError
	}
	var root *config.Watch
	if *ip != "" {
		q.Client = *ip
	} else if q.Target, root, err = traceTarget(operands[0], cfg); err != nil {
		fmt.Fprintf(stderr, "shellwatch trace: %v\n", err)
		return exitError
	}
	sources, err := logs.sources(cfg, root)
	if err != nil {
		fmt.Fprintf(stderr, "shellwatch trace: %v\n", err)
		return exitError
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	out := &tracePrinter{w: stdout, json: *asJSON}
	progress := traceProgress(stderr)
	start := time.Now()
	tally := weblog.NewTally(0)
	stats, searchErr := weblog.Search(ctx, sources, q, progress, func(r *weblog.Request) error {
		tally.Add(r)
		return out.request(r)
	})
	if progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	out.summary(q, tally)
	elapsed := time.Since(start).Seconds()
	fmt.Fprintf(stderr, "read %d files, %s, %d lines in %.2fs (%.0f MB/s); %d requests matched; %d lines not in their log's format; %d lines too long\n",
		stats.Files, humanBytes(stats.Bytes), stats.Lines, elapsed, float64(stats.Bytes)/1e6/max(elapsed, 1e-9), stats.Matched, stats.Unparsed, stats.TooLong)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "shellwatch: trace interrupted")
		return exitError
	case out.err != nil:
		fmt.Fprintf(stderr, "shellwatch: write output: %v\n", out.err)
		return exitError
	case searchErr != nil:
		for _, line := range strings.Split(searchErr.Error(), "\n") {
			fmt.Fprintf(stderr, "shellwatch: %s\n", line)
		}
		return exitError
	}
	return exitOK
}

// logFlags gathers --log and --format in the order given.
type logFlags struct {
	logs    []weblog.Log
	formats []string
	// leading is a --format given before any --log: every log's.
	leading string
}

func (l *logFlags) addLog(path string) error {
	l.logs = append(l.logs, weblog.Log{Path: path})
	l.formats = append(l.formats, "")
	return nil
}

func (l *logFlags) addFormat(format string) error {
	if _, err := weblog.ParseFormat(format); err != nil {
		return err
	}
	if len(l.logs) == 0 {
		l.leading = format
		return nil
	}
	if l.formats[len(l.formats)-1] != "" {
		return fmt.Errorf("two --format for --log %s", l.logs[len(l.logs)-1].Path)
	}
	l.formats[len(l.formats)-1] = format
	return nil
}

// sources returns the logs to read: those named with --log, else the
// config's (those serving root when a PATH was named), checked readable.
func (l *logFlags) sources(cfg config.Config, root *config.Watch) ([]weblog.Log, error) {
	if len(l.logs) > 0 {
		for i := range l.logs {
			f := l.formats[i]
			if f == "" {
				f = l.leading
			}
			if f == "" {
				f = "combined"
			}
			l.logs[i].Format, _ = weblog.ParseFormat(f)
		}
		return l.logs, nil
	}
	if len(cfg.AccessLog) == 0 {
		return nil, errors.New("no access log: name one with --log FILE, or a config holding [[access_log]] tables with --config")
	}
	if err := cfg.CheckAccessLogs(); err != nil {
		return nil, err
	}
	tables := cfg.AccessLog
	if root != nil {
		tables = cfg.LogsServing(root.Path)
		if len(tables) == 0 {
			return nil, fmt.Errorf("no [[access_log]] serves the root %s", safetext.Path(root.Path))
		}
	}
	out := make([]weblog.Log, len(tables))
	for i, t := range tables {
		f, err := weblog.ParseFormat(t.Format) // validated already
		if err != nil {
			return nil, err
		}
		out[i] = weblog.Log{Path: t.Path, Format: f}
	}
	return out, nil
}

// traceTarget turns the operand into a target: a file below a watch root
// (returned) is mapped to its URL; anything else is a URL path or a full URL.
func traceTarget(operand string, cfg config.Config) (weblog.Target, *config.Watch, error) {
	if rest, ok := strings.CutPrefix(operand, "http://"); ok || strings.HasPrefix(operand, "https://") {
		if !ok {
			rest = strings.TrimPrefix(operand, "https://")
		}
		host, p, _ := strings.Cut(rest, "/")
		// Logs carry the host without its port ($host, %v).
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return weblog.Target{Path: weblog.CleanPath("/" + p), Hosts: []string{strings.ToLower(host)}}, nil, nil
	}
	abs, err := filepath.Abs(operand)
	if err != nil {
		return weblog.Target{}, nil, err
	}
	for i := range cfg.Watch {
		w := &cfg.Watch[i]
		if u := weblog.URLFor(w.Path, w.URLPath, abs); u != "" {
			return weblog.Target{Path: u, Hosts: w.ServerNames}, w, nil
		}
	}
	if !strings.HasPrefix(operand, "/") {
		return weblog.Target{}, nil, fmt.Errorf("%s is neither a URL path (/…) nor a file below a [[watch]] root of the config", safetext.Path(operand))
	}
	return weblog.Target{Path: weblog.CleanPath(operand)}, nil, nil
}

// parseWhen reads a --since/--until value; "" is no bound.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2025-12-01), a time (2025-12-01T10:00, RFC 3339) or a duration (24h)", s)
}

// tracePrinter writes the timeline; its first write error stops the search.
type tracePrinter struct {
	w    io.Writer
	json bool
	err  error
}

// traceRecord is one line of `trace --json`: a documented interface
// (README, "shellwatch trace"); add fields, never rename them.
type traceRecord struct {
	Type string `json:"type"`
	weblog.Hit
	Path    string `json:"path"`
	Bytes   int64  `json:"bytes"`
	Referer string `json:"referer"`
	Vhost   string `json:"vhost,omitempty"`
}

func (p *tracePrinter) request(r *weblog.Request) error {
	if p.json {
		p.writeJSON(traceRecord{Type: "request", Hit: weblog.HitOf(r), Path: r.Path, Bytes: r.Bytes, Referer: r.Referer, Vhost: r.Vhost})
		return p.err
	}
	_, p.err = fmt.Fprintf(p.w, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", r.Time.Format(time.RFC3339), safetext.Path(r.Client), safetext.Path(r.Method),
		r.Status, r.Bytes, safetext.Path(r.Target), safetext.Path(r.UserAgent))
	return p.err
}

func (p *tracePrinter) writeJSON(v any) {
	if p.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		_, err = p.w.Write(append(b, '\n'))
	}
	p.err = err
}

// traceSummary is the last line of `trace --json`.
type traceSummary struct {
	Type    string                `json:"type"`
	URL     string                `json:"url,omitempty"`
	Client  string                `json:"client,omitempty"`
	Count   int                   `json:"count"`
	Clients []weblog.ClientReport `json:"clients"`
	Days    []weblog.Day          `json:"days"`
	// Statuses as in an access report.
	Statuses map[string]int `json:"statuses"`
}

func (p *tracePrinter) summary(q weblog.Query, t *weblog.Tally) {
	rep := t.Report(q.Target.Path)
	clients := t.Clients()
	if p.json {
		p.writeJSON(traceSummary{Type: "summary", URL: q.Target.Path, Client: q.Client, Count: t.Count(), Clients: clients, Days: t.Days(), Statuses: rep.Statuses})
		return
	}
	if p.err != nil {
		return
	}
	what := safetext.Path(q.Target.Path)
	if q.Client != "" {
		what = "client " + safetext.Path(q.Client)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d requests for %s from %d clients", t.Count(), what, len(clients))
	if rep.First != nil {
		fmt.Fprintf(&b, ", %s to %s", rep.First.Format(time.RFC3339), rep.Last.Format(time.RFC3339))
	}
	b.WriteString("\n")
	if len(clients) > 0 {
		b.WriteString("\nclients (busiest first):\n")
		for i, c := range clients {
			if i == 50 {
				fmt.Fprintf(&b, "  … %d more (--json lists them all)\n", len(clients)-i)
				break
			}
			uas := make([]string, len(c.UserAgents))
			for j, ua := range c.UserAgents {
				uas[j] = safetext.Path(ua)
			}
			fmt.Fprintf(&b, "  %s\t%d\t%s\t%s\t%s\n", safetext.Path(c.IP), c.Count, c.First.Format(time.RFC3339), c.Last.Format(time.RFC3339), strings.Join(uas, " | "))
		}
	}
	if days := t.Days(); len(days) > 0 {
		b.WriteString("\ndays:\n")
		for _, d := range days {
			fmt.Fprintf(&b, "  %s\t%d\n", d.Date, d.Count)
		}
	}
	_, p.err = io.WriteString(p.w, b.String())
}

// traceProgress returns a progress callback drawing one line on stderr,
// only when stderr is a terminal.
func traceProgress(stderr io.Writer) func(weblog.SearchStats) {
	f, ok := stderr.(*os.File)
	if !ok || !isTerminal(f) {
		return nil
	}
	return func(s weblog.SearchStats) {
		fmt.Fprintf(f, "\r\033[K%s: %s read, %d lines, %d matched", safetext.Path(filepath.Base(s.File)), humanBytes(s.Bytes), s.Lines, s.Matched)
	}
}
