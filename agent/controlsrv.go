package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/shellwatch/shellwatch/control"
	"github.com/shellwatch/shellwatch/control/wire"
)

// startControl listens on the control socket and serves it until ctx is
// done. Failing to listen stops the agent from starting: another shellwatch
// on the same socket is running, or the folder is unsafe.
func (a *Agent) startControl(ctx context.Context, wg *sync.WaitGroup) error {
	path := a.gen.cfg.Agent.ControlSocket
	srv, err := control.Listen(path, control.Options{Logger: a.log.With("component", "control")})
	if err != nil {
		return fmt.Errorf("agent.control_socket: %w", err)
	}
	mux := control.Mux{
		wire.CmdStatus: func(context.Context, control.Peer, control.Request) (any, error) { return a.status(), nil },
	}
	a.addControlCommands(mux)
	wg.Go(func() {
		if err := srv.Serve(ctx, mux.Handle); err != nil {
			a.log.Error("control socket", "err", err)
		}
	})
	return nil
}
