package scanner

import (
	"github.com/shellwatch/shellwatch/phpscan"
	"github.com/shellwatch/shellwatch/rules"
)

// PHPNamespace is the namespace of the PHP analyzer's matches.
const PHPNamespace = "php"

// analyzePHP runs the PHP analyzer on data and turns its findings into
// matches, one per rule (at the rule's first line), so that alerts, JSON
// output, allow lists and metrics treat them like YARA's.
func analyzePHP(data []byte, opts phpscan.Options) (matches []Match, incomplete string) {
	res := phpscan.Analyze(data, opts)
	seen := make(map[string]bool, len(res.Findings))
	for _, f := range res.Findings {
		if seen[f.Name] {
			continue
		}
		seen[f.Name] = true
		sev, err := rules.ParseSeverity(f.Severity.String())
		if err != nil {
			sev = rules.SeverityHigh
		}
		matches = append(matches, Match{
			Rule:        f.Name,
			Namespace:   PHPNamespace,
			Severity:    sev,
			Family:      f.Family,
			Description: f.Description,
			Line:        f.Line,
		})
	}
	return matches, res.Incomplete
}
