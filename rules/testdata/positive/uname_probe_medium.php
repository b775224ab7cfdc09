<?php
echo "[ok] ";
echo php_uname() . " | ";
echo ini_get('safe_mode') ? "safe mode on" : "safe mode off";
