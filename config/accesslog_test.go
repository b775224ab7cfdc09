package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestAccessLogDefaultsAndRelativePaths(t *testing.T) {
	cfg, dir := loadText(t, `
[[watch]]
path = "www"
url_path = "/shop"
server_names = ["shop.example.com", "*.shop.example.com"]

[[access_log]]
path = "logs/access.log"
roots = ["www"]
`)
	want := AccessLog{Path: filepath.Join(dir, "logs/access.log"), Format: "combined", Roots: []string{filepath.Join(dir, "www")}}
	if !reflect.DeepEqual(cfg.AccessLog, []AccessLog{want}) {
		t.Errorf("access_log = %+v, want [%+v]", cfg.AccessLog, want)
	}
	if w := cfg.Watch[0]; w.URLPath != "/shop" || len(w.ServerNames) != 2 {
		t.Errorf("watch[0] = %+v", w)
	}
	if got := cfg.LogsServing(filepath.Join(dir, "www")); len(got) != 1 {
		t.Errorf("LogsServing(www) = %v, want the log", got)
	}
	if got := cfg.LogsServing("/elsewhere"); len(got) != 0 {
		t.Errorf("LogsServing(/elsewhere) = %v, want none", got)
	}
	cfg, err := Parse("[[watch]]\npath = \"/srv/www\"\n[[access_log]]\npath = \"/var/log/nginx/access.log\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Watch[0].URLPath != "/" || cfg.AccessLog[0].Format != "combined" || !cfg.AccessLog[0].Serves("/srv/www") {
		t.Errorf("defaults not filled: %+v %+v", cfg.Watch[0], cfg.AccessLog[0])
	}
}

// Every bad value of the access-log keys is reported at once, naming the key.
func TestAccessLogErrorsNameTheKey(t *testing.T) {
	cfg, err := Parse(`
[[watch]]
path = "/srv/www"
url_path = "shop/"
server_names = ["a b", ""]

[[access_log]]
path = "/var/log/nginx/access.log"
format = '$remote_addr $remote_user'

[[access_log]]
path = "/var/log/nginx/access.log"
format = '%h %Z %t "%r"'
roots = ["/srv/other"]

[[access_log]]
path = ""
format = '%h $remote_addr'
`)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	if err == nil {
		t.Fatal("Validate succeeded, want errors")
	}
	for _, want := range []string{
		`watch[0].url_path: = "shop/"`,
		`watch[0].server_names[0]: = "a b"`,
		`watch[0].server_names[1]: = ""`,
		`access_log[0].format: has no time`,
		`access_log[1].path: = "/var/log/nginx/access.log" is also access_log[0].path`,
		`access_log[1].format: %Z is not a LogFormat directive`,
		`access_log[1].roots[0]: = "/srv/other" is no watch[].path`,
		`access_log[2].path: is empty`,
		`access_log[2].format: holds both nginx variables`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

// A log that exists and cannot be read (a folder, a FIFO in its place) or
// whose folder is missing is an error naming the key; a log not created
// yet is not.
func TestCheckAccessLogs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.log")
	if err := os.WriteFile(good, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.AccessLog = []AccessLog{
		{Path: good, Format: "combined"},
		{Path: filepath.Join(dir, "later.log"), Format: "combined"},
		{Path: fifo, Format: "combined"},
		{Path: filepath.Join(dir, "adir.log"), Format: "combined"},
		{Path: filepath.Join(dir, "missing", "x.log"), Format: "combined"},
	}
	err := cfg.CheckAccessLogs()
	if err == nil {
		t.Fatal("CheckAccessLogs succeeded, want errors")
	}
	msg := err.Error()
	for _, want := range []string{"access_log[2].path", "not a regular file", "access_log[3].path", "access_log[4].path", "does not exist"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
	for _, no := range []string{"access_log[0]", "access_log[1]"} {
		if strings.Contains(msg, no) {
			t.Errorf("error names %s, a readable log or one not created yet:\n%s", no, msg)
		}
	}
}
