<?php
// A CLI script runs itself again with its own arguments.
// want: clean
passthru(PHP_BINARY . ' ' . $argv[0] . ' --loop');
