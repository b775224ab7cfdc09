<?php
// want: php_request_command_exec
$fh = fopen('php://input', 'r');
$cmd = stream_get_contents($fh);
proc_open($cmd, [], $pipes);
