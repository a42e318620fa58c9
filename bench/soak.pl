#!/usr/bin/env perl
# The hostile soak's driver; bench/soak.sh runs it (see there). For
# SOAK_SECONDS, against one nginx with two workers:
#   - fuzzers send hostile requests at every endpoint (Soak::Fuzz);
#   - clients log in, join, use and log out sessions (also by the admin
#     API and the upstream provider's logout tokens), keeping a ledger
#     (Soak::Ledger), checked as they go and once more at the end;
#   - a user agent of the short zone leaves its sessions to expire
#     (Soak::Expiry), their logout tokens delivered by the sweep;
#   - chaos kills random workers (kill -9) and reloads nginx
#     (Soak::Nginx); then "nginx -s quit".
# Once the load stops, the outbox must drain (Soak::Operators), and the
# metrics, the error log's lines and the tokens the applications got must
# agree with the ledgers (Soak::Final). Every response is checked
# (Soak::Check), then the logs (Soak::Logs) and the core directory.
# Prints the counts; exits 1 on any failure, also when it could not run or
# ran too little.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/soak";
use IO::Socket::INET;
use List::Util qw(shuffle sum0);
use Soak::Children qw(children_init reap spawn);
use Soak::Expiry qw(final_expiry read_expiry run_expiry);
use Soak::Final qw(check_counters check_tags check_tokens);
use Soak::Ledger qw(final_check read_ledger run_client);
use Soak::Logs qw(scan_logs);
use Soak::Nginx qw(master_alive run_chaos signal_nginx start_nginx stop_nginx);
use Soak::Fuzz qw(run_fuzzer);
use Soak::Operators qw(drain fetch_page);
use Soak::Setup qw(make_site write_site);
use Soak::Stats qw(load_stats save_stats stats_init violation);
use Time::HiRes qw(sleep time);

$| = 1;
$SIG{PIPE} = 'IGNORE';
setpgrp(0, 0);    # one process group: soak.sh's trap ends all of it

sub env { $ENV{ $_[0] } // $_[1] // die "$_[0] is not set\n" }

my $dir      = env('SOAK_DIR');
my $binary   = env('NGINX_BINARY');
my $module   = env('MODULE');
my $payloads = env('SOAK_PAYLOADS');
my $seconds  = env('SOAK_SECONDS', 1200);
my $port     = env('SOAK_PORT', 1996);
my $clients  = env('SOAK_CLIENTS', 4);
my $fuzzers  = env('SOAK_FUZZERS', 2);
my $seed     = env('SOAK_SEED', int rand 1e9);
my $rlimit   = env('SOAK_RLIMIT_CORE', '1g');
my $core_dir = env('SOAK_CORE_WATCH', '');
my $core_note = env('SOAK_CORE_NOTE', '');
# the chaos: a kill every 1.5 s and a reload every 10 s on average
my $kill_every   = env('SOAK_KILL_EVERY', 1.5);
my $reload_every = env('SOAK_RELOAD_EVERY', 10);

my @failures;
sub fail { push @failures, @_ }

mkdir "$dir/$_" for qw(stats ledger metrics);
stats_init($dir, 'driver');
srand $seed;

# ---- the site and its nginx ----------------------------------------------------

my $site = eval { make_site($dir, $port, $payloads) };
die "soak: cannot set up: $@" unless $site;
write_site($site, $module, $rlimit);
# the back-channel peer that never answers: connections wait in its backlog
my $hole = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$site->{hole}", Listen => 1,
                                 ReuseAddr => 1)
    or die "soak: cannot listen on 127.0.0.1:$site->{hole}: $!\n";

my $started = eval { start_nginx($binary, $dir, $port) };
if (!$started) {
    print "soak: FAIL: could not run: $@";
    exit 1;
}
my $t0 = time;
my $deadline = $t0 + $seconds;
printf "soak: %d s, nginx %s (master %d), %d clients, %d fuzzers, seed %d, in %s\n",
    $seconds, $binary, $started, $clients, $fuzzers, $seed, $dir;

# ---- traffic and chaos, side by side ---------------------------------------------

children_init($dir, $seed);
sub reap_all { fail("did not stop in time: $_") for reap(@_) }

spawn('chaos', sub { run_chaos($deadline, $kill_every, $reload_every, $t0) });
spawn("client-$_", sub { run_client($site, $_, $deadline, "$dir/ledger/client-$_") })
    for 1 .. $clients;
spawn("fuzzer-$_", sub { run_fuzzer($site, $_, $fuzzers, $deadline) }) for 0 .. $fuzzers - 1;
spawn('expiry-1', sub { run_expiry($site, 1, $deadline, "$dir/ledger/expiry-1") });
reap_all($deadline + 60);
fail('the nginx master died during the run') unless master_alive();
my $load_stopped = time;

# ---- the ledger, once more, with no chaos --------------------------------------

my @sessions = grep { $_->{state} ne 'unknown' } read_ledger(glob "$dir/ledger/client-*");
my @live = grep { $_->{state} eq 'live' } @sessions;
my @ended = grep { $_->{state} eq 'ended' } @sessions;
my $final_bound = time + ($seconds > 240 ? $seconds / 4 : 60);
my @order = (@live, shuffle @ended);
for my $k (0 .. 3) {
    my @slice = @order[grep { $_ % 4 == $k } 0 .. $#order];
    spawn("final-$k", sub {
        final_check($site, \@slice, $final_bound, "$dir/ledger/final-$k");
    });
}
# meanwhile the outbox drains: every delivery done or given up, every
# session of the short zone expired; then each of those is refused
my $drain_bound = time + $site->{give_up} + $site->{short}{lifetime} + 60;
my @short = read_expiry(glob "$dir/ledger/expiry-*");
spawn('drain', sub {
    drain($site, $drain_bound) or return;
    final_expiry($site, \@short, "$dir/ledger/expiry-final");
});
reap_all(($final_bound > $drain_bound ? $final_bound : $drain_bound) + 30);
my $drained = time - $load_stopped;

# ---- the metrics at the end --------------------------------------------------------

my %pages = map { $_ => fetch_page($site, $_) } qw(soak short);
my @parsed;
for my $page (sort glob "$dir/metrics-*.txt $dir/metrics/*.txt") {
    my $out = `$FindBin::Bin/../t/support/prometheus_parse.py < '$page' 2>&1 >/dev/null`;
    if ($? == 0) {
        push @parsed, $page;
    } else {
        violation('metrics', "t/support/prometheus_parse.py refused $page: $out");
    }
}
my ($children) = load_stats($dir);
my @counter_lines = check_counters(\%pages, $children);

# ---- the end ---------------------------------------------------------------------

my $stopped = stop_nginx(60);
fail('nginx did not exit within 60 s of "nginx -s quit"') unless $stopped;
close $hole;
my $elapsed = time - $t0;

my %killed;
if (open my $k, '<', "$dir/killed") { chomp(my @p = <$k>); @killed{@p} = () }
my $logs = scan_logs({ map { $_ => 1 } keys %killed }, "$dir/error.log", "$dir/nginx.stderr");
check_tags("$dir/tags", $logs->{tagged});
check_tokens($site, "$dir/received.log", glob("$dir/ledger/client-*"), glob("$dir/ledger/final-*"),
             glob("$dir/ledger/expiry-*"));
save_stats();    # the driver's own counts
fail(@{ $logs->{failures} }[0 .. ($#{ $logs->{failures} } < 19 ? $#{ $logs->{failures} } : 19)],
     @{ $logs->{failures} } > 20 ? ('... ' . (@{ $logs->{failures} } - 20) . ' more log failures') : ())
    if @{ $logs->{failures} };

my @cores = grep { -f } glob("$dir/cores/*"), glob("$dir/core*");
if ($core_dir ne '') {    # core_pattern writes elsewhere: what appeared there
    push @cores, grep { -f && (stat)[9] >= $t0 && /nginx|core/ } glob("$core_dir/*");
}
fail("core file: $_") for @cores;

my ($c) = load_stats($dir);
my @violations;
if (open my $v, '<', "$dir/violations") { chomp(@violations = <$v>) }
fail(@violations[0 .. ($#violations < 19 ? $#violations : 19)],
     @violations > 20 ? ('... ' . (@violations - 20) . " more violations, in $dir/violations") : ())
    if @violations;

# ---- did it run? ---------------------------------------------------------------------

my $n = sub { $c->{ $_[0] } // 0 };
my $final_total = @live + @ended;
my @too_little = (
    [$n->('fuzz: requests') + $n->('fuzz: open-redirect payloads fired') >= 5 * $seconds,
     'fuzz requests (at least 5 a second)'],
    [$n->('requests: ledger login') >= $seconds / 2, 'ledger logins (at least one every 2 s)'],
    [$n->('ledger: live checked') > 0, 'live sessions checked'],
    [$n->('ledger: ended checked') > 0, 'ended sessions checked'],
    [$n->('fuzz: distinct payloads fired') == @{ $site->{payloads} },
     'open-redirect payloads fired (every one)'],
    [$n->('chaos: kills') > 0, 'workers killed'],
    [$n->('chaos: reloads') > 0, 'reloads'],
    [$n->('ledger: final checks') == $final_total, 'final ledger checks (every session)'],
    [$n->('requests: fuzz admin') > 0, 'fuzz requests at the admin API'],
    [$n->('requests: fuzz metrics') > 0, 'fuzz requests at the metrics page'],
    [$n->('upstream: forged tokens refused') > 0, 'forged logout tokens at the receiver'],
    [$n->('upstream: valid tokens accepted') > 0, 'valid logout tokens of the fuzzers'],
    [$n->('admin: sessions ended (seen)') > 0, 'sessions ended by the admin API'],
    [$n->('upstream: sessions ended (seen)') > 0, 'ledger sessions ended by the upstream provider'],
    [scalar(grep { /^expiry: sessions seen expired/ } keys %$c), 'short sessions seen expired'],
    [$n->('expiry: final checks') == @short, 'final checks of the short zone (every session)'],
    [$n->('tokens: verified') > 0, 'logout tokens at the applications'],
    [$n->('tokens: short sessions ended, token at app-a') > 0
     && $n->('tokens: short sessions ended, token at app-b') > 0,
     'tokens of expired sessions at the logging applications'],
    [$n->('log: tagged answers checked') > 0, 'log lines of the operators\' locations checked'],
    [@parsed >= 2, 'metrics pages parsed by t/support/prometheus_parse.py'],
);
fail("ran too little: $_->[1]") for map { $_->[0] ? () : $_ } @too_little;

# ---- the counts ------------------------------------------------------------------------

sub line { printf "  %-44s %10s\n", @_ }
sub group {
    my ($title, $prefix) = @_;
    print "$title\n";
    my @keys = sort grep { /^\Q$prefix\E/ } keys %$c;
    print "  none\n" unless @keys;
    line(substr($_, length $prefix), $c->{$_}) for @keys;
}

print "\n==== soak counts (", sprintf('%.0f', $elapsed), " s)\n";
group('requests by kind:', 'requests: ');
line('total', sum0(map { $c->{$_} } grep { /^requests: / } keys %$c));
group('responses by status:', 'status: ');
group('requests without a response:', 'no response: ');
print "fuzzing:\n";
line('fuzz requests (hostile)', $n->('fuzz: requests'));
line('open-redirect payload requests', $n->('fuzz: open-redirect payloads fired'));
line('distinct payloads fired', $n->('fuzz: distinct payloads fired') . ' of ' . @{ $site->{payloads} });
print "chaos:\n";
line('workers killed (kill -9)', $n->('chaos: kills'));
line('  their exits seen in the log', $logs->{kills_seen});
line('  zone locks they held, released by nginx', $logs->{locks_seen});
line('reloads', $n->('chaos: reloads'));
line('nginx -s quit: master exited', $stopped ? 'yes' : 'NO');
print "ledger:\n";
line('live sessions checked (200)', $n->('ledger: live checked'));
line('ended sessions checked (401)', $n->('ledger: ended checked'));
line('sessions unknown (a request got no answer)', $n->('ledger: sessions unknown'));
line('logins without response', $n->('ledger: logins without response'));
line('states returned checked', $n->('ledger: states checked'));
group('  logouts by way:', 'ledger: logouts by ');
line('final check: live (200)', $n->('ledger: live checked (final)') . ' of ' . @live);
line('final check: ended (401)', $n->('ledger: ended checked (final)') . ' of ' . @ended);
group('admin API:', 'admin: ');
group('the upstream provider\'s logout tokens:', 'upstream: ');
print "the short zone (idle $site->{short}{idle} s, lifetime $site->{short}{lifetime} s):\n";
line($_ =~ s/^expiry: //r, $c->{$_}) for sort grep { /^expiry: / } keys %$c;
print "operators' locations:\n";
line('fuzz requests (admin, metrics, receiver)', $n->('fuzz: operators requests'));
line('metrics pages parsed in the soak', $n->('metrics: pages parsed'));
line('  and by prometheus_parse.py', scalar @parsed);
line('answers whose log lines were checked', $n->('log: tagged answers checked'));
print "outbox:\n";
line('drained after the load stopped (s)', sprintf '%.0f', $drained);
line('logout tokens given up (log lines)', $logs->{given_up});
line('logout tokens dropped, outbox full (log lines)', $logs->{drops});
line(@$_) for @counter_lines;
print "tokens at the applications:\n";
line($_ =~ s/^tokens: //r, $c->{$_}) for sort grep { /^tokens: / } keys %$c;
print "checks:\n";
line('redirects checked', $n->('redirects checked'));
line('zone repairs (undid|rebuilt|was damaged)', $logs->{zone_repairs});
line('core files', scalar @cores);
print "  ($core_note)\n" if $core_note;
group('violations by kind:', 'violations: ');
print "error log lines by level:\n";
line($_, $logs->{levels}{$_}) for sort keys %{ $logs->{levels} };
group("5xx responses by request kind (not failures by themselves):", "5xx: ");

if (@failures) {
    print "\nsoak: FAIL\n";
    print "  $_\n" for @failures;
    exit 1;
}
print "\nsoak: PASS\n";
exit 0;
