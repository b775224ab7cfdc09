package alert

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := ReadSecretFile(write("key", "s3cret\r\n\n", 0o600), log)
	if err != nil || string(got) != "s3cret" {
		t.Errorf("ReadSecretFile = %q, %v; want the key without its newlines", got, err)
	}
	if logs.Len() != 0 {
		t.Errorf("a private key file was warned about: %s", logs.String())
	}
	if _, err := ReadSecretFile(write("open", "k", 0o644), log); err != nil || !strings.Contains(logs.String(), "chmod 600") {
		t.Errorf("a world-readable key: err %v, log %q; want it read and warned about", err, logs.String())
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Error("a key's content reached the log")
	}
	for name, content := range map[string]string{"empty": "\n", "huge": strings.Repeat("k", 1<<16+1)} {
		if _, err := ReadSecretFile(write(name, content, 0o600), log); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s secret file: err %v, want an error naming the file", name, err)
		}
	}
	if _, err := ReadSecretFile(filepath.Join(dir, "missing"), log); err == nil {
		t.Error("a missing secret file was read")
	}
}
