package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
)

// startControl listens on the control socket and serves it until ctx is
// done or stop is called, which returns once the server is gone. Failing to listen stops the agent from starting: another shellwatch
// on the same socket is running, or the folder is unsafe.
func (a *Agent) startControl(ctx context.Context) (stop func(), err error) {
	path := a.gen.cfg.Agent.ControlSocket
	srv, err := control.Listen(path, control.Options{Logger: a.log.With("component", "control"), Timeout: a.opts.controlTimeout})
	if err != nil {
		return nil, fmt.Errorf("agent.control_socket: %w", err)
	}
	mux := control.Mux{
		wire.CmdStatus: func(context.Context, control.Peer, control.Request) (any, error) { return a.status(), nil },
	}
	a.addControlCommands(mux)
	ctx, cancel := context.WithCancel(ctx)
	var served sync.WaitGroup
	served.Go(func() {
		if err := srv.Serve(ctx, mux.Handle); err != nil {
			a.log.Error("control socket", "err", err)
		}
	})
	return func() { cancel(); served.Wait() }, nil
}
