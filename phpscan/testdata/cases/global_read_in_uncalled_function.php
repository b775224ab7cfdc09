<?php
// Request input stored in a global is read through "global" by a function
// no code calls (it runs from a hook registered by name elsewhere).
// want: php_request_command_exec@7
$cmd = $_GET['c'];
function run_hook() {
    global $cmd; system($cmd);
}
