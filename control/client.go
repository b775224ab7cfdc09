package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// callError keeps a message written for the operator while still letting
// errors.Is see the causes (ErrNotRunning, fs.ErrPermission, the errno).
type callError struct {
	msg    string
	causes []error
}

func (e *callError) Error() string   { return e.msg }
func (e *callError) Unwrap() []error { return e.causes }

// Call sends command with args (marshalled to JSON; nil for none) to the
// daemon on the socket at path and, when result is non-nil, unmarshals the
// answer's result into it. A daemon-side failure is a *[RemoteError]; no
// daemon wraps [ErrNotRunning]. Call waits as long as ctx allows (the wait
// includes queueing behind busy slots), so give ctx a deadline.
func Call(ctx context.Context, path string, command string, args any, result any) error {
	req := Request{Command: command}
	if args != nil {
		raw, err := json.Marshal(args)
		if err != nil {
			return fmt.Errorf("encode arguments of %s: %w", command, err)
		}
		req.Args = raw
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", command, err)
	}

	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return dialError(path, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Cancellation without a deadline must still unblock reads and writes.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	_, werr := conn.Write(append(body, '\n'))
	if werr == nil {
		// Tell the daemon the request is complete.
		_ = conn.(*net.UnixConn).CloseWrite()
	}
	// Read the answer even if the write failed: a daemon that refuses a
	// peer answers and hangs up without reading, and its refusal is the
	// useful message.
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%s: no answer from shellwatch on %s: %w", command, path, ctx.Err())
		case werr != nil:
			return fmt.Errorf("send %s to shellwatch on %s: %w", command, path, werr)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%s: shellwatch on %s hung up without a complete answer", command, path)
		}
		return fmt.Errorf("read answer to %s from %s: %w", command, path, err)
	}
	if !resp.OK {
		return &RemoteError{Command: command, Message: resp.Error}
	}
	if result != nil && len(resp.Result) > 0 {
		if err := json.Unmarshal(resp.Result, result); err != nil {
			return fmt.Errorf("decode result of %s: %w", command, err)
		}
	}
	return nil
}

func dialError(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return &callError{fmt.Sprintf("shellwatch is not running (no control socket at %s)", path), []error{ErrNotRunning, err}}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &callError{fmt.Sprintf("shellwatch is not running (nothing answers on the control socket %s)", path), []error{ErrNotRunning, err}}
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return &callError{fmt.Sprintf("permission denied on %s: run as root", path), []error{err}}
	}
	return fmt.Errorf("connect to shellwatch on %s: %w", path, err)
}
