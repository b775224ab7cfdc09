#!/bin/sh
# Prints the Debian version of the package built from this work tree:
#   tag v1.2.3                      -> 1.2.3
#   tag v1.2.3-rc1                  -> 1.2.3~rc1          (sorts before 1.2.3)
#   4 commits after v1.2.3          -> 1.2.3+git4.gabc1234
#   no v* tag yet                   -> 0.0.0~git<sha>     (sorts before any release)
#   uncommitted changes             -> any of them with .dirty appended
#   not a git work tree             -> 0.0.0~dev
# With an argument, maps that `git describe --tags --dirty` string instead
# of asking git (for tests).
set -eu

map() {
	v=$1
	dirty=
	case "$v" in
	*-dirty) dirty=.dirty; v=${v%-dirty} ;;
	esac
	v=${v#v}
	if printf '%s\n' "$v" | grep -Eq '^[0-9]+(\.[0-9]+)*(-[0-9A-Za-z.]+)?-[0-9]+-g[0-9a-f]+$'; then
		out=$(printf '%s\n' "$v" | sed -E 's/^(.*)-([0-9]+)-(g[0-9a-f]+)$/\1+git\2.\3/; s/-/~/')
	elif printf '%s\n' "$v" | grep -Eq '^[0-9]+(\.[0-9]+)*(-[0-9A-Za-z.]+)?$'; then
		out=$(printf '%s\n' "$v" | sed -E 's/-/~/')
	else
		out=0.0.0~$(printf '%s' "$v" | tr -c 'A-Za-z0-9.+~' '.')
	fi
	printf '%s%s\n' "$out" "$dirty"
}

if [ $# -gt 0 ]; then
	map "$1"
elif desc=$(git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null); then
	map "$desc"
elif sha=$(git rev-parse --short=12 HEAD 2>/dev/null); then
	dirty=
	git diff --quiet HEAD 2>/dev/null || dirty=.dirty
	printf '0.0.0~git%s%s\n' "$sha" "$dirty"
else
	echo 0.0.0~dev
fi
