// Package finding is the vocabulary every stage shares about what was
// found: a [Severity] and a [Match]. It has no dependency (no libyara), so
// that config, alert and state build and test without cgo.
package finding
