<?php
// want: php_request_sql_console
$db = mysqli_connect($_POST['host'], $_POST['user'], $_POST['pass']);
$r = mysqli_query($db, $_POST['q']);
