<?php
// A method name from a fixed list.
// want: clean
class Controller {
    function index() {}
    function show() {}
}
$action = $_GET['action'];
if (!in_array($action, ['index', 'show'], true)) {
    $action = 'index';
}
call_user_func([new Controller(), $action]);
$c = new Controller();
$c->$action();
