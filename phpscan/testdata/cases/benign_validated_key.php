<?php
// want: clean
$fn = $_GET['fn'];
if (!preg_match('/^[a-z_]+$/', $fn)) {
    die('bad');
}
$fn2 = 'ajax_' . $_POST['act'];
$fn2();
