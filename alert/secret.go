package alert

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/shellwatch/shellwatch/internal/regular"
)

// maxSecretFile bounds a secret_file or bearer_token_file read.
const maxSecretFile = 1 << 16

// ReadSecretFile reads a webhook's HMAC key or bearer token: trailing
// newlines trimmed, empty or over 64 KiB refused, a warning when group or
// others may read it. Only a regular file is read, and the open never
// blocks (a FIFO at the path fails at once). Its content is never logged.
func ReadSecretFile(path string, log *slog.Logger) ([]byte, error) {
	data, fi, err := regular.ReadFile(path, maxSecretFile)
	if err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		// Anyone who reads the key can sign alerts the receiver trusts.
		log.Warn("secret file is readable by group or others: chmod 600 it", "file", path, "mode", fmt.Sprintf("%04o", perm))
	}
	data = []byte(strings.TrimRight(string(data), "\r\n"))
	if len(data) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return data, nil
}
