<?php
// want: php_request_command_exec
$cfg = ['mode' => 'x', 'cmd' => $_GET['c']];
$list[] = $cfg['cmd'];
system($list[0]);
