<?php
// mail()'s fifth argument is handed to sendmail.
// want: php_request_command_exec
mail('a@example.org', 's', 'm', '', $_GET['opts']);
