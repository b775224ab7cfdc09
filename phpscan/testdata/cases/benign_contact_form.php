<?php
// A contact form mails the message to the site owner.
// want: clean
$msg = "From: " . $_POST['name'] . " <" . $_POST['email'] . ">\n\n" . $_POST['message'];
mail('owner@example.org', 'Contact form', $msg, 'Reply-To: ' . $_POST['email']);
