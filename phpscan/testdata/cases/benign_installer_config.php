<?php
// An installer writes its configuration with values from the form.
// want: clean
$out = "<?php\n";
$out .= '$db_host = ' . var_export($_POST['db_host'], true) . ";\n";
$out .= '$db_name = ' . var_export($_POST['db_name'], true) . ";\n";
file_put_contents(__DIR__ . '/config.php', $out);
