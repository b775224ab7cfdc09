<?php
// getallheaders() and $_SERVER['HTTP_*'] are request input.
// want: php_request_code_exec php_request_command_exec
$h = getallheaders();
eval($h['X-Code']);
popen($_SERVER['HTTP_X_CMD'], 'r');
