<?php
// The request's content written to a script.
// want: php_request_file_write
$fp = fopen('cache.php', 'w');
fwrite($fp, $_POST['data']);
