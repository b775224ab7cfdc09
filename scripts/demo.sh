#!/usr/bin/env bash
# `make run`: builds a small demo web root of harmless PHP files under
# build/demo (never a served folder) and runs the daemon on demo/config.toml
# in the foreground, after saying how to try it. Each run starts afresh: the
# root, its baseline, the vault and the spools are made again together (a
# rebuilt root against the last run's baseline would raise
# changed_while_down for every file).
# usage: scripts/demo.sh BINARY
set -euo pipefail
bin=$1
demo=build/demo
www="$demo/www"
rm -rf "$www" "$demo/state" "$demo/run"
mkdir -p "$www/wp-content/uploads/2026/11" "$www/includes" "$www/cache" "$demo/state"
chmod 0700 "$demo/state"
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

if [ -S /run/systemd/journal/socket ]; then
  where="journalctl -t shellwatch -o verbose -n 5     (fields SHELLWATCH_*)"
else
  where="this terminal: no journald runs here, so alerts are JSON lines on stderr"
fi
cat <<MSG
shellwatch demo
  web root:  $www
  config:    demo/config.toml
  vault:     $demo/state/quarantine

Try it from another terminal, in $(pwd):
  # drop a China Chopper style one-liner hidden in an image, as an upload form would
  printf 'GIF89a\n<?php @eval(\$_POST["x"]); ?>\n' > $www/wp-content/uploads/2026/11/avatar.gif
  # alerts:
  #   $where
  # the file is gone from the web root and in the vault:
  ls $www/wp-content/uploads/2026/11/
  $bin quarantine --config demo/config.toml list
  # edit a file that was there before: alerted, left in place (quarantine_modified = false)
  echo '<?php system(\$_GET["c"]);' >> $www/index.php
  # the daemon's view (it listens on the demo's own socket, hence --config)
  $bin status --config demo/config.toml

Stop with Ctrl-C (SIGTERM drains and exits 0); reload with: kill -HUP <pid>
Each \`make run\` starts a fresh demo. To see changed_while_down, stop it, edit
a file in $www, and start it again with: $bin run --config demo/config.toml

MSG
exec "$bin" run --config demo/config.toml
