<?php
// The request names the callback.
// want: php_request_dynamic_call
usort($_GET['list'], $_GET['cmp']);
