<?php
// want: clean
$file = $_GET['f'];
$out = shell_exec('file --brief ' . escapeshellarg('/srv/files/' . basename($file)));
