package testenv

import "testing"

// Flood marks a flood test: one that writes thousands of files or floods a
// component for long. It is skipped under -short, for a quick run while
// working; `make test` runs without -short, so floods run there and in CI.
func Flood(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("flood test: run without -short (make test does)")
	}
}
