<?php
// want: php_request_file_access
if (isset($_GET['del'])) {
    unlink($_GET['del']);
}
echo htmlspecialchars(file_get_contents($_GET['d'] . '/' . $_GET['f']));
