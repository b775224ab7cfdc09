package testenv

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Where Debian's nginx and php-fpm packages put their binaries.
const (
	nginxBinary  = "/usr/sbin/nginx"
	phpFPMBinary = "/usr/sbin/php-fpm8.2"
)

// WebOptions shape a web server started by Web.
type WebOptions struct {
	// Root is the document root, inside the test's own temp dir. Its
	// folders, up to the temp dir, are made searchable by www-data.
	Root string
	// LogFormat is an nginx log_format for the access log; "" is nginx's
	// combined format.
	LogFormat string
	// Addr is the loopback address to listen on; "" is 127.0.0.1.
	Addr string
	// NoOPcache turns PHP's OPcache off in the pool: php-fpm then opens
	// a script at every request, not only when it changed.
	NoOPcache bool
}

// WebServer is a running nginx with php-fpm behind it.
type WebServer struct {
	URL       string // "http://127.0.0.1:PORT"
	AccessLog string // the access log's path
	Dir       string // configs, sockets, logs

	nginxPID int // the master process the test started
}

// Web starts Debian's nginx and php-fpm on a free loopback port, serving
// opts.Root, PHP run by php-fpm's pool as www-data, with configuration,
// sockets and logs in a temp dir of the test. Both are stopped, by their
// PIDs, when the test ends. When the binaries are absent the test is
// skipped, or fails under CI or SHELLWATCH_REQUIRE_CORPUS.
func Web(t testing.TB, opts WebOptions) *WebServer {
	t.Helper()
	for _, bin := range []string{nginxBinary, phpFPMBinary} {
		if _, err := os.Stat(bin); err != nil {
			msg := fmt.Sprintf("no %s (install the Debian packages nginx and php-fpm): %v", bin, err)
			if os.Getenv("CI") != "" || os.Getenv("SHELLWATCH_REQUIRE_CORPUS") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1"
	}
	if ip := net.ParseIP(opts.Addr); ip == nil || !ip.IsLoopback() {
		t.Fatalf("testenv.Web: %q is not a loopback address", opts.Addr)
	}
	searchable(t, opts.Root)
	dir := t.TempDir()
	searchable(t, dir)
	for _, d := range []string{"tmp", "body", "fastcgi", "proxy", "uwsgi", "scgi"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, d), 0o1777)
	}
	w := &WebServer{AccessLog: filepath.Join(dir, "access.log"), Dir: dir}
	sock := filepath.Join(dir, "php-fpm.sock")
	fpmConf := filepath.Join(dir, "php-fpm.conf")
	writeConf(t, fpmConf, fmt.Sprintf(`[global]
pid = %[1]s/php-fpm.pid
error_log = %[1]s/php-fpm.log
daemonize = no
[www]
user = www-data
group = www-data
listen = %[2]s
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
pm = static
pm.max_children = 4
catch_workers_output = yes
php_admin_value[upload_tmp_dir] = %[1]s/tmp
php_admin_value[sys_temp_dir] = %[1]s/tmp
php_admin_value[session.save_path] = %[1]s/tmp
php_admin_flag[log_errors] = on
php_admin_flag[opcache.enable] = %[3]s
`, dir, sock, map[bool]string{false: "on", true: "off"}[opts.NoOPcache]))
	start(t, "php-fpm", syscall.SIGQUIT, exec.Command(phpFPMBinary, "--nodaemonize", "--fpm-config", fpmConf), func() bool {
		_, err := os.Stat(sock)
		return err == nil
	})

	format := "combined"
	logFormat := ""
	if opts.LogFormat != "" {
		format, logFormat = "test", fmt.Sprintf("log_format test '%s';", opts.LogFormat)
	}
	var lastErr error
	for range 5 {
		port, err := freeLoopbackPort()
		if err != nil {
			t.Fatal(err)
		}
		addr := net.JoinHostPort(opts.Addr, strconv.Itoa(port))
		conf := filepath.Join(dir, "nginx.conf")
		writeConf(t, conf, fmt.Sprintf(`daemon off;
master_process on;
user www-data;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;
events { worker_connections 64; }
http {
	include /etc/nginx/mime.types;
	%[5]s
	access_log %[2]s %[6]s;
	client_body_temp_path %[1]s/body;
	fastcgi_temp_path %[1]s/fastcgi;
	proxy_temp_path %[1]s/proxy;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	client_max_body_size 16m;
	server {
		listen %[3]s;
		root %[4]s;
		index index.php index.html;
		location ~ \.php$ {
			try_files $uri =404;
			include /etc/nginx/fastcgi_params;
			fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
			fastcgi_pass unix:%[7]s;
		}
	}
}
`, dir, w.AccessLog, addr, opts.Root, logFormat, format, sock))
		w.URL = "http://" + addr
		cmd := exec.Command(nginxBinary, "-c", conf, "-e", filepath.Join(dir, "nginx-error.log"))
		if lastErr = tryStart(t, "nginx", syscall.SIGQUIT, cmd, func() bool {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil
		}); lastErr == nil {
			w.nginxPID = cmd.Process.Pid
			return w
		}
	}
	t.Fatalf("nginx: %v", lastErr)
	return nil
}

// Get fetches path from the server, from the loopback address from
// ("" for any), and returns the status and body.
func (w *WebServer) Get(t testing.TB, path, from string) (int, string) {
	t.Helper()
	resp, err := w.client(from).Get(w.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return readResponse(resp)
}

// Post uploads content as the file name of the multipart form field field
// to path, from the loopback address from ("" for any), and returns the
// status and body: what a browser's upload form sends.
func (w *WebServer) Post(t testing.TB, path, from, field, name string, content []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(content)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := w.client(from).Post(w.URL+path, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return readResponse(resp)
}

// Reopen has nginx reopen its logs (SIGUSR1 to the master process the test
// started), as logrotate's postrotate does after renaming them, and waits
// until every worker writes to the new access log. The master makes the new
// file and only then signals the workers, so a request served between the
// two, or before a worker got to its signal, is logged in the renamed file:
// waiting for the file alone lost the request that followed it.
func (w *WebServer) Reopen(t testing.TB) {
	t.Helper()
	if err := syscall.Kill(w.nginxPID, syscall.SIGUSR1); err != nil {
		t.Fatalf("nginx reopen: %v", err)
	}
	if !poll(30*time.Second, w.workersWriteAccessLog) {
		t.Fatalf("nginx's workers did not reopen %s within 30s (workers %v)", w.AccessLog, childrenOf(w.nginxPID))
	}
}

// workersWriteAccessLog reports whether the access log exists and every
// worker of the master holds it open. A worker opens the new file and
// closes the old one in one go, before it serves another request, so once
// it holds the new one it writes there.
func (w *WebServer) workersWriteAccessLog() bool {
	fi, err := os.Stat(w.AccessLog)
	if err != nil {
		return false
	}
	workers := childrenOf(w.nginxPID)
	if len(workers) == 0 {
		return false
	}
	for _, pid := range workers {
		if !holdsOpen(pid, fi) {
			return false
		}
	}
	return true
}

// holdsOpen reports whether process pid has a descriptor open on the file
// fi describes.
func holdsOpen(pid int, fi os.FileInfo) bool {
	fds, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/fd/*")
	for _, fd := range fds {
		if got, err := os.Stat(fd); err == nil && os.SameFile(got, fi) {
			return true
		}
	}
	return false
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// "PID (comm) STATE PPID ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		if kid, err := strconv.Atoi(filepath.Base(filepath.Dir(s))); err == nil {
			kids = append(kids, kid)
		}
	}
	return kids
}

func (w *WebServer) client(from string) *http.Client {
	client := &http.Client{Timeout: 10 * time.Second}
	if from != "" {
		client.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext}
	}
	return client
}

func readResponse(resp *http.Response) (int, string) {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// Searchable makes dir and its parents, up to the temp dir, searchable by
// everyone (t.TempDir makes them 0700), so that www-data reaches dir.
func Searchable(t testing.TB, dir string) { searchable(t, dir) }

func searchable(t testing.TB, dir string) {
	t.Helper()
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); d != tmp && strings.HasPrefix(d, tmp+"/"); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o055); err != nil {
			t.Fatal(err)
		}
	}
}

func writeConf(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// WebUserUID is the uid (and gid) of Debian's www-data, php-fpm's pool user.
const WebUserUID = 33

// AsWebUser is the command name args run as www-data, the way php-fpm's
// pool opens a script; it is killed if the test process dies.
func AsWebUser(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: WebUserUID, Gid: WebUserUID}, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// InFanotify reports whether process pid sleeps waiting for a fanotify
// permission answer, by the kernel function it sleeps in: in any of its
// threads (a Go program opens files on whichever thread runs the
// goroutine; /proc/PID/wchan is the first thread's alone).
func InFanotify(pid int) bool {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/wchan")
	for _, t := range tasks {
		if b, err := os.ReadFile(t); err == nil && bytes.Contains(b, []byte("fanotify")) {
			return true
		}
	}
	return false
}
