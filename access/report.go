package access

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shellwatch/shellwatch/alert"
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/policy"
	"github.com/shellwatch/shellwatch/weblog"
)

// Reported reports whether an alert of kind k is followed up by an
// access_report: every alert about a file's content or a change to it.
func Reported(k alert.Kind) bool {
	switch k {
	case alert.KindDetection, alert.KindIOCMatch, alert.KindQuarantineFailed, alert.KindUnexpectedChange, alert.KindChangedWhileDown:
		return true
	}
	return false
}

// flags reports whether a's file counts as a backdoor: quarantined, or
// flagged high or critical (a medium finding only suggests one, and is
// left in place: every visitor of a page it misjudged would be an
// "attacker"). A request for its URL later is an attacker returning.
func flags(a *alert.Alert) bool {
	return (a.Action != nil && a.Action.Taken == alert.ActionQuarantined) ||
		(len(a.Rules) > 0 && a.Severity >= finding.SeverityHigh)
}

// maxWarmWait bounds how long a report waits for its logs' warm-up.
const maxWarmWait = time.Minute

// job is one report to make: the alert it follows up, what to look for,
// and until when to wait for the lines of the file's birth.
type job struct {
	first    alert.Alert
	target   weblog.Target
	logs     []*followed
	born     time.Time
	deadline time.Time
	// seen: a writing request that ran at born was read, when each log
	// of the job had been polled polls[i] times; the report is due once
	// each was polled twice more (the lines written with it are in).
	seen  bool
	polls []int64
}

// FollowUp is told of a file alert just sent (its ID set): when the alert
// is one [Reported] and a followed log serves the file's root, its
// access_report is made in the background and sent within Wait and a
// poll; written is the moment the file was written (see [WrittenAt]; zero
// when unknown). A file flagged or quarantined has its URL remembered for
// attacker_returned. It never blocks: a report past the queue is counted
// and not made.
func (l *Logs) FollowUp(first alert.Alert, written time.Time) {
	if l == nil || first.File == nil || !Reported(first.Kind) {
		return
	}
	ro := l.routes.Load().byRoot[first.File.Root]
	if ro == nil {
		return
	}
	url := weblog.URLFor(first.File.Root, ro.urlPath, first.File.Path)
	if url == "" {
		return
	}
	target := weblog.Target{Path: url, Hosts: ro.hosts}
	if flags(&first) {
		action := ""
		if first.Action != nil {
			action = first.Action.Taken
		}
		u := &flaggedURL{root: first.File.Root, target: target, alertID: first.ID, file: first.File, kind: first.Kind, action: action,
			at: l.opts.Now(), polls: make(map[*followed]int64, len(ro.logs)), marks: make(map[*followed]weblog.Position, len(ro.logs))}
		for _, fl := range ro.logs {
			u.polls[fl] = fl.f.Stats().Polls
			if m, ok := fl.f.Mark(); ok {
				u.marks[fl] = m
			}
		}
		l.flagged.add(u)
	}
	if len(ro.logs) == 0 {
		return
	}
	j := &job{first: first, target: target, logs: ro.logs, born: written, deadline: l.opts.Now().Add(l.opts.Wait)}
	select {
	case l.jobs <- j:
	default:
		l.dropped.Add(1)
		l.opts.Log.Warn("access report not made: too many wait", "alert_id", first.ID, "path", safetext.Path(first.File.Path))
	}
}

// reporter makes the reports, watches the new requests for flagged URLs
// and sends the tallies owed, until ctx is done; then it makes the
// reports still waiting and sends every tally not alerted yet: a count
// is never left untold.
func (l *Logs) reporter(ctx context.Context) {
	var pending []*job
	var tick, tally *time.Ticker
	var tickC, tallyC <-chan time.Time
	defer func() {
		for _, t := range []*time.Ticker{tick, tally} {
			if t != nil {
				t.Stop()
			}
		}
	}()
	// Tallies are looked for every tallyCheck while one is owed.
	watchTallies := func() {
		if tally == nil && l.flagged.owes() {
			tally = time.NewTicker(l.opts.tallyCheck)
			tallyC = tally.C
		}
	}
	watchTallies() // owed under the logs of before a reload
	for {
		select {
		case <-tallyC:
			l.tallies(false)
			if !l.flagged.owes() {
				tally.Stop()
				tally, tallyC = nil, nil
			}
		case <-ctx.Done():
			l.tallies(true)
			for {
				select {
				case j := <-l.jobs:
					pending = append(pending, j)
					continue
				default:
				}
				break
			}
			for _, j := range pending {
				l.send(j)
			}
			return
		case j := <-l.jobs:
			pending = append(pending, j)
			if tick == nil {
				tick = time.NewTicker(l.opts.Poll / 2)
				tickC = tick.C
			}
		case lr := <-l.requests:
			if l.returned(lr) {
				watchTallies()
			}
			if !lr.live {
				continue
			}
			for _, j := range pending {
				j.saw(lr)
			}
		case <-tickC:
			pending = l.due(pending)
			if len(pending) == 0 {
				tick.Stop()
				tick, tickC = nil, nil
			}
		}
	}
}

// saw notes lr if it is a writing request that ran at the file's birth in
// one of j's logs.
func (j *job) saw(lr logRequest) {
	if j.seen || j.born.IsZero() || !lr.r.Writes() || !weblog.RanAround(&lr.r, j.born, UploadWindow) {
		return
	}
	for _, fl := range j.logs {
		if fl == lr.log {
			j.seen = true
		}
	}
	if !j.seen {
		return
	}
	j.polls = make([]int64, len(j.logs))
	for i, fl := range j.logs {
		j.polls[i] = fl.f.Stats().Polls
	}
}

// ready reports whether j's report is due at now. While a log of the job
// is still read back (the agent just started, or a reload changed the
// logs) the report waits for it, at most maxWarmWait: a report on half a
// window would say "no request" of requests it has not read yet.
func (j *job) ready(now time.Time) bool {
	for _, fl := range j.logs {
		if !fl.live.Load() && now.Before(j.deadline.Add(maxWarmWait)) {
			return false
		}
	}
	if !now.Before(j.deadline) {
		return true
	}
	if !j.seen {
		return false
	}
	for i, fl := range j.logs {
		if fl.f.Stats().Polls < j.polls[i]+2 {
			return false
		}
	}
	return true
}

// due sends the reports that are due and returns the others.
func (l *Logs) due(pending []*job) []*job {
	now := l.opts.Now()
	kept := pending[:0]
	for _, j := range pending {
		if j.ready(now) {
			l.send(j)
		} else {
			kept = append(kept, j)
		}
	}
	return kept
}

// send makes j's report and raises it.
func (l *Logs) send(j *job) {
	indexes := make([]*weblog.Index, len(j.logs))
	for i, fl := range j.logs {
		indexes[i] = fl.index
	}
	rep := weblog.ReportOf(indexes, j.target, j.born, UploadWindow)
	first := j.first
	l.opts.Send(alert.Alert{
		Kind: alert.KindAccessReport, Severity: first.Severity, File: first.File,
		RefID: first.ID, Access: &rep, Message: reportMessage(first.File.Path, &rep),
	})
}

// reportMessage says in one line what a report found.
func reportMessage(path string, rep *weblog.Report) string {
	msg := fmt.Sprintf("access log on %s (URL %s): ", safetext.Path(path), safetext.Path(rep.URL))
	switch {
	case rep.Count == 0:
		msg += "no request for it"
	default:
		msg += fmt.Sprintf("%d requests from %d clients, %s most (%d)", rep.Count, rep.ClientsTotal,
			safetext.Path(rep.Clients[0].IP), rep.Clients[0].Count)
		if n := rep.Statuses["200"]; n > 0 {
			msg += fmt.Sprintf(", %d answered 200", n)
		}
	}
	if rep.Since != nil {
		msg += " since " + rep.Since.UTC().Format(time.RFC3339)
	}
	if len(rep.DroppedBy) > 0 {
		d := rep.DroppedBy[0]
		msg += fmt.Sprintf("; most likely written by %s %s from %s (%d) at %s", safetext.Path(d.Method), safetext.Path(d.URL),
			safetext.Path(d.Client), d.Status, d.Time.UTC().Format(time.RFC3339))
	} else {
		msg += "; no request ran when it was written"
	}
	return msg
}

// returned raises attacker_returned for a new request for a flagged URL,
// at most once per client and URL every ReturnEvery, and past the first
// ReturnClients clients of the URL, once for all of them (see
// ReturnClients). It reports whether lr was for a flagged URL.
func (l *Logs) returned(lr logRequest) bool {
	matches := l.matches(lr)
	if len(matches) > 0 {
		l.flagged.matched(lr.log.path, lr.r.Time)
	}
	for _, u := range matches {
		hit := weblog.HitOf(&lr.r)
		if ra, ok := l.flagged.allow(lr.r.Client, u, l.opts.Now(), hit); ok {
			ra.Hit = hit
			l.sendReturn(u, ra, "")
		}
	}
	return len(matches) > 0
}

// tallies raises an attacker_returned for each count owed (see
// Flagged.due); with all, for every count not alerted yet, as the logs stop
// being followed (Stop, or a reload to other logs).
func (l *Logs) tallies(all bool) {
	end := tallyWindowEnded
	if all {
		end = tallyStopping
	}
	for _, t := range l.flagged.due(l.opts.Now(), all) {
		l.sendReturn(t.u, t.returnAlert, end)
	}
}

// What the end of a tally's message says: a tally owed once its window
// ended knows no request came since; one told as the logs stop being
// followed cannot know what comes after.
const (
	tallyWindowEnded = "none since"
	tallyStopping    = "told as the agent stops following the logs"
)

// sendReturn raises the attacker_returned ra of u: a request's when
// tallyEnd is empty, else the count of requests owed since the last alert,
// ra.Hit the last of them, its message ending with tallyEnd.
func (l *Logs) sendReturn(u *flaggedURL, ra returnAlert, tallyEnd string) {
	tally := tallyEnd != ""
	r := &ra.Hit
	flagged := fmt.Sprintf("the URL of %s (%s by alert %s)", safetext.Path(u.file.Path), what(u), u.alertID)
	last := fmt.Sprintf("%s %s %s answered %d", safetext.Path(r.Client), safetext.Path(r.Method), safetext.Path(r.URL), r.Status)
	every := int(ReturnEvery.Minutes())
	var msg string
	switch {
	case tally && ra.Clients == 0:
		msg = fmt.Sprintf("attacker returned, the tally: %s sent %d more requests for %s in the %d minutes after its last alert, the last at %s: %s; %s",
			safetext.Path(r.Client), ra.Requests, flagged, every, r.Time.UTC().Format(time.RFC3339), last, tallyEnd)
	case tally:
		msg = fmt.Sprintf("attacker returned, the tally: %s sent %d requests for %s since the last alert about the clients past the first %d, the last at %s: %s; %s",
			clientsPhrase(ra), ra.Requests, flagged, ReturnClients, r.Time.UTC().Format(time.RFC3339), last, tallyEnd)
	case ra.Clients == 0:
		msg = fmt.Sprintf("attacker returned: %s, %s", last, flagged)
		if ra.Requests > 1 {
			msg += fmt.Sprintf("; %d requests of this client for it since its last alert", ra.Requests)
		}
	default:
		msg = fmt.Sprintf("attacker returned: %s sent %d requests for %s; the last: %s; past the first %d clients of a URL in %d minutes, the others are alerted together, at most once every %d minutes",
			clientsPhrase(ra), ra.Requests, flagged, last, ReturnClients, every, every)
	}
	l.opts.Send(alert.Alert{
		Kind: alert.KindAttackerReturned, Severity: policy.EventSeverity(alert.KindAttackerReturned),
		File: u.file, RefID: u.alertID, Message: msg,
		Request: &alert.Request{Hit: ra.Hit, Requests: ra.Requests, Clients: ra.Clients, FirstClients: ra.Names},
	})
}

// matches returns the flagged URLs lr is a return to.
func (l *Logs) matches(lr logRequest) []*flaggedURL {
	rt := l.routes.Load()
	return l.flagged.match(lr, func(root string) bool { return rt.serves(lr.log, root) })
}

// mayReturn reports whether a line read back at start is a return to a
// flagged URL: the follower asks, so that the reporter hears of no other
// line of the warm-up.
func (l *Logs) mayReturn(lr logRequest) bool {
	return lr.r.Time.After(lr.log.readBackAfter) && len(l.matches(lr)) > 0
}

// clientsPhrase names the clients of a grouped alert: "3 more clients
// (a, b, c)", "9 more clients (a, b, c, d, e and 4 others)".
func clientsPhrase(ra returnAlert) string {
	names := make([]string, len(ra.Names))
	for i, n := range ra.Names {
		names[i] = safetext.Path(n)
	}
	list := strings.Join(names, ", ")
	if others := ra.Clients - len(ra.Names); others > 0 {
		list += fmt.Sprintf(" and %d others", others)
	}
	noun := "clients"
	if ra.Clients == 1 {
		noun = "client"
	}
	return fmt.Sprintf("%d more %s (%s)", ra.Clients, noun, list)
}

// what says what shellwatch did about a flagged URL's file.
func what(u *flaggedURL) string {
	switch {
	case u.action == alert.ActionQuarantined:
		return "quarantined"
	case u.kind == alert.KindQuarantineFailed:
		return "flagged, NOT quarantined"
	}
	return "flagged, left in place"
}
