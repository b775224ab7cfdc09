<?php
$sent = false;
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $name = strip_tags($_POST['name']);
    $email = filter_var($_POST['email'], FILTER_SANITIZE_EMAIL);
    $body  = "Name: " . $name . "\n";
    $body .= "Email: " . $email . "\n";
    $body .= "Message: " . strip_tags($_POST['message']) . "\n";
    $body .= "Sent from: " . $_SERVER['REMOTE_ADDR'] . "\n";
    $headers = "From: webform@" . $_SERVER['SERVER_NAME'] . "\r\nReply-To: " . $email . "\r\n";
    $sent = mail("office@example.org", "Website contact", $body, $headers);
    header("Location: https://www.example.org/thanks.html");
    exit;
}
?>
<form method="post">
  <input name="name"> <input name="email">
  <textarea name="message"></textarea>
  <button>Send</button>
</form>
