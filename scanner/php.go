package scanner

import (
	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/phpscan"
)

// PHPNamespace is the namespace of the PHP analyzer's matches.
const PHPNamespace = "php"

// phpMatches turns the PHP analyzer's findings into matches, one per rule
// (at the rule's first line), so that alerts, JSON output, allow lists and
// metrics treat them like YARA's.
func phpMatches(res phpscan.Result) []finding.Match {
	var matches []finding.Match
	seen := make(map[string]bool, len(res.Findings))
	for _, f := range res.Findings {
		if seen[f.Name] {
			continue
		}
		seen[f.Name] = true
		sev, err := finding.ParseSeverity(f.Severity.String())
		if err != nil {
			sev = finding.SeverityHigh
		}
		matches = append(matches, finding.Match{
			Rule:        f.Name,
			Namespace:   PHPNamespace,
			Severity:    sev,
			Family:      f.Family,
			Description: f.Description,
			Line:        f.Line,
		})
	}
	return matches
}

// yaraCritical reports whether a YARA match is critical already.
func yaraCritical(ms []finding.Match) bool {
	for _, m := range ms {
		if m.Severity >= finding.SeverityCritical {
			return true
		}
	}
	return false
}
