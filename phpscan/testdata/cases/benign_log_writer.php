<?php
// A logger appends request data to a log under a fixed folder.
// want: clean
$line = sprintf("[%s] %s %s\n", date('c'), $_SERVER['REQUEST_URI'], $_SERVER['HTTP_USER_AGENT']);
file_put_contents('/var/log/app/' . date('Ymd') . '.log', $line, FILE_APPEND);
