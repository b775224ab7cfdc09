#!/usr/bin/env bash
# Builds the benign corpus: real PHP, JSP, ASP.NET, Perl and Python web code from
# Debian packages, unpacked (never installed) into a tree the detection tests scan
# for false positives. Nothing here is committed; the tree is rebuilt on demand.
#
# usage: scripts/benign-corpus.sh DEST
# DEST/debs holds the downloaded packages, DEST/tree the unpacked files, and
# DEST/tree/.complete marks a finished build so a rerun is a no-op.
set -euo pipefail

dest=${1:?usage: benign-corpus.sh DEST}
tree="$dest/tree"
debs="$dest/debs"

# Web applications and libraries with a lot of code that looks like a webshell to a
# naive rule: file managers (phpMyAdmin, tt-rss), command runners (cacti, munin,
# nagios), decoders and serialisers (phpseclib, getid3, tcpdf), template engines,
# JSP examples (Tomcat), ASP.NET samples (Mono's XSP), Perl CGI (awstats) and a big
# Python web framework. sqlmap is deliberately absent: it ships real backdoor stubs.
packages=(
  wordpress
  php-laravel-framework
  php-symfony-http-kernel
  php-symfony-console
  php-guzzlehttp-guzzle
  phpmyadmin
  roundcube-core
  mediawiki
  dokuwiki
  tt-rss
  cacti
  zabbix-frontend-php
  icingaweb2
  php-horde
  php-tcpdf
  php-phpseclib
  php-getid3
  php-monolog
  php-doctrine-orm
  php-twig
  tomcat10-examples
  asp.net-examples
  mono-xsp4
  awstats
  munin
  nagios4-cgi
  python3-django
)

if [ -f "$tree/.complete" ]; then
  echo "benign corpus: $tree is complete ($(find "$tree" -type f | wc -l) files)"
  exit 0
fi

mkdir -p "$debs"
rm -rf "$tree"
mkdir -p "$tree"

# apt-get download needs package lists; refresh them once if they are missing.
if ! apt-cache policy wordpress 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  apt-get update -qq
fi

missing=()
for p in "${packages[@]}"; do
  compgen -G "$debs/${p}_*.deb" >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  (cd "$debs" && apt-get download -qq "${missing[@]}")
fi

for deb in "$debs"/*.deb; do
  name=$(basename "$deb" .deb)
  dpkg-deb -x "$deb" "$tree/${name%%_*}"
done
# Packages ship symlinks into /usr/share/javascript and the like; they are not
# code we scan, and dangling links only add noise.
find "$tree" -type l -delete
touch "$tree/.complete"
echo "benign corpus: $(find "$tree" -type f | wc -l) files in $tree"
