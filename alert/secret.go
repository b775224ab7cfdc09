package alert

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// ReadSecretFile reads a webhook's HMAC key or bearer token: trailing
// newlines trimmed, empty or over 64 KiB refused, a warning when group or
// others may read it. Its content is never logged.
func ReadSecretFile(path string, log *slog.Logger) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		// Anyone who reads the key can sign alerts the receiver trusts.
		log.Warn("secret file is readable by group or others: chmod 600 it", "file", path, "mode", fmt.Sprintf("%04o", perm))
	}
	if fi.Size() > 1<<16 {
		return nil, fmt.Errorf("%s: %d bytes, too large for a secret", path, fi.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data = []byte(strings.TrimRight(string(data), "\r\n"))
	if len(data) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return data, nil
}
