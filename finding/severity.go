package finding

import (
	"fmt"
	"strings"
)

// Severity ranks how bad a finding is. The zero value, SeverityNone, means no
// finding; the named levels are ordered so that comparisons (>=) express policy
// thresholds such as "quarantine at high and above".
type Severity int

// The severities a rule can declare in its `severity` meta, lowest first.
const (
	SeverityNone Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"none", "low", "medium", "high", "critical"}

// String returns the lower-case name used in rule metadata, config and alerts.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity parses a severity name ("low", "medium", "high", "critical",
// or "none"), ignoring case and surrounding space.
func ParseSeverity(name string) (Severity, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for i, s := range severityNames {
		if n == s {
			return Severity(i), nil
		}
	}
	return SeverityNone, fmt.Errorf("unknown severity %q (want low, medium, high or critical)", name)
}

// MarshalText implements encoding.TextMarshaler so severities read as names
// in JSON output.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler for config files.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
