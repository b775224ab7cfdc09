package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// shutdownTimeout bounds the wait for scrapes in progress when a server
// stops.
const shutdownTimeout = 2 * time.Second

// Endpoint is where a daemon serves its metrics: nowhere, or one address
// (metrics.listen), which a reload may change. It is used from one
// goroutine at a time (the daemon's start, reloads and stop).
type Endpoint struct {
	m      *Metrics
	log    *slog.Logger
	srv    *Server
	listen string
}

// Address is where to serve: Addr (host:port, "" for nowhere), and whether
// it is loopback only (the config knows; anything else is warned about).
type Address struct {
	Addr     string
	Loopback bool
}

// NewEndpoint returns an endpoint that serves m nowhere yet.
func NewEndpoint(m *Metrics, log *slog.Logger) *Endpoint {
	return &Endpoint{m: m, log: log}
}

// Start serves on a. Errors name metrics.listen.
func (e *Endpoint) Start(a Address) error {
	srv, err := e.bind(a)
	if err != nil {
		return err
	}
	e.srv, e.listen = srv, a.Addr
	return nil
}

// bind listens on a, warning when it is not loopback: anyone who can reach
// it reads the figures, unauthenticated.
func (e *Endpoint) bind(a Address) (*Server, error) {
	addr := a.Addr
	if addr == "" {
		return nil, nil
	}
	if !a.Loopback {
		e.log.Warn("metrics.listen is not a loopback address: anyone who can reach it reads the agent's figures, unauthenticated", "addr", addr)
	}
	srv, err := Listen(addr, e.m, e.log.With("component", "metrics"))
	if err != nil {
		return nil, fmt.Errorf("metrics.listen %s: %w", addr, err)
	}
	e.log.Info("serving metrics", "addr", srv.Addr())
	return srv, nil
}

// Stop stops the server, if one runs.
func (e *Endpoint) Stop() {
	e.shutdown(e.srv)
	e.srv, e.listen = nil, ""
}

func (e *Endpoint) shutdown(srv *Server) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		e.log.Warn("metrics server: shutdown", "err", err)
	}
}

// Move is a change of address a reload prepares: the new address is bound
// before anything is swapped, so one that cannot be bound fails the reload
// as a whole and the old server keeps serving.
type Move struct {
	e       *Endpoint
	changed bool
	srv     *Server
	listen  string
}

// Prepare binds a when it differs from the address served now. Moving
// to another host on the same port needs a restart: both cannot be bound at
// once.
func (e *Endpoint) Prepare(a Address) (*Move, error) {
	mv := &Move{e: e, listen: a.Addr}
	if a.Addr == e.listen {
		return mv, nil
	}
	srv, err := e.bind(a)
	if err != nil {
		return nil, err
	}
	mv.changed, mv.srv = true, srv
	return mv, nil
}

// Commit swaps the new server in and stops the old one.
func (mv *Move) Commit() {
	if !mv.changed {
		return
	}
	old := mv.e.srv
	mv.e.srv, mv.e.listen = mv.srv, mv.listen
	mv.e.shutdown(old)
}

// Abort stops the new server of a reload that failed.
func (mv *Move) Abort() {
	if mv.changed {
		mv.e.shutdown(mv.srv)
	}
}
