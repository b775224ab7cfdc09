<?php
// A router calls the handler registered for the route: the request picks
// one of the file's own callables, it does not name a function.
// want: clean
$routes = [
    'home' => function () { return 'home'; },
    'about' => 'about_page',
];
function about_page() { return 'about'; }
$handler = $routes[$_GET['r']] ?? $routes['home'];
echo $handler();
