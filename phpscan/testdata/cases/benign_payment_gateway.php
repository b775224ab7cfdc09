<?php
// A payment module posts the card to its gateway: alerted at medium only.
// want: php_card_send
$ch = curl_init('https://gateway.example.com/transact');
curl_setopt($ch, CURLOPT_POSTFIELDS, ['card' => $_POST['cc_number'], 'cvv' => $_POST['cvv']]);
curl_exec($ch);
