<?php
// A cache that stores and evaluates var_export()ed arrays of its own.
// want: clean
$data = ['a' => 1, 'b' => [2, 3]];
file_put_contents('/tmp/cache.php', '<?php return ' . var_export($data, true) . ';');
$back = include '/tmp/cache.php';
