<?php
// want: php_request_file_write
$f = new SplFileObject($_GET['n'], 'w');
$f->fwrite($_GET['body']);
