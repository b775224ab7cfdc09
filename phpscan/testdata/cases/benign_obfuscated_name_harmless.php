<?php
// Building a harmless function's name at run time is not hiding anything.
// want: clean
$f = 'str' . 'len';
echo $f($_GET['s']);
