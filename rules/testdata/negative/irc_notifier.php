<?php
// Posts a deployment notice to the team's IRC channel.
$sock = fsockopen('irc.example.net', 6667, $errno, $errstr, 10);
if ($sock) {
    fwrite($sock, "NICK deploybot\r\n");
    fwrite($sock, "USER deploybot 0 * :Deploy notifier\r\n");
    while ($line = fgets($sock, 512)) {
        if (strpos($line, 'PING') === 0) {
            fwrite($sock, "PONG " . substr($line, 5));
        }
        if (strpos($line, ' 001 ') !== false) {
            fwrite($sock, "JOIN #deploy\r\n");
            fwrite($sock, "PRIVMSG #deploy :release " . $argv[1] . " is live\r\n");
            fwrite($sock, "QUIT\r\n");
            break;
        }
    }
    fclose($sock);
}
