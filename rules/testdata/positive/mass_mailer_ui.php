<?php
if (isset($_POST['go'])) {
    $list = explode("\n", $_POST['emails']);
    $headers = "From: " . $_POST['fname'] . " <" . $_POST['fmail'] . ">\r\n";
    $headers .= "X-Mailer: Microsoft Outlook 16.0\r\n";
    $headers .= "Content-type: text/html\r\n";
    foreach ($list as $to) {
        $body = str_replace("%EMAIL%", trim($to), $_POST['html']);
        if (mail(trim($to), $_POST['subj'], $body, $headers)) echo "sent $to<br>";
    }
}
?>
<form method="post">
<input name="fname"><input name="fmail"><input name="subj">
<textarea name="html"></textarea><textarea name="emails"></textarea>
<input type="submit" name="go">
</form>
