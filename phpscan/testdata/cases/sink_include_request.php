<?php
// want: php_request_code_exec
require_once $_REQUEST['page'];
