<?php
// want: php_upload_request_path
move_uploaded_file($_FILES['u']['tmp_name'], $_POST['dir'] . '/' . $_FILES['u']['name']);
