package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/walk"
)

// Threshold is a least severity, or "off" (its zero value), which nothing
// reaches.
type Threshold finding.Severity

// Off reports whether the threshold turns the thing it guards off.
func (t Threshold) Off() bool { return finding.Severity(t) == finding.SeverityNone }

// Severity returns the least severity that passes; SeverityNone when off.
func (t Threshold) Severity() finding.Severity { return finding.Severity(t) }

// Allows reports whether s reaches the threshold.
func (t Threshold) Allows(s finding.Severity) bool { return !t.Off() && s >= finding.Severity(t) }

// UnmarshalText accepts "off", "low", "medium", "high" or "critical".
func (t *Threshold) UnmarshalText(text []byte) error {
	if string(text) == "off" {
		*t = 0
		return nil
	}
	s, err := finding.ParseSeverity(string(text))
	if err != nil {
		return fmt.Errorf("%q is not off, low, medium, high or critical", text)
	}
	*t = Threshold(s)
	return nil
}

// MarshalText writes the name UnmarshalText reads.
func (t Threshold) MarshalText() ([]byte, error) {
	if t.Off() {
		return []byte("off"), nil
	}
	return finding.Severity(t).MarshalText()
}

func (t Threshold) String() string {
	b, _ := t.MarshalText()
	return string(b)
}

// SlogLevel returns agent.log_level as a slog level.
func (a Agent) SlogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(a.LogLevel)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// validateDaemon checks the keys only `shellwatch run` uses. An empty
// [[watch]] list is valid here (scan and quarantine commands do not need
// one); the daemon refuses it itself.
func (c *Config) validateDaemon(bad func(key, format string, args ...any)) {
	if c.Agent.StateDir == "" || !filepath.IsAbs(c.Agent.StateDir) {
		bad("agent.state_dir", "= %q, want an absolute path", c.Agent.StateDir)
	}
	if c.Agent.Settle.Std() < 0 || c.Agent.Settle.Std() > 10e9 {
		bad("agent.settle", "= %s, want 0s to 10s", c.Agent.Settle)
	}
	if c.Agent.RescanInterval.Std() < 1e9 {
		bad("agent.rescan_interval", "= %s, want at least 1s", c.Agent.RescanInterval)
	}
	if d := c.Agent.SweepInterval.Std(); d != 0 && d < 10e9 {
		bad("agent.sweep_interval", "= %s, want at least 10s, or \"0\" to turn the sweep off", c.Agent.SweepInterval)
	}
	if d := c.Agent.RecheckInterval.Std(); d != 0 && (d < 100e6 || d > 10*60e9) {
		bad("agent.recheck_interval", "= %s, want 100ms to 10m, or \"0\" to turn re-checks off", c.Agent.RecheckInterval)
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Agent.LogLevel)); err != nil {
		bad("agent.log_level", "= %q, want debug, info, warn or error", c.Agent.LogLevel)
	}
	for i, w := range c.Watch {
		key := fmt.Sprintf("watch[%d].path", i)
		if w.Path == "" {
			bad(key, "is empty")
			continue
		}
		clean := filepath.Clean(w.Path)
		if clean == "/" {
			bad(key, "= \"/\": watch web roots, not the whole filesystem")
		}
		for j := 0; j < i; j++ {
			other := filepath.Clean(c.Watch[j].Path)
			switch {
			case other == clean:
				bad(key, "= %q is also watch[%d].path", w.Path, j)
			case isBelow(clean, other):
				bad(key, "= %q is inside watch[%d].path %q; one root covers it", w.Path, j, other)
			case isBelow(other, clean):
				bad(key, "= %q contains watch[%d].path %q; one root covers it", w.Path, j, other)
			}
		}
		for _, list := range []struct {
			key   string
			globs []string
		}{{"exclude", w.Exclude}, {"script_globs", w.ScriptGlobs}, {"no_script_globs", w.NoScriptGlobs}} {
			checkGlobs(fmt.Sprintf("watch[%d].%s", i, list.key), list.globs, bad)
		}
		if w.Mode != ModeMonitor && w.Mode != ModeProtected {
			bad(fmt.Sprintf("watch[%d].mode", i), "= %q, want \"monitor\" or \"protected\"", w.Mode)
		}
		if w.Mode == ModeProtected && len(w.ScriptGlobs) == 0 {
			bad(fmt.Sprintf("watch[%d].script_globs", i), "is empty: a protected root needs to know which files are code")
		}
		if w.WebUser != "" {
			if _, err := user.Lookup(w.WebUser); err != nil {
				bad(fmt.Sprintf("watch[%d].web_user", i), "= %q: no such user on this host", w.WebUser)
			}
		}
	}
	if c.Agent.ControlSocket == "" || !filepath.IsAbs(c.Agent.ControlSocket) {
		bad("agent.control_socket", "= %q, want an absolute path", c.Agent.ControlSocket)
	}
	if c.Deploy.DefaultTTL.Std() < time.Minute || c.Deploy.DefaultTTL > c.Deploy.MaxTTL {
		bad("deploy.default_ttl", "= %s, want at least 1m and at most deploy.max_ttl %s", c.Deploy.DefaultTTL, c.Deploy.MaxTTL)
	}
	if c.Quarantine.Dir != "" && !filepath.IsAbs(c.Quarantine.Dir) {
		bad("quarantine.dir", "= %q, want an absolute path", c.Quarantine.Dir)
	}
	vault := filepath.Clean(c.VaultDir())
	for i, w := range c.Watch {
		if w.Path != "" && (isBelow(vault, filepath.Clean(w.Path)) || vault == filepath.Clean(w.Path)) {
			bad("quarantine.dir", "= %q is inside watch[%d].path %q: quarantined webshells would be served", vault, i, w.Path)
		}
	}
	if c.Metrics.Listen != "" {
		if err := checkListen(c.Metrics.Listen); err != nil {
			bad("metrics.listen", "= %q: %v", c.Metrics.Listen, err)
		}
	}
	if d := c.Heartbeat.Interval.Std(); d != 0 && (d < time.Second || d > time.Hour) {
		bad("heartbeat.interval", "= %s, want 1s to 1h, or \"0\" to turn heartbeats off", c.Heartbeat.Interval)
	}
	if c.Journald.Rate < 0 || c.Journald.Burst < 0 {
		bad("journald.rate", "and journald.burst must not be negative")
	}
	for i, w := range c.Webhook {
		key := func(k string) string { return fmt.Sprintf("webhook[%d].%s", i, k) }
		u, err := url.Parse(w.URL)
		switch {
		case w.URL == "":
			bad(key("url"), "is empty")
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			bad(key("url"), "= %q, want an http:// or https:// URL", w.URL)
		}
		if w.Format != "json" && w.Format != "alertmanager" {
			bad(key("format"), "= %q, want \"json\" or \"alertmanager\"", w.Format)
		}
		if w.Timeout.Std() <= 0 {
			bad(key("timeout"), "= %s, want more than 0s", w.Timeout)
		}
		if w.MaxSpool < 1 {
			bad(key("max_spool"), "= %d, want at least 1", w.MaxSpool)
		}
		if w.AlertAfter.Std() < 0 {
			bad(key("alert_after"), "= %s, want a duration such as \"10m\", or \"0\" never to alert", w.AlertAfter)
		}
		if w.Rate < 0 || w.Burst < 0 {
			bad(key("rate"), "and burst must not be negative")
		}
		if (w.ClientCert == "") != (w.ClientKey == "") {
			bad(key("client_cert"), "and client_key go together: set both or neither")
		}
		for name := range w.Headers {
			if name == "" || strings.ContainsAny(name, " \t\r\n:") {
				bad(key("headers"), "has a bad header name %q", name)
			}
		}
	}
}

// checkListen accepts host:port with a port from 1 to 65535; the host may be
// empty (every interface), an IP address or a name.
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port, such as \"127.0.0.1:9787\"")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("port %q, want 1 to 65535", port)
	}
	if strings.ContainsAny(host, " \t\r\n/") {
		return fmt.Errorf("host %q is neither an address nor a name", host)
	}
	return nil
}

// IsLoopback reports whether metrics.listen serves on the loopback interface
// only: a loopback address, or "localhost".
func (m Metrics) IsLoopback() bool {
	host, _, err := net.SplitHostPort(m.Listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// isBelow reports whether path is strictly below dir (both clean).
func isBelow(path, dir string) bool {
	return strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// checkGlobs reports each pattern of key that does not compile in the glob
// language the daemon uses (walk.Globs, not filepath.Match's).
func checkGlobs(key string, globs []string, bad func(key, format string, args ...any)) {
	for k, g := range globs {
		if _, err := walk.CompileGlobs([]string{g}); err != nil {
			bad(fmt.Sprintf("%s[%d]", key, k), "= %q is not a valid glob: %v", g, errors.Unwrap(err))
		}
	}
}
