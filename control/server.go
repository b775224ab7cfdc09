package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults for [Options]; the zero value of a field selects them.
const (
	DefaultSocketMode      os.FileMode = 0o600
	DefaultMaxRequestBytes int64       = 1 << 20
	DefaultTimeout                     = 30 * time.Second
	DefaultDrainTimeout                = 5 * time.Second
	DefaultMaxConns                    = 16
)

// Options tunes a [Server]. The zero value is the production setting.
type Options struct {
	// SocketMode is the permission of the socket file (default 0600). The
	// peer check applies whatever it is; tests use 0666 so that a
	// non-root process can reach that check.
	SocketMode os.FileMode
	// AllowUIDs lists the peer uids that may send commands. Empty means
	// root only: the commands suspend alerting or bless files, which is
	// root's decision on a payment server.
	AllowUIDs []uint32
	// MaxRequestBytes bounds one request (default 1 MiB); a larger one
	// is answered with an error, never buffered.
	MaxRequestBytes int64
	// Timeout bounds one connection from accept to the last byte of the
	// answer: reading the request, the handler and writing (default 30s).
	Timeout time.Duration
	// DrainTimeout is how long Serve waits, once its context is done, for
	// requests already running (default 5s). Past it, their contexts are
	// cancelled and Serve returns without waiting further.
	DrainTimeout time.Duration
	// MaxConns bounds the connections handled at once (default 16). Beyond
	// it new connections are not refused: they wait in the kernel's
	// listen queue until a slot frees, bounded by the client's deadline.
	MaxConns int
	// Logger receives refused peers, handler panics and one line per
	// request, an audit trail of who ran what (default slog.Default()).
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.SocketMode == 0 {
		o.SocketMode = DefaultSocketMode
	}
	if o.SocketMode&^fs.ModePerm != 0 {
		return o, fmt.Errorf("control socket mode %v: only permission bits (0777) are allowed", o.SocketMode)
	}
	if len(o.AllowUIDs) == 0 {
		o.AllowUIDs = []uint32{0}
	}
	if o.MaxRequestBytes < 0 || o.Timeout < 0 || o.DrainTimeout < 0 || o.MaxConns < 0 {
		return o, errors.New("control options: limits and timeouts must not be negative")
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// Server is a listening control socket. Create it with [Listen], run it with
// [Server.Serve].
type Server struct {
	path    string
	opts    Options
	log     *slog.Logger
	ln      *net.UnixListener
	sock    fs.FileInfo // the socket file this server created
	allowed map[uint32]bool

	mu      sync.Mutex
	serving bool

	closeOnce sync.Once
	closeErr  error
	done      chan struct{} // closed by Close
}

// Listen prepares the directory of path (creating it 0700 if missing and
// refusing one that is a symbolic link, not owned by root or the effective
// user, or writable by group or others), replaces a stale socket left by a
// crashed daemon, refuses a live one ("another shellwatch is running") and
// anything else at path, and binds a socket of mode opts.SocketMode there.
func Listen(path string, opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkSocketPath(path); err != nil {
		return nil, err
	}
	path = filepath.Clean(path)
	if err := prepareDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if err := clearStale(path); err != nil {
		return nil, err
	}
	// bind(2) never follows a symbolic link at the path: anything there,
	// a link created since clearStale included, fails with EADDRINUSE.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("listen on %s: something appeared at that path meanwhile; is another shellwatch starting?", path)
		}
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// The net package would unlink by path on Close; we unlink only the
	// socket we made (see Close), never a successor's.
	ln.SetUnlinkOnClose(false)
	sock, err := os.Lstat(path)
	if err != nil || sock.Mode()&fs.ModeSocket == 0 {
		ln.Close()
		return nil, fmt.Errorf("listen on %s: the socket vanished right after bind (%v)", path, err)
	}
	// Between bind and this chmod the socket has mode 0777&^umask; the
	// directory (0700, checked above) and the peer check cover that gap.
	// chmod follows links, but path was just seen to be our socket in a
	// directory nobody else can write.
	if err := os.Chmod(path, o.SocketMode); err != nil {
		ln.Close()
		_ = removeIfSame(path, sock)
		return nil, fmt.Errorf("set mode of control socket %s: %w", path, err)
	}
	s := &Server{
		path:    path,
		opts:    o,
		log:     o.Logger.With("socket", path),
		ln:      ln,
		sock:    sock,
		allowed: make(map[uint32]bool, len(o.AllowUIDs)),
		done:    make(chan struct{}),
	}
	for _, uid := range o.AllowUIDs {
		s.allowed[uid] = true
	}
	return s, nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops accepting connections and removes the socket file if it is
// still the one Listen created. Serve calls it when its context is done; call
// it directly only when Serve is never reached (a later startup step failed).
// Requests already running are not interrupted.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		err := s.ln.Close()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		if rerr := removeIfSame(s.path, s.sock); rerr != nil {
			s.log.Warn("control socket not removed", "error", rerr)
		}
		s.closeErr = err
	})
	return s.closeErr
}

// Serve answers connections with h until ctx is done or Close is called.
// It then closes the listener, removes the socket, and waits up to
// Options.DrainTimeout for requests already running; a normal stop returns
// nil. It returns an error if the listener fails or if requests were still
// running when the drain timed out (their contexts are then cancelled and
// they finish on their own).
func (s *Server) Serve(ctx context.Context, h Handler) error {
	if h == nil {
		return errors.New("control: Serve needs a handler")
	}
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return fmt.Errorf("control socket %s is already being served", s.path)
	}
	s.serving = true
	s.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	// In-flight requests are not cut short by shutdown (a half-done
	// "baseline accept" helps nobody); they are cancelled only when the
	// drain times out.
	handlerCtx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()

	s.log.Info("control socket listening", "mode", fmt.Sprintf("%04o", s.opts.SocketMode), "max_conns", s.opts.MaxConns)
	slots := make(chan struct{}, s.opts.MaxConns)
	var (
		wg       sync.WaitGroup
		inFlight atomic.Int64
		fatal    error
		backoff  time.Duration
	)
accept:
	for {
		// Take a slot before accepting, so that surplus connections wait
		// in the kernel's queue instead of as goroutines here.
		select {
		case slots <- struct{}{}:
		case <-s.done:
			break accept
		}
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			<-slots
			select {
			case <-s.done:
				break accept
			default:
			}
			if isTemporaryAccept(err) {
				// Out of descriptors or memory: wait and retry, as
				// net/http does, instead of spinning or giving up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("control socket accept failed; retrying", "error", err, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-s.done:
					break accept
				}
				continue
			}
			fatal = fmt.Errorf("accept on control socket %s: %w", s.path, err)
			break accept
		}
		backoff = 0
		wg.Add(1)
		inFlight.Add(1)
		go func() {
			defer wg.Done()
			defer inFlight.Add(-1)
			defer func() { <-slots }()
			s.serveConn(handlerCtx, conn, h)
		}()
	}
	s.Close()

	drained := make(chan struct{})
	go func() {
		wg.Wait()
		close(drained)
	}()
	timer := time.NewTimer(s.opts.DrainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		n := inFlight.Load()
		cancelHandlers()
		s.log.Error("control requests still running after drain timeout; cancelled", "requests", n, "drain_timeout", s.opts.DrainTimeout)
		fatal = errors.Join(fatal, fmt.Errorf("control socket %s: %d requests still running after %s; cancelled", s.path, n, s.opts.DrainTimeout))
	}
	return fatal
}

func isTemporaryAccept(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// serveConn handles one connection: peer check, one request, one answer.
func (s *Server) serveConn(ctx context.Context, conn *net.UnixConn, h Handler) {
	defer conn.Close()
	start := time.Now()
	deadline := start.Add(s.opts.Timeout)
	_ = conn.SetDeadline(deadline)

	// Who is calling is settled before anything they send is parsed: a
	// refused peer never gets its bytes read, let alone decoded.
	peer, err := peerCredentials(conn)
	if err != nil {
		s.log.Warn("control connection dropped: cannot read peer credentials", "error", err)
		return
	}
	log := s.log.With("pid", peer.PID, "uid", peer.UID, "gid", peer.GID)
	if !s.allowed[peer.UID] {
		log.Warn("control connection refused: peer uid not allowed")
		s.writeResponse(conn, log, Response{Error: fmt.Sprintf("permission denied: shellwatch control requires root (peer uid %d)", peer.UID)})
		return
	}

	req, err := readRequest(conn, s.opts.MaxRequestBytes)
	if err != nil {
		if errors.Is(err, errNoRequest) {
			// What a starting daemon's liveness probe looks like.
			log.Debug("control connection closed without a request")
			return
		}
		log.Warn("control request rejected", "error", err)
		s.writeResponse(conn, log, Response{Error: err.Error()})
		return
	}

	// Keep a sliver of the deadline for writing the answer, so that a
	// handler that runs out its context still gets its error delivered.
	reserve := min(time.Second, s.opts.Timeout/10)
	hctx, cancel := context.WithDeadline(ctx, deadline.Add(-reserve))
	result, err := s.runHandler(hctx, log, h, peer, req)
	cancel()

	resp := Response{OK: err == nil}
	if err == nil && result != nil {
		raw, merr := json.Marshal(result)
		if merr != nil {
			err = fmt.Errorf("internal error: encode result of %s: %v", req.Command, merr)
			resp.OK = false
		} else {
			resp.Result = raw
		}
	}
	if err != nil {
		resp.Error = err.Error()
		if resp.Error == "" {
			resp.Error = req.Command + " failed"
		}
	}
	s.writeResponse(conn, log, resp)
	attrs := []any{"command", req.Command, "ok", resp.OK, "duration", time.Since(start)}
	if !resp.OK {
		attrs = append(attrs, "error", resp.Error)
	}
	log.Info("control request", attrs...)
}

// runHandler calls h, turning a panic into an error so that one bad command
// cannot take the daemon (and with it all detection) down.
func (s *Server) runHandler(ctx context.Context, log *slog.Logger, h Handler, peer Peer, req Request) (result any, err error) {
	defer func() {
		if v := recover(); v != nil {
			log.Error("control handler panicked", "command", req.Command, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			result, err = nil, fmt.Errorf("internal error: %s panicked: %v", req.Command, v)
		}
	}()
	return h(ctx, peer, req)
}

func (s *Server) writeResponse(conn net.Conn, log *slog.Logger, resp Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		// Only Result could fail, and it was marshalled already.
		log.Error("control response not encodable", "error", err)
		return
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		log.Warn("control response not delivered", "error", err)
	}
}

// errNoRequest marks a connection closed before sending a single byte.
var errNoRequest = errors.New("connection closed without a request")

// readRequest decodes one JSON object of at most max bytes. Anything past
// the object is ignored: one request per connection.
func readRequest(r io.Reader, max int64) (Request, error) {
	lr := &io.LimitedReader{R: r, N: max + 1}
	dec := json.NewDecoder(lr)
	var req Request
	if err := dec.Decode(&req); err != nil {
		var ne net.Error
		switch {
		case lr.N <= 0:
			return Request{}, fmt.Errorf("request too large: the limit is %d bytes", max)
		case err == io.EOF:
			return Request{}, errNoRequest
		case errors.As(err, &ne) && ne.Timeout():
			return Request{}, errors.New("no complete request before the deadline")
		}
		return Request{}, fmt.Errorf("malformed request: %v", err)
	}
	if dec.InputOffset() > max {
		return Request{}, fmt.Errorf("request too large: the limit is %d bytes", max)
	}
	if req.Command == "" {
		return Request{}, errors.New(`malformed request: no "command"`)
	}
	return req, nil
}

func peerCredentials(conn *net.UnixConn) (Peer, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var (
		cred *unix.Ucred
		cerr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if cerr != nil {
		return Peer{}, fmt.Errorf("SO_PEERCRED: %w", cerr)
	}
	return Peer{PID: cred.Pid, UID: cred.Uid, GID: cred.Gid}, nil
}
