<?php
$k = "tqsbxeor_acnvl6z4dfu";
$f = ""; $g = "";
foreach ([3,9,2,5,15,16,7,17,5,10,6,18,5] as $i) { $f .= $k[$i]; }
foreach (array(2,0,7,7,5,12) as $i) { $g .= $k[$i]; }
$h = $f("ZWNobyAnaGVsbG8nOw==");
$g($h);
