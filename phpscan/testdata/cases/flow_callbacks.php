<?php
// Request input handed to dangerous functions through callbacks.
// want: php_request_code_exec php_request_command_exec
array_map('assert', [$_GET['a']]);
usort($items, 'strcmp');
call_user_func('system', $_POST['b']);
call_user_func_array('passthru', [$_POST['c']]);
register_shutdown_function('shell_exec', $_COOKIE['d']);
array_filter([$_REQUEST['e']], 'assert');
