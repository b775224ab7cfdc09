package finding

// Match is one rule, or a known-bad hash, that matched a file.
type Match struct {
	Rule        string   `json:"rule"`
	Namespace   string   `json:"namespace"`
	Tags        []string `json:"tags,omitempty"`
	Severity    Severity `json:"severity"`
	Family      string   `json:"family,omitempty"`
	Description string   `json:"description,omitempty"`
	// Line is where an analyzer finding is (its first line when the rule
	// was found at several); 0 for YARA and hash-list matches.
	Line int `json:"line,omitempty"`
}
