#!/usr/bin/env perl
# The hostile soak's cluster phase; bench/soak.sh runs it after the first
# (see there). For SOAK_CLUSTER_SECONDS, against two nginx nodes (two
# workers each) whose zone "soak" is in a redis-server of its own
# (appendonly, fsync at every write):
#   - users log in, join, use and end sessions on either node, by logout,
#     the admin API and the upstream provider's tokens (Soak::Cluster);
#   - fuzzers, on either node, send hostile requests (Soak::Fuzz);
#   - chaos kills random workers of both nodes (kill -9), reloads each
#     node once, and kills Redis (kill -9) and starts it again.
# Once the load stops (Redis up), every session of the ledger must be
# accepted (live) or refused (ended) by both nodes within a few seconds of
# polling, Redis's keys must be whole, and the logs must show no crash
# but the soak's kills, no [alert], [crit] or [emerg], and each node back
# on Redis. Prints the counts; exits 1 on any failure, also when it could
# not run or ran too little.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/soak";
use IO::Socket::INET;
use List::Util qw(shuffle sum0);
use Soak::Children qw(children_init reap spawn);
use Soak::Cluster qw(check_redis_keys final_cluster run_cluster_chaos run_cluster_client
                     write_nodes);
use Soak::Final qw(check_tags);
use Soak::Fuzz qw(run_fuzzer);
use Soak::Ledger qw(read_ledger);
use Soak::Logs qw(scan_logs);
use Soak::Nginx qw(nginx_node start_nginx stop_nginx use_nginx_node);
use Soak::Redis qw(redis_command start_redis);
use Soak::Setup qw(make_site write_site);
use Soak::Stats qw(load_stats save_stats stats_init violation);
use Time::HiRes qw(sleep time);

$| = 1;
$SIG{PIPE} = 'IGNORE';
setpgrp(0, 0);    # one process group: soak.sh's trap ends all of it

sub env { $ENV{ $_[0] } // $_[1] // die "$_[0] is not set\n" }

my $dir      = env('SOAK_DIR') . '/cluster';
my $binary   = env('NGINX_BINARY');
my $module   = env('MODULE');
my $payloads = env('SOAK_PAYLOADS');
my $seconds  = env('SOAK_CLUSTER_SECONDS', 30);
my $port     = env('SOAK_PORT', 1996);
my $seed     = env('SOAK_SEED', int rand 1e9);
my $rlimit   = env('SOAK_RLIMIT_CORE', '1g');
my $redis_server = env('REDIS_SERVER', 'redis-server');
my $kill_every = env('SOAK_KILL_EVERY', 1.5);
my $fuzzers  = env('SOAK_FUZZERS', 2);
# how long both nodes may take to agree with the ledger once the load stops
my $settle = env('SOAK_CLUSTER_SETTLE', 10);

my @failures;
sub fail { push @failures, @_ }

mkdir $dir;
mkdir "$dir/$_" for qw(stats ledger);
stats_init($dir, 'driver');
srand $seed;

# ---- Redis, the site and its two nodes ---------------------------------------

# ports: node 1 and the peers as the first phase's (base .. base+4), then
# node 2 and Redis
my $redis_port = $port + 6;
my $site = eval { make_site($dir, $port, $payloads) };
die "soak: cluster: cannot set up: $@" unless $site;
$site->{nodes} = [$port, $port + 5];
write_site($site, $module, $rlimit);
write_nodes($site, $redis_port);
my $hole = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$site->{hole}", Listen => 1,
                                 ReuseAddr => 1)
    or die "soak: cluster: cannot listen on 127.0.0.1:$site->{hole}: $!\n";

my @nodes;
my $started = eval {
    my $pid = start_redis($redis_server, "$dir/redis", $redis_port);
    open my $p, '>', "$dir/redis.pid" or die "$dir/redis.pid: $!\n";
    print $p "$pid\n";
    close $p;
    for my $n (0, 1) {
        start_nginx($binary, "$dir/node" . ($n + 1), $site->{nodes}[$n]);
        push @nodes, nginx_node();
    }
    1;
};
if (!$started) {
    print "soak: cluster: FAIL: could not run: $@";
    exit 1;
}
my $t0 = time;
my $deadline = $t0 + $seconds;
printf "soak: cluster: %d s, two nodes on %d and %d, redis-server on %d, seed %d, in %s\n",
    $seconds, @{ $site->{nodes} }, $redis_port, $seed, $dir;

# ---- traffic and chaos --------------------------------------------------------------

children_init($dir, $seed);
sub reap_all { fail("did not stop in time: $_") for reap(@_) }

# one outage in a short run, two in a longer one
my $outages = $seconds >= 20 ? [0.25, 0.6] : [0.4];
spawn('chaos', sub { run_cluster_chaos($deadline, $t0, \@nodes, $kill_every, $outages, $dir) });
spawn("client-c$_", sub { run_cluster_client($site, $_, $deadline, "$dir/ledger/client-c$_") })
    for 1, 2;
for my $k (0 .. $fuzzers - 1) {    # on either node by turns
    spawn("fuzzer-$k", sub {
        $site->{port} = $site->{nodes}[$k % 2];
        run_fuzzer($site, $k, $fuzzers, $deadline);
    });
}
reap_all($deadline + 60);
my $load_stopped = time;

# ---- both nodes and Redis, once the load stopped --------------------------------

my $redis_up = eval { (redis_command('PING') // '') eq 'PONG' };
fail('Redis does not answer after the load') unless $redis_up;
my @sessions = grep { $_->{state} ne 'unknown' } read_ledger(glob "$dir/ledger/client-c*");
my $by_name = { node1 => $site->{nodes}[0], node2 => $site->{nodes}[1] };
$_->{node} = $by_name->{ $_->{node} // 'node1' } for @sessions;
spawn('final', sub {
    final_cluster($site, [shuffle @sessions], time + $settle, "$dir/ledger/final");
    check_redis_keys('oidc_logout:soak:', \@sessions) if $redis_up;
});
reap_all(time + $settle + 60);
my $settled = time - $load_stopped;

# ---- the end --------------------------------------------------------------------------

for my $node (@nodes) {
    use_nginx_node($node);
    fail("nginx of $node->{dir} did not exit within 60 s of \"nginx -s quit\"") unless stop_nginx(60);
}
if (open my $p, '<', "$dir/redis.pid") {
    chomp(my $pid = <$p> // '');
    kill 'KILL', $pid if $pid;
}
close $hole;
my $elapsed = time - $t0;

my %killed;
if (open my $k, '<', "$dir/killed") { chomp(my @p = <$k>); @killed{@p} = () }
my @logs = map { ("$_->{dir}/error.log", "$_->{dir}/nginx.stderr") } @nodes;
my $logs = scan_logs({ map { $_ => 1 } keys %killed }, @logs);
check_tags("$dir/tags", $logs->{tagged});
fail(@{ $logs->{failures} }[0 .. ($#{ $logs->{failures} } < 19 ? $#{ $logs->{failures} } : 19)])
    if @{ $logs->{failures} };

# each node said when Redis went away and when it came back, last "back"
my %redis_lines;
for my $n (1, 2) {
    open my $f, '<', "$dir/node$n/error.log" or next;
    my $last = '';
    while (<$f>) {
        next unless /oidc_logout: zone "soak": redis \S+ (unreachable|reachable again)/;
        $redis_lines{"node$n: redis $1"}++;
        $last = $1;
    }
    fail("node$n: its last line about Redis says it is unreachable") if $last eq 'unreachable';
}

my @cores = grep { -f } glob("$dir/cores/*");
fail("core file: $_") for @cores;

save_stats();
my ($c) = load_stats($dir);
my @violations;
if (open my $v, '<', "$dir/violations") { chomp(@violations = <$v>) }
fail(@violations[0 .. ($#violations < 19 ? $#violations : 19)],
     @violations > 20 ? ('... ' . (@violations - 20) . " more violations, in $dir/violations") : ())
    if @violations;

my $n = sub { $c->{ $_[0] } // 0 };
my @live = grep { $_->{state} eq 'live' } @sessions;
for ([$n->('chaos: kills') > 0, 'workers killed'],
     [$n->('chaos: reloads') == 2, 'a reload of each node'],
     [$n->('chaos: redis restarts') == @$outages, 'Redis killed and started again'],
     [$n->('requests: cluster login') >= $seconds, 'logins (at least one a second)'],
     [(grep { /^cluster: logouts by .* on the other node$/ } keys %$c) > 0, 'logouts on the other node'],
     [$n->('ledger: final checks') == @sessions, 'final checks (every session)'],
     [$n->('ledger: live checked (final)') > 0 && $n->('ledger: ended checked (final)') > 0,
      'live and ended sessions checked on both nodes'],
     [!$fuzzers || $n->('fuzz: requests') >= $seconds, 'fuzz requests (at least one a second)'],
     [$n->('redis: session records checked') > 0, 'session records in Redis checked']) {
    fail("ran too little: $_->[1]") unless $_->[0];
}

sub line { printf "  %-52s %10s\n", @_ }
print "\n==== soak counts, cluster (", sprintf('%.0f', $elapsed), " s)\n";
line('requests', sum0(map { $c->{$_} } grep { /^requests: / } keys %$c));
line("  $_", $c->{$_}) for sort grep { /^requests: cluster / } keys %$c;
line('  fuzz requests (hostile)', $n->('fuzz: requests') + $n->('fuzz: open-redirect payloads fired'));
line("responses $_", $c->{$_}) for sort grep { /^status: / } keys %$c;
line($_, $c->{$_}) for sort grep { /^(?:no response|chaos|cluster|redis): / } keys %$c;
line('  exits of killed workers seen in the logs', $logs->{kills_seen});
line($_, $redis_lines{$_}) for sort keys %redis_lines;
line('sessions in the ledger (live, ended)', scalar(@live) . ', ' . (@sessions - @live));
line('final: live accepted by both nodes', $n->('ledger: live checked (final)') / 2);
line('final: ended refused by both nodes', $n->('ledger: ended checked (final)') / 2);
line('settled after the load stopped (s)', sprintf '%.0f', $settled);
line($_, $c->{$_}) for sort grep { /^violations: / } keys %$c;
line('violations', scalar @violations);
line("log lines [$_]", $logs->{levels}{$_}) for sort keys %{ $logs->{levels} };

if (@failures) {
    print "\nsoak: cluster: FAIL\n";
    print "  $_\n" for @failures;
    exit 1;
}
print "\nsoak: cluster: PASS\n";
exit 0;
