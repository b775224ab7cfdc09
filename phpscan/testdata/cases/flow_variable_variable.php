<?php
// $$name writes a variable the request names.
// want: php_request_command_exec
foreach ($_GET as $k => $v) { $$k = $v; }
system($anything);
