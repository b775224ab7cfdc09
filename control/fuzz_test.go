package control

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadRequest feeds the request parser what a peer might send: it must
// never panic, never accept more than the limit, and accept only requests
// with a command.
func FuzzReadRequest(f *testing.F) {
	for _, seed := range []string{
		`{"command":"status"}`,
		`{"command":"deploy.begin","args":{"root":"/var/www"}}`,
		`{"command":"x","args":null}`,
		`{"command":"` + strings.Repeat("a", 70) + `"}`,
		`{"command":"a"}{"command":"b"}`,
		`[]`, `null`, `{`, "\xff", `{"args":1}`,
	} {
		f.Add([]byte(seed))
	}
	const limit = 64
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := readRequest(bytes.NewReader(raw), limit)
		if err != nil {
			return
		}
		if req.Command == "" {
			t.Errorf("accepted a request without a command: %q", raw)
		}
		if len(req.Command)+len(req.Args) > limit {
			t.Errorf("accepted %d bytes of command and args past the %d-byte limit", len(req.Command)+len(req.Args), limit)
		}
	})
}
