package control

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type echoArgs struct {
	Root   string `json:"root"`
	Reason string `json:"reason"`
}

type echoResult struct {
	Args echoArgs `json:"args"`
	UID  uint32   `json:"uid"`
	PID  int32    `json:"pid"`
}

func TestRoundTrip(t *testing.T) {
	srv := startServer(t, socketPath(t), testOptions(), Mux{
		"deploy.begin": func(ctx context.Context, peer Peer, req Request) (any, error) {
			var a echoArgs
			if err := req.DecodeArgs(&a); err != nil {
				return nil, err
			}
			return echoResult{Args: a, UID: peer.UID, PID: peer.PID}, nil
		},
		"status": func(context.Context, Peer, Request) (any, error) { return nil, nil },
	}.Handle)

	in := echoArgs{Root: "/var/www/shop\nevil", Reason: "release 42"}
	var out echoResult
	if err := Call(callCtx(t), srv.path, "deploy.begin", in, &out); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if out.Args != in {
		t.Errorf("args came back as %+v, want %+v", out.Args, in)
	}
	if out.UID != uint32(os.Geteuid()) || out.PID != int32(os.Getpid()) {
		t.Errorf("peer seen as uid %d pid %d, want uid %d pid %d", out.UID, out.PID, os.Geteuid(), os.Getpid())
	}
	// A command without a result, and a nil result pointer.
	if err := Call(callCtx(t), srv.path, "status", nil, nil); err != nil {
		t.Fatalf("Call status: %v", err)
	}
	// Strict arguments and unknown commands are errors the operator reads.
	err := Call(callCtx(t), srv.path, "deploy.begin", map[string]string{"roots": "x"}, nil)
	if err == nil || !strings.Contains(err.Error(), `bad arguments for deploy.begin: json: unknown field "roots"`) {
		t.Errorf("misspelt argument: got %v", err)
	}
	err = Call(callCtx(t), srv.path, "deploy.start", nil, nil)
	if err == nil || err.Error() != `unknown command "deploy.start" (known: deploy.begin, status)` {
		t.Errorf("unknown command: got %v", err)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, `"command":"deploy.begin"`) {
		t.Errorf("request not logged; logs:\n%s", logs)
	}
}

func TestHandlerError(t *testing.T) {
	srv := startServer(t, socketPath(t), testOptions(), func(context.Context, Peer, Request) (any, error) {
		return "ignored", errors.New("a deploy of /var/www/shop is already in progress")
	})
	err := Call(callCtx(t), srv.path, "deploy.begin", nil, nil)
	var re *RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("got %v (%T), want a *RemoteError", err, err)
	}
	if err.Error() != "a deploy of /var/www/shop is already in progress" || re.Command != "deploy.begin" {
		t.Errorf("got %q for command %q", err.Error(), re.Command)
	}
}

func TestHandlerPanic(t *testing.T) {
	srv := startServer(t, socketPath(t), testOptions(), func(_ context.Context, _ Peer, req Request) (any, error) {
		if req.Command == "boom" {
			panic("baseline store is nil")
		}
		return "fine", nil
	})
	err := Call(callCtx(t), srv.path, "boom", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "internal error: boom panicked: baseline store is nil") {
		t.Fatalf("got %v", err)
	}
	var out string
	if err := Call(callCtx(t), srv.path, "status", nil, &out); err != nil || out != "fine" {
		t.Fatalf("after the panic: %q, %v", out, err)
	}
	if logs := srv.logs.String(); !strings.Contains(logs, "control handler panicked") || !strings.Contains(logs, "goroutine") {
		t.Errorf("panic and stack not logged; logs:\n%s", logs)
	}
}

// rawExchange sends raw bytes, half-closes, and decodes the answer.
func rawExchange(t *testing.T, path string, raw []byte) Response {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	_ = conn.(*net.UnixConn).CloseWrite()
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		t.Fatalf("decode answer to %q: %v", raw, err)
	}
	return resp
}

func TestBadRequests(t *testing.T) {
	var ran atomic.Int32
	srv := startServer(t, socketPath(t), Options{AllowUIDs: testOptions().AllowUIDs, MaxRequestBytes: 1024},
		func(context.Context, Peer, Request) (any, error) { ran.Add(1); return "ok", nil })
	big := `{"command":"status","args":"` + strings.Repeat("A", 2000) + `"}`
	for _, tc := range []struct{ name, raw, want string }{
		{"truncated", `{"command":"sta`, "malformed request: unexpected EOF"},
		{"not json", "GET / HTTP/1.0\r\n\r\n", "malformed request: invalid character 'G'"},
		{"array", `[1,2,3]`, "malformed request: json: cannot unmarshal array"},
		{"null", `null`, `malformed request: no "command"`},
		{"no command", `{"args":{}}`, `malformed request: no "command"`},
		{"int command", `{"command":7}`, "malformed request: json: cannot unmarshal number"},
		{"invalid utf-8", "{\"command\":\"\xff\xfe\",\"args\":\x00}", "malformed request: invalid character"},
		{"oversize", big, "request too large: the limit is 1024 bytes"},
		{"endless", `{"command":"` + strings.Repeat("x", 5000), "request too large: the limit is 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawExchange(t, srv.path, []byte(tc.raw))
			if resp.OK || !strings.Contains(resp.Error, tc.want) {
				t.Errorf("got %+v, want an error containing %q", resp, tc.want)
			}
		})
	}
	// Through Call too: the client keeps writing while the daemon has
	// already answered and hung up, and still shows the daemon's reason.
	err := Call(callCtx(t), srv.path, "status", strings.Repeat("B", 1<<20), nil)
	if err == nil || !strings.Contains(err.Error(), "request too large") {
		t.Errorf("oversize Call: got %v", err)
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("handler ran %d times on bad requests", n)
	}
	if err := Call(callCtx(t), srv.path, "status", nil, nil); err != nil {
		t.Errorf("server no longer serving after bad requests: %v", err)
	}
}

func TestSizeLimit(t *testing.T) {
	const limit = 512
	srv := startServer(t, socketPath(t), Options{AllowUIDs: testOptions().AllowUIDs, MaxRequestBytes: limit},
		func(context.Context, Peer, Request) (any, error) { return nil, nil })
	head, tail := `{"command":"status","args":"`, `"}`
	exact := head + strings.Repeat("a", limit-len(head)-len(tail)) + tail
	if resp := rawExchange(t, srv.path, []byte(exact)); !resp.OK {
		t.Errorf("request of exactly %d bytes refused: %+v", limit, resp)
	}
	over := head + strings.Repeat("a", limit+1-len(head)-len(tail)) + tail
	if resp := rawExchange(t, srv.path, []byte(over)); resp.OK {
		t.Errorf("request of %d bytes accepted", limit+1)
	}
}

func TestTimeout(t *testing.T) {
	opts := testOptions()
	// The handler waits out its context, which ends Timeout/10 (at most
	// 1 s) before the connection's deadline: that sliver is all the
	// server has to wake, encode and write the answer. 300 ms left it
	// 30 ms, less than a loaded machine may take to run the goroutine at
	// all (the answer was lost, "hung up without a complete answer");
	// 5 s leaves it 500 ms.
	opts.Timeout = 5 * time.Second
	srv := startServer(t, socketPath(t), opts, func(ctx context.Context, _ Peer, _ Request) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	err := Call(callCtx(t), srv.path, "baseline.accept", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("got %v, want the handler's deadline error", err)
	}
}

func TestMaxConns(t *testing.T) {
	const slots, calls = 2, 6
	var (
		mu          sync.Mutex
		running, hi int
	)
	entered := make(chan struct{}, calls)
	release := make(chan struct{})
	opts := testOptions()
	opts.MaxConns = slots
	srv := startServer(t, socketPath(t), opts, func(context.Context, Peer, Request) (any, error) {
		mu.Lock()
		running++
		hi = max(hi, running)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		mu.Lock()
		running--
		mu.Unlock()
		return nil, nil
	})
	errs := make(chan error, calls)
	for range calls {
		go func() { errs <- Call(callCtx(t), srv.path, "status", nil, nil) }()
	}
	// Let requests through one at a time, each only once the slots are
	// full again, so surplus connections really do queue.
	for i := range calls {
		<-entered
		if i >= slots-1 {
			release <- struct{}{}
		}
	}
	for range slots - 1 {
		release <- struct{}{}
	}
	for range calls {
		if err := <-errs; err != nil {
			t.Errorf("Call: %v", err)
		}
	}
	if hi > slots {
		t.Errorf("%d handlers ran at once, limit %d", hi, slots)
	}
}
