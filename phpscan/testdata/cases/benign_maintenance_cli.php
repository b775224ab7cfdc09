<?php
// A CLI maintenance script runs commands from its arguments.
// want: clean
$host = $_SERVER['argv'][1];
system('ping -c 1 ' . escapeshellarg($host));
exec('/usr/bin/rrdtool update ' . $host . '.rrd N:1');
