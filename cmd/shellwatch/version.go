package main

import "runtime/debug"

// version is the shellwatch version as packaging/version.sh makes it from
// `git describe`: `make build` and `make deb` set it with -ldflags "-X
// main.version=…", so `shellwatch version`, the .deb and the alerts'
// agent_version say the same. Empty in a build without it.
var version string

// agentVersion returns version, or for a build without it (go build, go
// install) the commit Go recorded in the binary, in version.sh's form for
// a commit without a release tag.
func agentVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return versionFromBuild(nil)
	}
	return versionFromBuild(bi.Settings)
}

// versionFromBuild returns "0.0.0~git<first 12 hex digits of the
// commit>", with ".dirty" when the work tree had changes, or "0.0.0~dev"
// when the build recorded no commit: what packaging/version.sh prints with
// no v* tag and outside git.
func versionFromBuild(settings []debug.BuildSetting) string {
	var rev, dirty string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = ".dirty"
			}
		}
	}
	if len(rev) < 12 {
		return "0.0.0~dev"
	}
	return "0.0.0~git" + rev[:12] + dirty
}
