package main

import (
	"runtime/debug"
	"testing"
)

// A build without -X main.version says which commit it is, in the form
// packaging/version.sh uses for a commit without a release tag.
func TestVersionFromBuild(t *testing.T) {
	rev := "4e9879f3b08a5d2c9a7e1f0b6c3d2e1f0a9b8c7d"
	for _, tc := range []struct {
		settings []debug.BuildSetting
		want     string
	}{
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}, "0.0.0~git4e9879f3b08a"},
		{[]debug.BuildSetting{{Key: "vcs.modified", Value: "true"}, {Key: "vcs.revision", Value: rev}}, "0.0.0~git4e9879f3b08a.dirty"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}, "0.0.0~dev"},
		{nil, "0.0.0~dev"},
	} {
		if got := versionFromBuild(tc.settings); got != tc.want {
			t.Errorf("versionFromBuild(%v) = %q, want %q", tc.settings, got, tc.want)
		}
	}
}
