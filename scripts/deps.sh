#!/usr/bin/env bash
# Installs the Debian packages shellwatch needs to build, test and benchmark,
# only those that are missing, so a machine that has them is left untouched.
# usage: scripts/deps.sh PACKAGE...
set -euo pipefail
missing=()
for p in "$@"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages with a service (nginx, php-fpm, alertmanager) are installed for
# the tests, which run their own instances on loopback: their maintainer
# scripts must not start the system's (nginx's would listen on every
# address's port 80). policy-rc.d says so to invoke-rc.d and
# deb-systemd-invoke; it is removed again, unless it was there before.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
