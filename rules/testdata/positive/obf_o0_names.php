<?php
function OO0O0o0OO0O0o0($s){return base64_decode($s);}
function O0OO0o0OO0OOo0($a,$b){return $a^$b;}
function Oo0O0O0OO0O0o0($p){return @file_get_contents($p);}
$O00O0o0OO0O0o0 = OO0O0o0OO0O0o0("aHR0cDovL2V4YW1wbGUub3JnLw==");
$O0O0O0oO0O0oO0 = Oo0O0O0OO0O0o0($O00O0o0OO0O0o0);
$O0OOO0o0OO0Oo0 = O0OO0o0OO0OOo0($O0O0O0oO0O0oO0, "k");
$o0O0O0O0o0O0o0 = strlen($O0OOO0o0OO0Oo0);
$O0o0O0O00o0O0o = OO0O0o0OO0O0o0($O0OOO0o0OO0Oo0);
echo $O0o0O0O00o0O0o . $o0O0O0O0o0O0o0 . $O0OOO0o0OO0Oo0 . $O00O0o0OO0O0o0;
