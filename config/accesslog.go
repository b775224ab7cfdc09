package config

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/shellwatch/shellwatch/weblog"
)

// AccessLog is one web server access log, one [[access_log]] table: the
// daemon follows it to say who dropped and who used a flagged file, and
// `shellwatch trace` reads it.
type AccessLog struct {
	// Path is the live log; its rotated siblings (path.1, path.2.gz…,
	// path-YYYYMMDD.gz) are read too.
	Path string `toml:"path"`
	// Format is "combined", "common", "vhost_combined", an nginx
	// log_format string or an Apache LogFormat string (weblog.ParseFormat).
	Format string `toml:"format"`
	// Roots are the watch[].path values of the roots this log serves;
	// empty: every root.
	Roots []string `toml:"roots"`
}

// DefaultAccessLog returns the values an [[access_log]] table has for the
// keys it leaves out.
func DefaultAccessLog() AccessLog {
	return AccessLog{Format: "combined", Roots: []string{}}
}

// Serves reports whether the log serves the watch root at rootPath.
func (l AccessLog) Serves(rootPath string) bool {
	if len(l.Roots) == 0 {
		return true
	}
	for _, r := range l.Roots {
		if filepath.Clean(r) == filepath.Clean(rootPath) {
			return true
		}
	}
	return false
}

// validateAccessLogs checks watch[].url_path, watch[].server_names and the
// [[access_log]] tables, without touching the files (CheckAccessLogs does).
func (c *Config) validateAccessLogs(bad func(key, format string, args ...any)) {
	for i, w := range c.Watch {
		if w.URLPath == "" || w.URLPath[0] != '/' || path.Clean(w.URLPath) != w.URLPath || strings.ContainsAny(w.URLPath, "?#\\\"") || hasControl(w.URLPath) {
			bad(fmt.Sprintf("watch[%d].url_path", i), "= %q, want a clean absolute URL path such as \"/\" or \"/shop\"", w.URLPath)
		}
		for j, name := range w.ServerNames {
			if name == "" || strings.ContainsAny(name, " \t/\\\"") || hasControl(name) {
				bad(fmt.Sprintf("watch[%d].server_names[%d]", i, j), "= %q, want a host name such as \"shop.example.com\" or \"*.example.com\"", name)
			}
		}
	}
	seen := make(map[string]int)
	for i, l := range c.AccessLog {
		key := func(k string) string { return fmt.Sprintf("access_log[%d].%s", i, k) }
		switch {
		case l.Path == "":
			bad(key("path"), "is empty")
		case !filepath.IsAbs(l.Path):
			bad(key("path"), "= %q, want an absolute path", l.Path)
		default:
			if j, ok := seen[filepath.Clean(l.Path)]; ok {
				bad(key("path"), "= %q is also access_log[%d].path", l.Path, j)
			}
			seen[filepath.Clean(l.Path)] = i
		}
		if _, err := weblog.ParseFormat(l.Format); err != nil {
			bad(key("format"), "%v", err)
		}
		for j, root := range l.Roots {
			found := false
			for _, w := range c.Watch {
				found = found || (w.Path != "" && filepath.Clean(w.Path) == filepath.Clean(root))
			}
			if !found {
				bad(fmt.Sprintf("access_log[%d].roots[%d]", i, j), "= %q is no watch[].path", root)
			}
		}
	}
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// CheckAccessLogs checks that every access log can be read: its folder
// exists, and the log, when it exists already, is a regular file this
// process may read (one not created yet is followed once it is). Errors
// name the key, one line each. Validate does not touch the files, so that
// `shellwatch scan --config` works where the logs are not readable.
func (c *Config) CheckAccessLogs() error {
	var problems []Problem
	for i, l := range c.AccessLog {
		key := fmt.Sprintf("access_log[%d].path", i)
		if st, err := os.Stat(filepath.Dir(l.Path)); err != nil || !st.IsDir() {
			problems = append(problems, Problem{Key: key, Message: fmt.Sprintf("= %q: its folder %s does not exist", l.Path, filepath.Dir(l.Path))})
			continue
		}
		rc, err := weblog.OpenLog(l.Path)
		switch {
		case os.IsNotExist(err):
		case err != nil:
			problems = append(problems, Problem{Key: key, Message: fmt.Sprintf("= %q cannot be read: %v", l.Path, err)})
		default:
			rc.Close()
		}
	}
	if len(problems) > 0 {
		return &Error{Problems: problems}
	}
	return nil
}

// LogsServing returns the access logs that serve the watch root at
// rootPath (see AccessLog.Serves).
func (c *Config) LogsServing(rootPath string) []AccessLog {
	var out []AccessLog
	for _, l := range c.AccessLog {
		if l.Serves(rootPath) {
			out = append(out, l)
		}
	}
	return out
}
