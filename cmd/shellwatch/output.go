package main

import (
	"encoding/base64"
	"time"
	"unicode/utf8"

	"github.com/shellwatch/shellwatch/finding"
	"github.com/shellwatch/shellwatch/scanner"
)

// scanRecord is one line of `scan --json`. Its fields are a documented
// interface (README, "scan --json"); add fields, never rename them.
type scanRecord struct {
	Path string `json:"path"`
	// PathBase64 holds the exact bytes of a path that is not valid UTF-8,
	// which a JSON string cannot carry; Path then has U+FFFD in their place.
	PathBase64 string           `json:"path_base64,omitempty"`
	SHA256     string           `json:"sha256"`
	MD5        string           `json:"md5"`
	Size       int64            `json:"size"`
	Mode       string           `json:"mode"`
	UID        uint32           `json:"uid"`
	GID        uint32           `json:"gid"`
	MTime      time.Time        `json:"mtime"`
	Severity   finding.Severity `json:"severity"`
	Rules      []string         `json:"rules"`
	Matches    []finding.Match  `json:"matches"`
	TooLarge   bool             `json:"too_large,omitempty"`
	Error      string           `json:"error,omitempty"`
}

func newScanRecord(v scanner.Verdict) scanRecord {
	r := scanRecord{
		Path:     v.Path,
		SHA256:   v.SHA256,
		MD5:      v.MD5,
		Size:     v.Size,
		Mode:     v.Mode.String(),
		UID:      v.UID,
		GID:      v.GID,
		MTime:    v.ModTime.UTC(),
		Severity: v.Severity,
		Rules:    make([]string, len(v.Matches)),
		Matches:  v.Matches,
		TooLarge: v.TooLarge,
	}
	if !utf8.ValidString(v.Path) {
		r.PathBase64 = base64.StdEncoding.EncodeToString([]byte(v.Path))
	}
	for i, m := range v.Matches {
		r.Rules[i] = m.Rule
	}
	if v.Err != nil {
		r.Error = v.Err.Error()
	}
	return r
}
