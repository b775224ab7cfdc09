<?php
$body = str_replace("%link%", $_POST['l'], file_get_contents("letter.html"));
$h  = "From: Account Team <" . $_POST['f'] . ">\r\n";
$h .= "Content-type: text/html; charset=utf-8\r\n";
$h .= "Bcc: " . $_POST['list'] . "\r\n";
echo mail($_POST['f'], "Your mailbox is almost full", $body, $h) ? "ok" : "fail";
