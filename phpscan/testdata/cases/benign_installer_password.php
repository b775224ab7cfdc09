<?php
// An installer stores the admin password hashed in its configuration.
// want: clean
$hash = password_hash($_POST['admin_password'], PASSWORD_DEFAULT);
file_put_contents(__DIR__ . '/data/users.txt', $_POST['admin_user'] . ':' . $hash . "\n");
