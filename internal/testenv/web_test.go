package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The web server of the end-to-end tests serves PHP through php-fpm as
// www-data, on loopback, and logs each request with its client address.
func TestWeb(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	WriteFile(t, filepath.Join(root, "who.php"), "<?php echo 'user=' . posix_getpwuid(posix_geteuid())['name'];")
	w := Web(t, WebOptions{Root: root})
	status, body := w.Get(t, "/who.php?x=1", "127.0.0.2")
	if status != 200 || body != "user=www-data" {
		t.Fatalf("GET /who.php: %d %q", status, body)
	}
	if status, _ := w.Get(t, "/missing.php", ""); status != 404 {
		t.Errorf("GET /missing.php: %d, want 404", status)
	}
	Eventually(t, 30*time.Second, "two lines in the access log", func() bool {
		b, _ := os.ReadFile(w.AccessLog)
		return strings.Count(string(b), "\n") >= 2
	})
	b, _ := os.ReadFile(w.AccessLog)
	if !strings.HasPrefix(string(b), `127.0.0.2 - - [`) || !strings.Contains(string(b), `"GET /who.php?x=1 HTTP/1.1" 200`) {
		t.Errorf("access log:\n%s", b)
	}
}

// Post uploads a file as a browser's form does; Reopen makes nginx write
// to a new log after the old one was renamed, as logrotate does.
func TestWebPostAndReopen(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	if err := os.MkdirAll(filepath.Join(root, "up"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(root, "up"), 0o777)
	WriteFile(t, filepath.Join(root, "upload.php"), `<?php move_uploaded_file($_FILES['f']['tmp_name'], __DIR__ . '/up/' . basename($_FILES['f']['name'])); echo 'ok';`)
	w := Web(t, WebOptions{Root: root})
	if status, body := w.Post(t, "/upload.php", "127.0.0.2", "f", "a.txt", []byte("hello")); status != 200 || body != "ok" {
		t.Fatalf("POST /upload.php: %d %q", status, body)
	}
	if b, err := os.ReadFile(filepath.Join(root, "up", "a.txt")); err != nil || string(b) != "hello" {
		t.Fatalf("uploaded file: %q, %v", b, err)
	}
	Eventually(t, 30*time.Second, "the POST in the log", func() bool {
		b, _ := os.ReadFile(w.AccessLog)
		return strings.Contains(string(b), `"POST /upload.php HTTP/1.1" 200`)
	})
	if err := os.Rename(w.AccessLog, w.AccessLog+".1"); err != nil {
		t.Fatal(err)
	}
	w.Reopen(t)
	w.Get(t, "/after.txt", "")
	Eventually(t, 30*time.Second, "the GET in the new log", func() bool {
		b, _ := os.ReadFile(w.AccessLog)
		return strings.Contains(string(b), `"GET /after.txt HTTP/1.1" 404`)
	})
}
