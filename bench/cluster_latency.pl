#!/usr/bin/perl
# The logout-to-refusal latency of bench/cluster.sh. ROUNDS times: a
# session of its own is started on node 1 and used on node 3 (so that node
# 3 holds it in its zone), then logged out on node 2; from the moment node
# 2's answer arrives, node 3 is asked again and again, on a kept-alive
# connection, until it answers 401. Prints how many logouts, p50, p99 and
# max of that time in ms, and how often node 3 did not know a session at
# once after its login on node 1.
#
#   perl bench/cluster_latency.pl ROUNDS PORT1 PORT2 PORT3
use strict;
use warnings;

use HTTP::Tiny;
use Time::HiRes qw(time);

my ($rounds, @ports) = @ARGV;
@ports == 3 or die "usage: $0 ROUNDS PORT1 PORT2 PORT3\n";
# one client a node: HTTP::Tiny keeps one connection, to one host and port
my @node = map { HTTP::Tiny->new(keep_alive => 1, max_redirect => 0, timeout => 10) } @ports;

# GET path from node i (0-based), with the session's cookie
sub ask {
    my ($i, $path, $cookie) = @_;
    my %h = $cookie ? (Cookie => "oidc_session=$cookie") : ();
    my $res = $node[$i]->get("http://127.0.0.1:$ports[$i]$path", { headers => \%h });
    $res->{status} < 599 or die "node @{[ $i + 1 ]}: $path: $res->{content}";
    return $res;
}

# asks until the answer has status; dies after 10 s. How many asks it took.
sub until_status {
    my ($status, $i, $path, $cookie) = @_;
    my ($t0, $asks) = (time, 0);
    for (;;) {
        $asks++;
        my $got = ask($i, $path, $cookie)->{status};
        return $asks if $got == $status;
        die "node @{[ $i + 1 ]}: $path: still $got after 10 s, not $status\n" if time - $t0 > 10;
    }
}

my (@ms, $asks, $unknown);
for my $r (1 .. $rounds) {
    my $res = ask(0, "/login?user=bench$r");
    my $sc = $res->{headers}{'set-cookie'} // '';
    my ($cookie) = (ref $sc ? $sc->[0] : $sc) =~ /^oidc_session=([^;]*)/
        or die "node 1: no session cookie ($res->{status})\n";
    $unknown++ if until_status(200, 2, '/app', $cookie) > 1;
    $res = ask(1, '/logout', $cookie);
    $res->{status} == 200 or die "node 2: logout answered $res->{status}\n";
    my $t0 = time;
    $asks += until_status(401, 2, '/app', $cookie);
    push @ms, (time - $t0) * 1000;
}

@ms = sort { $a <=> $b } @ms;
# nearest rank
sub pct { $ms[ int(($#ms + 1) * $_[0] / 100 + 0.999999) - 1 ] }
printf "logouts              %10d\n", scalar @ms;
printf "p50                  %10.2f ms\n", pct(50);
printf "p99                  %10.2f ms\n", pct(99);
printf "max                  %10.2f ms\n", $ms[-1];
printf "asks of node 3       %10.1f a logout\n", $asks / @ms;
printf "new session unknown  %10d times on node 3 at first\n", $unknown // 0;
