package agent

import (
	"sync"

	"github.com/shellwatch/shellwatch/control"
)

// deployWindows holds the open deploy windows, by root.
type deployWindows struct {
	mu      sync.Mutex
	windows map[string]*DeployStatus
}

func (a *Agent) deployStatus() []DeployStatus {
	a.deploys.mu.Lock()
	defer a.deploys.mu.Unlock()
	out := []DeployStatus{}
	for _, w := range a.deploys.windows {
		out = append(out, *w)
	}
	return out
}

// addControlCommands adds the deploy and baseline commands.
func (a *Agent) addControlCommands(control.Mux) {}

func (a *Agent) filesKnown() int { return a.known.len() }
