package alert

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/internal/safetext"
)

// FindingMessage is the one human line of a file finding: what, where, how
// bad, why (the rules, or what changed), and what was done (outcome).
func (a *Alert) FindingMessage(why, outcome string) string {
	all := a.RuleNames()
	names := all
	if len(names) > 5 {
		names = append(names[:5:5], fmt.Sprintf("+%d more", len(all)-5))
	}
	if len(names) > 0 {
		r := "rules " + strings.Join(names, ",")
		if why != "" {
			r += "; " + why
		}
		why = r
	}
	return fmt.Sprintf("%s: %s [%s] %s; %s", a.Kind.Summary(), safetext.Path(a.Path()), a.Severity, why, outcome)
}

// RulesOf returns the alert form of a verdict's matches.
func RulesOf(ms []finding.Match) []Rule {
	var out []Rule
	for _, m := range ms {
		out = append(out, Rule{
			Name: m.Rule, Namespace: m.Namespace, Tags: m.Tags,
			Severity: m.Severity, Family: m.Family, Description: m.Description,
		})
	}
	return out
}

// ModeString is a st_mode as File.Mode shows it: the permission, setuid,
// setgid and sticky bits in four octal digits.
func ModeString(stMode uint32) string { return fmt.Sprintf("%04o", stMode&0o7777) }

// ListDetail lists paths for an alert's Detail under a heading, the first
// 50 of them; "" when there are none.
func ListDetail(what string, paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d):", what, len(paths))
	for i, p := range paths {
		if i == 50 {
			fmt.Fprintf(&b, " … %d more", len(paths)-50)
			break
		}
		b.WriteString(" " + safetext.Path(p))
	}
	return b.String() + "\n"
}

// Recent keeps the last alerts raised, for `shellwatch status`. The zero
// value is ready; it is safe for concurrent use.
type Recent struct {
	mu   sync.Mutex
	ring [recentKept]Alert
	next int
	n    int
}

const recentKept = 20

// Add keeps a.
func (r *Recent) Add(a Alert) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring[r.next] = a
	r.next = (r.next + 1) % recentKept
	r.n = min(r.n+1, recentKept)
}

// List returns the alerts kept, newest first.
func (r *Recent) List() []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Alert, 0, r.n)
	for i := 1; i <= r.n; i++ {
		out = append(out, r.ring[(r.next-i+recentKept)%recentKept])
	}
	return out
}

// Who names the process's user for a message: the user's name, else its
// uid, or "user unknown" when its ids could not be read.
func (p *Process) Who() string {
	switch {
	case p.UID == nil:
		return "user unknown"
	case p.User != "":
		return p.User
	}
	return "uid " + strconv.FormatUint(uint64(*p.UID), 10)
}
