#!/usr/bin/env bash
# `make bench`: two trees, the benign corpus alone (the bar: what a web root
# holds) and the benign corpus plus the webshell corpus (every shell that
# YARA does not already call critical goes through the PHP analyzer), the
# tools at the same parallelism, interleaved rounds, the median of each:
#   shellwatch scan       hashes (SHA-256 + MD5), YARA-scans every file and
#                         runs the PHP analyzer on PHP files (the default)
#   shellwatch no PHP     the same with scanner.php_analyzer = false
#   yara -r -p N          YARA alone, same bundled rules compiled by yarac
#                         (default matching and fast matching mode, -f)
#   sha256sum             hashing alone, N parallel processes
# Prints files/s, MB/s, peak RSS and the ratios shellwatch / reference.
# usage: scripts/bench.sh BINARY BENIGN_TREE WEBSHELL_CORPUS [ROUNDS]
set -euo pipefail
bin=$1 benign=$2 corpus=$3 rounds=${4:-3}
work=build/bench
tree=$work/tree
n=$(nproc)
mkdir -p "$work"
if [ ! -f "$tree/.complete" ]; then
  rm -rf "$tree"; mkdir -p "$tree"
  cp -al "$benign" "$tree/benign" 2>/dev/null || cp -a "$benign" "$tree/benign"
  # The webshells are copied into build/ (never a served folder), read only.
  cp -a "$corpus" "$tree/webshells"
  chmod -R a-w "$tree/webshells"
  touch "$tree/.complete"
fi
yarac -d filename= -d filepath= -d extension= rules/bundled/*.yar "$work/bundled.yarc"
printf '[scanner]\nphp_analyzer = false\n' > "$work/nophp.toml"
# Warm the page cache so every tool reads from memory.
find "$tree" -type f -print0 | xargs -0 cat > /dev/null

declare -A secs rss
measure() { # name command...
  local name=$1; shift
  # Exit statuses are not checked: scan and yara report findings with 1.
  /usr/bin/time -o "$work/time.out" -f '%e %M' "$@" > /dev/null 2>&1 || true
  local out; out=$(tail -1 "$work/time.out")
  secs[$name]+="${out%% *} "; rss[$name]+="${out##* } "
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
calc() { awk "BEGIN{print $*}"; }

# bench_tree TITLE DIR TOOL...: the tools over DIR, rounds interleaved.
bench_tree() {
  local title=$1 dir=$2; shift 2
  local tools=("$@") t r
  secs=() rss=()
  for ((r = 1; r <= rounds; r++)); do
    for t in "${tools[@]}"; do
      case $t in
      shellwatch) measure "$t" "$bin" scan --workers "$n" "$dir" ;;
      sw_no_php) measure "$t" "$bin" scan --config "$work/nophp.toml" --workers "$n" "$dir" ;;
      yara) measure "$t" yara -C -r -p "$n" -d filename= -d filepath= -d extension= "$work/bundled.yarc" "$dir" ;;
      yara_fast) measure "$t" yara -C -f -r -p "$n" -d filename= -d filepath= -d extension= "$work/bundled.yarc" "$dir" ;;
      sha256sum) measure "$t" bash -c "find '$dir' -type f -print0 | xargs -0 -n 200 -P $n sha256sum" ;;
      esac
    done
  done
  local files bytes sw y np s m
  files=$(find "$dir" -type f | wc -l)
  bytes=$(find "$dir" -type f -printf '%s\n' | awk '{s+=$1} END{print s}')
  printf '%s: %d files, %.1f MB; %d workers; %d rounds, median shown\n\n' "$title" "$files" "$(calc "$bytes/1000000")" "$n" "$rounds"
  printf '%-12s %9s %10s %9s %10s\n' tool seconds files/s MB/s peak_RSS_MB
  sw=$(echo "${secs[shellwatch]}" | median)
  for t in "${tools[@]}"; do
    s=$(echo "${secs[$t]}" | median); m=$(echo "${rss[$t]}" | median)
    printf '%-12s %9.2f %10.0f %9.1f %10.1f\n' "$t" "$s" "$(calc "$files/$s")" "$(calc "$bytes/1000000/$s")" "$(calc "$m/1024")"
  done
  echo
  for t in "${tools[@]:1}"; do
    s=$(echo "${secs[$t]}" | median)
    printf 'shellwatch speed / %-10s = %.2fx\n' "$t" "$(calc "$s/$sw")"
  done
  y=$(echo "${secs[yara]}" | median)
  np=$(echo "${secs[sw_no_php]}" | median)
  printf '\nwhole scan time / yara -p %d alone: with the PHP analyzer %.2fx, without it %.2fx\n\n' \
    "$n" "$(calc "$sw/$y")" "$(calc "$np/$y")"
}

bench_tree "benign tree (the bar: shellwatch within 1.25x of yara alone)" "$tree/benign" \
  shellwatch sw_no_php yara yara_fast sha256sum
bench_tree "benign tree plus the webshell corpus" "$tree" shellwatch sw_no_php yara
