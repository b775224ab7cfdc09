package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// DefaultSocket is where the daemon listens and the command line calls
// unless configured otherwise. systemd's /run is root-owned and cleared at
// boot, so a socket left by a crash never survives a reboot.
const DefaultSocket = "/run/shellwatch/control.sock"

// Request is what a client sends: one command and its arguments as JSON.
type Request struct {
	// Command names the operation, such as "status" or "deploy.begin".
	Command string `json:"command"`
	// Args holds the command's arguments; absent when it takes none.
	Args json.RawMessage `json:"args,omitempty"`
}

// DecodeArgs unmarshals r.Args into v, rejecting unknown fields so that a
// misspelt option fails loudly instead of being ignored. Absent Args leave v
// unchanged.
func (r Request) DecodeArgs(v any) error {
	if len(r.Args) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.Args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad arguments for %s: %w", r.Command, err)
	}
	return nil
}

// Response is what the daemon answers: OK with an optional Result, or not OK
// with an Error an operator can read.
type Response struct {
	// OK reports whether the command succeeded.
	OK bool `json:"ok"`
	// Error is the reason the command failed; empty when OK.
	Error string `json:"error,omitempty"`
	// Result is the command's JSON result; absent when it has none.
	Result json.RawMessage `json:"result,omitempty"`
}

// Peer identifies the process on the other end of a connection, as the
// kernel saw it when that process connected (SO_PEERCRED): it cannot be
// forged by what the client sends.
type Peer struct {
	PID      int32
	UID, GID uint32
}

// Handler runs one request from an allowed peer. ctx ends at the request's
// deadline or when the server gives up draining. The result is marshalled
// to JSON into Response.Result; a non-nil error becomes Response.Error, with
// its text shown to the operator as is. A panic is recovered and answered
// as an internal error.
type Handler func(ctx context.Context, peer Peer, req Request) (result any, err error)

// Mux routes each request to the Handler registered under its command name.
// Its Handle method is itself a Handler: srv.Serve(ctx, mux.Handle).
type Mux map[string]Handler

// Handle calls the handler for req.Command, or fails with the list of known
// commands so that a client built from another version says what it lacks.
func (m Mux) Handle(ctx context.Context, peer Peer, req Request) (any, error) {
	h, ok := m[req.Command]
	if !ok || h == nil {
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown command %q (known: %s)", req.Command, strings.Join(names, ", "))
	}
	return h(ctx, peer, req)
}

// RemoteError is a failure reported by the daemon (Response.OK false), as
// opposed to a failure to reach it. Its text is the daemon's message.
type RemoteError struct {
	// Command is the command that failed.
	Command string
	// Message is the daemon's Response.Error.
	Message string
}

// Error returns the daemon's message as is, written for the operator.
func (e *RemoteError) Error() string {
	if e.Message == "" {
		return e.Command + " failed (the daemon gave no reason)"
	}
	return e.Message
}

// ErrNotRunning is wrapped by Call's error when no daemon listens on the
// socket, so that `shellwatch status` can exit with "not running" (3).
var ErrNotRunning = errors.New("shellwatch is not running")
