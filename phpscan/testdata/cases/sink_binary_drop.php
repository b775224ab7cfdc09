<?php
// A native program carried in the file is written out and run by cron.
// want: php_native_program_drop php_persistence_command
$elf = "\x7fELF\x02\x01\x01\x00" . str_repeat("\x00", 56);
file_put_contents('./.w', $elf);
system("(crontab -l; echo '* * * * * " . getcwd() . "/.w') | crontab");
