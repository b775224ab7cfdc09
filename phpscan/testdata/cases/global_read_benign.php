<?php
// A global set from the request only picks a fixed page; the function that
// reads it uses it as a key into a fixed table.
// want: clean
$page = $_GET['page'];
function render_page() {
    global $page;
    $pages = array('home' => 'home.html', 'about' => 'about.html');
    readfile(__DIR__ . '/' . ($pages[$page] ?? 'home.html'));
}
