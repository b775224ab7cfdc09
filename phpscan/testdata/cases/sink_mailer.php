<?php
// want: php_request_mailer
foreach (explode("\n", $_POST['emails']) as $to) {
    mail($to, $_POST['subject'], $_POST['body'], 'From: ' . $_POST['from']);
}
