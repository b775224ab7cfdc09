#!/usr/bin/env bash
# Quick rule-development loop with the yara CLI (no Go build needed):
# detection per language on the webshell corpus and hits on the benign tree.
# usage: [OUT=build/eval] scripts/rules-eval.sh [RULE_FILE...]  (default rules/bundled/*.yar)
# Writes OUT/misses.txt (language<TAB>corpus file not flagged) and OUT/fp.txt (benign hits).
set -euo pipefail
corpus=${CORPUS:-../shared/corpus/webshells}
benign=${BENIGN:-build/corpus/tree}
out=${OUT:-build/eval}
mkdir -p "$out"
if [ $# -eq 0 ]; then set -- rules/bundled/*.yar; fi
# Compile once; externals get placeholder values (the CLI cannot vary them per file).
yarac -d filename=x -d filepath=x -d extension=x "$@" "$out/rules.yarc"
label() { # file -> language, from the manifest's original path, then from content
  awk -F'\t' 'NR>1{p=tolower($7); sub(/\.txt$/,"",p); n=split(p,a,"."); e=(n>1)?a[n]:"";
    l="";
    if (e ~ /^(php[0-9]?|phtml|inc)$/) l="php";
    else if (e ~ /^jspx?$/) l="jsp";
    else if (e ~ /^(asp|aspx|ashx|asmx|asa|cer|cdx)$/) l="asp";
    else if (e ~ /^(pl|cgi|py|sh)$/) l="script";
    else if (e == "cfm") l="cfm";
    print $1 "\t" l}' "$corpus/MANIFEST.tsv" | while IFS=$'\t' read -r f l; do
      if [ -z "$l" ]; then
        if grep -aqE '<\?php|<\?=|<\? ' "$corpus/$f"; then l=php
        elif grep -aqE '<%@ *page|request\.getParameter|java\.io' "$corpus/$f"; then l=jsp
        elif grep -aqiE 'server\.createobject|response\.write|request\.form|<%@ *(page|webhandler)' "$corpus/$f"; then l=asp
        elif grep -aqE '^#!.*(perl|python|sh)' "$corpus/$f"; then l=script
        else l=other; fi
      fi
      printf '%s\t%s\n' "$f" "$l"
    done
}
label > "$out/labels.tsv"
yara -C -r -p 2 -d filename=x -d filepath=x -d extension=x "$out/rules.yarc" "$corpus" 2>/dev/null \
  | awk '{print $2}' | sed "s|^$corpus/||" | sort -u > "$out/hit-files.txt"
: > "$out/misses.txt"
awk -F'\t' 'NR==FNR{hit[$1]=1; next} {t[$2]++; if ($1 in hit) h[$2]++; else print $2 "\t" $1 > "'"$out"'/misses.txt"}
  END{for (l in t) {tot+=t[l]; th+=h[l]; printf "%-7s %4d/%4d  %5.1f%%\n", l, h[l], t[l], 100*h[l]/t[l]}
      printf "%-7s %4d/%4d  %5.1f%%\n", "ALL", th, tot, 100*th/tot}' "$out/hit-files.txt" "$out/labels.tsv"
sort "$out/misses.txt" -o "$out/misses.txt" 2>/dev/null || true
yara -C -r -p 2 -d filename=x -d filepath=x -d extension=x "$out/rules.yarc" "$benign" 2>/dev/null > "$out/fp.txt" || true
echo "benign: $(awk '{print $2}' "$out/fp.txt" | sort -u | wc -l) files hit of $(find "$benign" -type f | wc -l); rules hit: $(awk '{print $1}' "$out/fp.txt" | sort | uniq -c | sort -rn | head -10 | tr '\n' ' ')"
