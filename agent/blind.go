package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/blind"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"golang.org/x/sys/unix"
)

// blindProbeInterval is how often the agent looks again at what may have
// made it blind and nothing else would tell it: whether the vault takes a
// file again, whether journald serves its socket.
const blindProbeInterval = 5 * time.Second

// raiseBlind turns a blind state on and, when it was off, says so in a
// blind alert through every sink (the log too). Any goroutine may call it,
// a webhook's included while a reload holds the agent's lock.
func (a *Agent) raiseBlind(state blind.State, subject, detail, msg string) {
	c, ok := a.blind.Raise(state, subject, detail)
	if !ok {
		return
	}
	a.log.Error("blind: "+msg, "state", state, "subject", subject, "detail", detail)
	a.relay(alert.Alert{Kind: alert.KindBlind, Severity: policy.BlindSeverity(state),
		Message: msg, Detail: detail, Blind: blindMember(c, false)})
}

// resolveBlind turns a blind state off and, when it was on, says so in a
// blind_resolved alert.
func (a *Agent) resolveBlind(state blind.State, subject, msg string) {
	c, ok := a.blind.Resolve(state, subject)
	if !ok {
		return
	}
	msg = fmt.Sprintf("%s (%s since %s)", msg, state, c.Since.Format(time.RFC3339))
	a.log.Info("no longer blind: "+msg, "state", state, "subject", subject)
	a.relay(alert.Alert{Kind: alert.KindBlindResolved, Severity: finding.SeverityLow,
		Message: msg, Detail: "it began with: " + c.Detail, Blind: blindMember(c, true)})
}

func blindMember(c blind.Condition, resolved bool) *alert.Blind {
	return &alert.Blind{State: string(c.State), Subject: c.Subject, Since: c.Since, Resolved: resolved}
}

// noteCommit hears how the baseline's last commit went: a failure makes
// the agent blind to what changed while it would be down (state
// unwritable); the next commit that works ends it.
func (a *Agent) noteCommit(path string) func(error) {
	return func(err error) {
		if err != nil {
			a.raiseBlind(blind.StateUnwritable, path, err.Error(),
				fmt.Sprintf("the state database %s cannot be written: the baseline is kept in memory and written again with backoff; a stop now loses what changed since", safetext.Path(path)))
			return
		}
		a.resolveBlind(blind.StateUnwritable, path, fmt.Sprintf("the state database %s is written again", safetext.Path(path)))
	}
}

// noteMove hears how a move into the vault of g went. A failure that the
// vault's own filesystem explains (full, read-only, over quota: a probe
// of the vault fails too) makes the agent unable to take webshells out of
// the web roots (vault unwritable); a move that works, or a probe
// (probeBlind), ends it.
func (a *Agent) noteMove(g *generation, moveErr error) {
	dir := g.vault.Dir()
	if moveErr == nil {
		a.resolveBlind(blind.VaultUnwritable, dir, fmt.Sprintf("the vault %s takes files again", safetext.Path(dir)))
		return
	}
	if !errors.Is(moveErr, unix.ENOSPC) && !errors.Is(moveErr, unix.EROFS) && !errors.Is(moveErr, unix.EDQUOT) && !errors.Is(moveErr, unix.EIO) {
		return
	}
	if err := g.vault.Probe(); err != nil {
		a.raiseVault(dir, err)
	}
}

func (a *Agent) raiseVault(dir string, err error) {
	a.raiseBlind(blind.VaultUnwritable, dir, err.Error(),
		fmt.Sprintf("the vault %s takes no file (its filesystem is full or read-only): flagged files stay in the web roots, alerted as quarantine_failed", safetext.Path(dir)))
}

// webhookFailing hears a webhook that failed every attempt for its
// alert_after, and its recovery.
func (a *Agent) webhookFailing(w *alert.Webhook, failing bool, since time.Time, err error) {
	if !failing {
		a.resolveBlind(blind.WebhookFailing, w.Name(), fmt.Sprintf("%s takes alerts again; what it missed was spooled and is delivered", w.Name()))
		return
	}
	detail := ""
	if err != nil {
		detail = err.Error()
	}
	a.raiseBlind(blind.WebhookFailing, w.Name(), detail,
		fmt.Sprintf("%s has taken no alert since %s: its alerts wait in its spool, on-call behind it hears nothing", w.Name(), since.Format(time.RFC3339)))
}

// resolveWebhooksLetGo resolves webhook_failing of the webhooks in prev
// that a reload closed (rebuilt, or gone) and that now is not among: their
// failing episode ended with them, and the sink built in their place starts
// clean, so nothing else would resolve it. A rebuilt sink that keeps
// failing raises it again after its alert_after.
func (a *Agent) resolveWebhooksLetGo(prev, now []*alert.Webhook) {
	for _, w := range prev {
		if !slices.Contains(now, w) {
			a.resolveBlind(blind.WebhookFailing, w.Name(), fmt.Sprintf("%s was rebuilt or removed by a reload: raised again if it keeps failing for its alert_after", w.Name()))
		}
	}
}

// probeBlind looks, every interval until ctx is done, at what nothing else
// would tell: whether the vault takes a file again, whether journald
// serves its socket (when the config writes to it, once it served it
// since the start: without journald at all the alerts go to stderr by
// design).
func (a *Agent) probeBlind(ctx context.Context) {
	every := a.opts.blindProbe
	if every <= 0 {
		every = blindProbeInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		a.probeOnce()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *Agent) probeOnce() {
	g := a.current.Load()
	if dir := g.vault.Dir(); a.blind.Has(blind.VaultUnwritable, dir) {
		if err := g.vault.Probe(); err == nil {
			a.noteMove(g, nil)
		}
	}
	for _, c := range a.blind.Of(blind.VaultUnwritable) {
		if c.Subject != g.vault.Dir() { // a vault a reload let go of
			a.resolveBlind(blind.VaultUnwritable, c.Subject, fmt.Sprintf("the vault %s is no longer used", safetext.Path(c.Subject)))
		}
	}
	sock := a.journal.Socket()
	if !a.journalSeen.Load() {
		// Never served since the start: the agent runs without journald
		// on purpose (a container, `make run`), its alerts on stderr.
		if a.journal.Reachable() == nil {
			a.journalSeen.Store(true)
		}
		return
	}
	if !a.journal.on.Load() {
		a.resolveBlind(blind.JournaldUnreachable, sock, "journald is no longer a sink of the config")
		return
	}
	if err := a.journal.Reachable(); err != nil {
		a.raiseBlind(blind.JournaldUnreachable, sock, err.Error(),
			fmt.Sprintf("journald does not serve its socket %s: alerts are not in the journal (they go to stderr); the webhooks still get them", safetext.Path(sock)))
		return
	}
	a.resolveBlind(blind.JournaldUnreachable, sock, fmt.Sprintf("journald serves its socket %s again", safetext.Path(sock)))
}

// blindCounts are the blind states that are on, by state, for the metric.
func (a *Agent) blindCounts() map[string]int {
	out := map[string]int{}
	for st, n := range a.blind.Counts() {
		out[string(st)] = n
	}
	return out
}
