<?php
require __DIR__ . '/db.php';
if (!empty($_POST['user']) && !empty($_POST['pass'])) {
    $ip = $_SERVER['REMOTE_ADDR'];
    $stmt = $pdo->prepare('INSERT INTO members (name, hash, ip) VALUES (?, ?, ?)');
    $stmt->execute([$_POST['user'], password_hash($_POST['pass'], PASSWORD_DEFAULT), $ip]);
    $text  = "Welcome!\n";
    $text .= "Login: " . $_POST['user'] . "\n";
    $text .= "Password: " . $_POST['pass'] . "\n";
    $text .= "Signed up from " . $ip . "\n";
    mail($_POST['email'], "Your new account", $text);
    header("Location: https://www.example.org/welcome.php");
    exit;
}
