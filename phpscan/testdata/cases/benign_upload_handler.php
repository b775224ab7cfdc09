<?php
// An upload handler that checks the extension and picks the name.
// want: clean
$ext = strtolower(pathinfo($_FILES['img']['name'], PATHINFO_EXTENSION));
if (!in_array($ext, ['jpg', 'png', 'gif'], true)) {
    exit('not an image');
}
move_uploaded_file($_FILES['img']['tmp_name'], __DIR__ . '/uploads/' . uniqid('', true) . '.' . $ext);
