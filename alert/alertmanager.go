package alert

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shellwatch/shellwatch/internal/safetext"
	"github.com/shellwatch/shellwatch/weblog"
)

// alertmanagerPath is where Alertmanager takes alerts (API v2).
const alertmanagerPath = "/api/v2/alerts"

// alertmanagerURL returns u with alertmanagerPath appended, unless the
// operator already gave the full path.
func alertmanagerURL(u *url.URL) *url.URL {
	out := *u
	if strings.HasSuffix(strings.TrimSuffix(out.Path, "/"), alertmanagerPath) {
		return &out
	}
	out.Path = strings.TrimSuffix(out.Path, "/") + alertmanagerPath
	out.RawPath = ""
	return &out
}

// amAlert is one element of Alertmanager's postableAlerts.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt,omitzero"`
	EndsAt      time.Time         `json:"endsAt,omitzero"`
}

// heartbeatLifetimes is how many intervals a ShellwatchHeartbeat stays
// firing at Alertmanager without the next one: one late heartbeat (a
// receiver slow for a moment) does not resolve it, three missed do.
const heartbeatLifetimes = 3

// alertmanagerHeartbeat is the always-firing ShellwatchHeartbeat: one
// alert per host (no alert_id label, so each beat renews the same one),
// ending heartbeatLifetimes intervals after this beat. When beats stop,
// Alertmanager resolves it, and a dead-man's-switch route pages.
func alertmanagerHeartbeat(a *Alert) ([]byte, error) {
	hb := a.Heartbeat
	interval, err := time.ParseDuration(hb.Interval)
	if err != nil || interval <= 0 {
		interval = time.Minute
	}
	labels := map[string]string{
		"alertname": AlertmanagerName(a.Kind),
		"severity":  "none",
		"host":      strings.ToValidUTF8(a.Host, "\uFFFD"),
		"kind":      string(a.Kind),
	}
	if labels["host"] == "" {
		delete(labels, "host")
	}
	ann := map[string]string{
		"summary":       strings.ToValidUTF8(a.Message, "\uFFFD"),
		"description":   "shellwatch sends this alert every " + hb.Interval + "; when it stops, the agent is stopped, hung or cut off",
		"agent_version": strings.ToValidUTF8(a.AgentVersion, "\uFFFD"),
		"last_seq":      strconv.FormatUint(hb.LastSeq, 10),
	}
	return json.Marshal([]amAlert{{Labels: labels, Annotations: ann, StartsAt: hb.Since.UTC(),
		EndsAt: a.Time.Add(heartbeatLifetimes * interval)}})
}

// AlertmanagerName returns the alertname label of a kind: "Shellwatch" and
// the kind in CamelCase, e.g. ShellwatchDetection, ShellwatchIocMatch.
func AlertmanagerName(k Kind) string {
	var b strings.Builder
	b.WriteString("Shellwatch")
	for word := range strings.SplitSeq(string(k), "_") {
		if word == "" {
			continue
		}
		r, size := utf8.DecodeRuneInString(word)
		b.WriteString(strings.ToUpper(string(r)))
		b.WriteString(word[size:])
	}
	return b.String()
}

// alertmanagerBody builds the body Alertmanager's POST /api/v2/alerts takes:
// an array holding one alert. Labels identify the alert (alert_id makes
// each one distinct, so Alertmanager notifies every one and de-duplicates
// only retries of the same); annotations carry the rest. Label and
// annotation values must be UTF-8: paths are quoted by safetext, other
// values have invalid bytes replaced.
func alertmanagerBody(a *Alert) ([]byte, error) {
	if a.Kind == KindHeartbeat && a.Heartbeat != nil {
		return alertmanagerHeartbeat(a)
	}
	labels := map[string]string{
		"alertname": AlertmanagerName(a.Kind),
		"severity":  a.Severity.String(),
		"host":      a.Host,
		"kind":      string(a.Kind),
		"alert_id":  a.ID,
	}
	ann := map[string]string{
		"summary":       a.Message,
		"description":   a.Kind.Summary(),
		"agent_version": a.AgentVersion,
	}
	if a.Detail != "" {
		ann["description"] = a.Kind.Summary() + ": " + a.Detail
	}
	if a.File != nil {
		labels["path"] = safetext.Path(a.File.Path)
		if !utf8.ValidString(a.File.Path) {
			ann["path_base64"] = base64.StdEncoding.EncodeToString([]byte(a.File.Path))
		}
		ann["sha256"] = a.File.SHA256
		ann["md5"] = a.File.MD5
		if a.File.Root != "" {
			ann["root"] = safetext.Path(a.File.Root)
		}
		ann["size"] = strconv.FormatInt(a.File.Size, 10)
		ann["owner"] = strconv.FormatUint(uint64(a.File.UID), 10) + ":" + strconv.FormatUint(uint64(a.File.GID), 10)
	}
	if len(a.Rules) > 0 {
		labels["rule"] = a.Rules[0].Name
		ann["rules"] = strings.Join(a.RuleNames(), ",")
		if a.Rules[0].Family != "" {
			ann["family"] = a.Rules[0].Family
		}
	}
	if a.Action != nil {
		ann["action"] = a.Action.Taken
		ann["vault_id"] = a.Action.VaultID
		ann["action_reason"] = a.Action.Reason
	}
	if a.Count > 0 {
		ann["count"] = strconv.Itoa(a.Count)
	}
	if a.Resolved {
		// As severe as what it resolves: a route can tell it by this.
		labels["resolved"] = "true"
	}
	if a.Seq > 0 {
		ann["seq"] = strconv.FormatUint(a.Seq, 10)
	}
	ann["ref_id"] = a.RefID
	if r := a.Access; r != nil {
		accessLabels(r, labels, ann)
	}
	if r := a.Request; r != nil {
		// The client is a label (one per attacker, few); the rest, which
		// the attacker writes, annotations.
		labels["client"] = safetext.Path(r.Client)
		ann["request"] = hitLine(r.Hit)
		ann["user_agent"] = safetext.Path(r.UserAgent)
		ann["requests"] = strconv.Itoa(r.Requests)
		if r.Clients > 0 {
			ann["clients"] = strconv.Itoa(r.Clients)
			ann["first_clients"] = safetext.Path(strings.Join(r.FirstClients, ","))
		}
	}
	for _, m := range []map[string]string{labels, ann} {
		for k, v := range m {
			if v == "" {
				delete(m, k) // Alertmanager treats an empty label as no label
				continue
			}
			m[k] = strings.ToValidUTF8(v, "\uFFFD")
		}
	}
	return json.Marshal([]amAlert{{Labels: labels, Annotations: ann, StartsAt: a.Time}})
}

// accessLabels adds an access report: labels only what has few values
// (the counts, the busiest client), so that Alertmanager's label sets stay
// small; the rest, which the attacker writes, in annotations, one line
// each.
func accessLabels(r *weblog.Report, labels, ann map[string]string) {
	labels["access_count"] = strconv.Itoa(r.Count)
	labels["access_clients"] = strconv.Itoa(r.ClientsTotal)
	if len(r.Clients) > 0 {
		labels["top_client"] = safetext.Path(r.Clients[0].IP)
	}
	ann["access_url"] = safetext.Path(r.URL)
	if r.First != nil && r.Last != nil {
		ann["access_first"] = r.First.Format(time.RFC3339)
		ann["access_last"] = r.Last.Format(time.RFC3339)
	}
	clients := make([]string, len(r.Clients))
	for i, c := range r.Clients {
		clients[i] = safetext.Path(c.IP) + "=" + strconv.Itoa(c.Count)
	}
	ann["access_clients"] = strings.Join(clients, ",")
	ann["access_statuses"] = statusList(r.Statuses)
	if len(r.DroppedBy) > 0 {
		ann["dropped_by"] = hitLine(r.DroppedBy[0])
	}
}

// hitLine writes a request on one line, hostile text quoted.
func hitLine(h weblog.Hit) string {
	return h.Time.Format(time.RFC3339) + " " + safetext.Path(h.Client) + " " + safetext.Path(h.Method) + " " +
		safetext.Path(h.URL) + " " + strconv.Itoa(h.Status)
}
