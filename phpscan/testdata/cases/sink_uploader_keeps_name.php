<?php
// want: php_upload_keeps_client_name
$dest = getcwd() . '/' . basename($_FILES['userfile']['name']);
move_uploaded_file($_FILES['userfile']['tmp_name'], $dest);
