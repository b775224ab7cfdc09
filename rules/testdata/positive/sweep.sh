#!/bin/sh
[ -z "$1" ] && { echo "usage: $0 a.b.c"; exit 1; }
for i in $(seq 1 254); do
  ./probe "$1.$i" 22 >> found.txt &
  sleep 1
done
