package rules

import (
	"fmt"

	"github.com/hillu/go-yara/v4"

	"github.com/shellwatch/shellwatch/finding"
)

// ruleMeta reads a rule's severity, family and description from its meta
// fields. Our rules declare `severity`; public rule sets often carry only a
// numeric `score` (0–100, signature-base style) or nothing at all, so those
// map to a severity and anything else gets def. A severity that cannot be
// understood is not fatal — the rule still matches — but is reported back as
// a warning so the operator can fix the rule file.
func ruleMeta(metas []yara.Meta, def finding.Severity) (sev finding.Severity, family, description, warning string) {
	score := -1
	for _, m := range metas {
		switch m.Identifier {
		case "severity":
			s, ok := m.Value.(string)
			if !ok {
				warning = fmt.Sprintf("meta severity = %v is not a string", m.Value)
				continue
			}
			v, err := finding.ParseSeverity(s)
			if err != nil || v == finding.SeverityNone {
				warning = fmt.Sprintf("meta severity = %q is not low, medium, high or critical; using %s", s, def)
				continue
			}
			sev = v
		case "score":
			if n, ok := m.Value.(int); ok {
				score = n
			}
		case "family", "malware_family":
			if s, ok := m.Value.(string); ok && family == "" {
				family = s
			}
		case "description":
			if s, ok := m.Value.(string); ok {
				description = s
			}
		}
	}
	if sev == finding.SeverityNone && score >= 0 {
		sev = severityFromScore(score)
	}
	if sev == finding.SeverityNone {
		sev = def
	}
	return sev, family, description, warning
}

// severityFromScore maps a signature-base style score to a severity.
func severityFromScore(score int) finding.Severity {
	switch {
	case score >= 80:
		return finding.SeverityCritical
	case score >= 65:
		return finding.SeverityHigh
	case score >= 40:
		return finding.SeverityMedium
	default:
		return finding.SeverityLow
	}
}
