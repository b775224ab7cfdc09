<?php
// Refuses uploads that are native executables.
function is_native_binary($path)
{
    $head = file_get_contents($path, false, null, 0, 4);
    return $head === "\x7f\x45\x4c\x46" || substr($head, 0, 2) === "MZ";
}
if (is_native_binary($_FILES['f']['tmp_name'])) {
    http_response_code(415);
    exit('executables are not accepted');
}
