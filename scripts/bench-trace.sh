#!/usr/bin/env bash
# `make bench-trace`: `shellwatch trace` on a generated combined log of
# LINES lines (20,000,000 by default, about 2.3 GiB of text) in PARTS files
# (access.log, access.log.1, then access.log.N.gz), beside `grep -F URL` on
# the same files (zcat | grep -F for the gzipped ones, as on-call would).
# The log is made once under build/bench/weblog-LINES (internal/cmd/loggen);
# the page cache is warmed; one run each. Prints seconds, MB/s of log text
# and peak RSS.
# usage: scripts/bench-trace.sh BINARY [LINES] [PARTS]
set -euo pipefail
bin=$1 lines=${2:-20000000} parts=${3:-10}
dir=build/bench/weblog-$lines
url=/wp-content/uploads/2025/12/cache.php
if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir"
  go run ./internal/cmd/loggen -dir "$dir" -lines "$lines" -parts "$parts" -shell "$url"
  touch "$dir/.complete"
fi
cat "$dir"/access.log* > /dev/null
text=$(for f in "$dir"/access.log*; do case $f in *.gz) zcat "$f" ;; *) cat "$f" ;; esac; done | wc -c)
declare -A secs
measure() { # key title command...
  local key=$1 title=$2; shift 2
  /usr/bin/time -o build/bench/trace-time.out -f '%e %M' "$@" > "build/bench/trace-$key.out" 2> /dev/null || true
  local s rss; read -r s rss < <(tail -1 build/bench/trace-time.out)
  secs[$key]=$s
  awk -v n="$title" -v s="$s" -v r="$rss" -v b="$text" -v m="$(grep -c "$url" "build/bench/trace-$key.out" || true)" \
    'BEGIN{printf "%-30s %7.2f s  %6.0f MB/s  peak RSS %6.1f MiB  %d lines out\n", n, s, b/1e6/s, r/1024, m}'
}
echo "log: $lines lines, $(awk -v b="$text" 'BEGIN{printf "%.2f GiB", b/2^30}') of text in $(ls "$dir"/access.log* | wc -l) files, $(du -sh "$dir" | cut -f1) on disk"
measure trace "shellwatch trace URL" "$bin" trace --log "$dir/access.log" "$url"
measure grep "zcat | grep -F URL" bash -c "for f in '$dir'/access.log*.gz; do zcat \"\$f\"; done | grep -F '$url'; grep -hF '$url' '$dir/access.log.1' '$dir/access.log'"
awk -v g="${secs[grep]}" -v t="${secs[trace]}" 'BEGIN{printf "shellwatch trace runs at %.2fx the speed of grep -F\n", g/t}'
