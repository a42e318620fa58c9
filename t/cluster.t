# Three nginx nodes share their sessions through one redis-server
# (oidc_logout_zone ... redis=), which the script starts itself with an
# append-only file synced at every write:
#  a. a session started on node 1, joined on node 2 and used on node 3 ends
#     on all three when it logs out on node 2; its application is told once;
#  b. thirty sessions, each joined to two applications through different
#     nodes, end by a logout, the admin API of another node or idle expiry
#     (decided once, by Redis, while every node holds the session in its
#     cache): each application gets one token per session, none twice;
#  c. Redis is killed (SIGKILL) and started again on its files in the
#     middle of a login and logout load over the three nodes: afterwards
#     every session of the ledger is live or ended on all three, as its
#     last answered step says, and each node logs the outage once and its
#     end once;
#  d. while Redis is down, the nodes accept the live sessions they hold,
#     and a logout on one node is enforced on the others once it is back.
#
# Ports: Redis 2090; node n serves zone "sso" on 2090+n and zone "idle"
# (idle=2s) on 2093+n; the applications A and B are one plain nginx on
# 2097 that logs each token it receives (t/conf/token_receiver.conf).
#
# A plain Test::More script (sessions across requests and nodes, peers that
# stop and start); it reads TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES
# like the suites, and REDIS_SERVER (default /usr/bin/redis-server).
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx qw(main_context session_cookie module_path nginx_t);
use Peers;
use EndChecks;
use Crypt::PK::RSA;
use HTTP::Tiny;
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

module_path();    # stops the run at once when the module is not named
my $here   = abs_path(dirname(__FILE__));
my $root   = "$here/servroot-cluster";
my $t_conf = "$here/conf";
my $binary = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $redis_server = $ENV{REDIS_SERVER} || '/usr/bin/redis-server';
-x $redis_server
    or BAIL_OUT("$redis_server is missing: run ./build.sh test, which installs redis-server");

my $redis_port = 2090;
my $apps_port  = 2097;
my @nodes      = (1, 2, 3);
my $issuer     = 'http://127.0.0.1:2091';
my $json       = JSON::PP->new->canonical;

my $key = Crypt::PK::RSA->new;
$key->generate_key(256);

# ---- helpers ---------------------------------------------------------------

sub port_of {
    my ($node, $zone) = @_;
    return ($zone // 'sso') eq 'idle' ? 2093 + $node : 2090 + $node;
}

# One request to node's server of zone (sso by default), on a connection
# of its own.
sub at {
    my ($node, $path, $cookie, %o) = @_;
    my %h = $cookie ? (Cookie => "oidc_session=$cookie") : ();
    my $url = 'http://127.0.0.1:' . port_of($node, $o{zone}) . $path;
    return HTTP::Tiny->new(keep_alive => 0, max_redirect => 0, timeout => 10)
        ->request($o{method} // 'GET', $url, { headers => \%h });
}

sub status_at { at(@_)->{status} }

# Asks each [node, cookie, zone] of checks for its /app until it answers
# the status of the check, all of them in turns, for up to seconds: the
# checks that never did, each with the status it had last.
sub converge {
    my ($seconds, @checks) = @_;
    my $deadline = time + $seconds;
    my @left = @checks;
    for (;;) {
        for my $c (@left) {
            my ($node, $cookie, $zone, $want) = @$c{qw(node cookie zone want)};
            $c->{got} = status_at($node, '/app', $cookie, zone => $zone);
        }
        @left = grep { $_->{got} != $_->{want} } @left;
        return @left if !@left || time > $deadline;
        sleep 0.05;
    }
}

# The checks of converge: each session on every node, with the status it
# must have.
sub on_every_node {
    my ($want, @sessions) = @_;
    return map { my $s = $_; map { { %$s, node => $_, want => $want } } @nodes } @sessions;
}

# A session of user started on node, with each [client, node] joined: its
# cookie and sid (asked of the node of the last join).
sub sign_in {
    my ($zone, $node, $user, @joins) = @_;
    my $cookie = session_cookie(at($node, "/login?user=$user", undef, zone => $zone))
        or BAIL_OUT("node $node: no session cookie for $user");
    my $last = $node;
    for my $join (@joins) {
        my ($client, $at) = @$join;
        is(status_at($at, "/authorize?client_id=$client", $cookie, zone => $zone), 200,
           "node $at joins $client to the session of $user");
        $last = $at;
    }
    my $res = at($last, '/app', $cookie, zone => $zone);
    is($res->{status}, 200, "node $last accepts the session of $user");
    return ($cookie, $res->{headers}{'x-sid'} // '');
}

# ---- the applications' tokens ------------------------------------------------

my $received_log = "$root/apps/received.log";

# The tokens the applications received.
sub received { logged_tokens($received_log, $key) }

# Every user has sessions of its own name: client => sub => sid (or '' when
# the test does not know it) of the tokens the applications must get, once;
# and those of the part of the script under way, [client, sub] each.
my (%expected, @part);

sub expect {
    my ($client, $sub, $sid) = @_;
    $expected{$client}{$sub} = $sid // '';
    push @part, [ $client, $sub ];
}

sub tokens_for {
    my ($client, $sub) = @_;
    return grep { $_->{client} eq $client && $_->{claims}
                  && ($_->{claims}{sub} // '') eq $sub } received();
}

# Passes when list is empty, and lists it all when not.
sub none {
    my ($what, @list) = @_;
    ok(!@list, $what) or diag(join "\n", @list);
}

# A sample of node's metrics page for zone: -1 when the page has none.
sub metric {
    my ($node, $zone, $name, %labels) = @_;
    $labels{zone} = $zone;
    return page_sample(at($node, '/metrics', undef, zone => $zone)->{content}, $name, %labels);
}

sub nothing_pending {
    for my $node (@nodes) {
        for my $zone (qw(sso idle)) {
            return 0 if metric($node, $zone, 'oidc_logout_backchannel_pending_deliveries') != 0;
        }
    }
    return 1;
}

sub missing_tokens {
    return map { "$_->[0] for $_->[1]" } grep { !tokens_for(@$_) } @part;
}

# Waits until every token the part expects has arrived and no node has a
# delivery pending, then until a witness session that no request touches
# has expired in zone idle and its token has arrived too: at least two
# seconds of every node's sweeps after the last end. Then every token that
# was to come has come.
my $witnesses = 0;
sub settle {
    my ($what) = @_;
    eventually(sub { !missing_tokens() }, 20);
    none("$what: every expected token arrived", missing_tokens());
    ok(eventually(\&nothing_pending), "$what: no node has a delivery pending");
    my $user = 'witness' . ++$witnesses;
    my (undef, $sid) = sign_in('idle', 1, $user, [ 'A', 1 ]);
    expect('A', $user, $sid);
    ok(eventually(sub { tokens_for('A', $user) }, 15),
       "$what: then a later session expired and reached A");
}

# Each (client, sub) that the part expects got one token, which verifies
# and names its sid; no session that did not end got any (each named once
# in the script).
my %stray_told;
sub every_token_once {
    my ($what) = @_;
    my @tokens = received();
    is(scalar(grep { !$_->{claims} } @tokens), 0, "$what: every token verifies");
    my %count;
    $count{ $_->{client} }{ $_->{claims}{sub} }++ for grep { $_->{claims} } @tokens;
    none("$what: a token for every session that ended, to each of its applications",
         map { "$_->[0] for $_->[1]" } grep { !$count{ $_->[0] }{ $_->[1] } } @part);
    none("$what: none twice",
         map { "$_->[0] for $_->[1]: $count{ $_->[0] }{ $_->[1] }" }
         grep { ($count{ $_->[0] }{ $_->[1] } // 0) > 1 } @part);
    none("$what: none for a session that did not end",
         grep { !$stray_told{$_}++ }
         map { my $c = $_; map { "$c for $_" } grep { !exists $expected{$c}{$_} }
                                             sort keys %{ $count{$c} } } sort keys %count);
    none("$what: each token names the sid of its session",
         map { my ($c, $sub) = @$_; my $sid = $expected{$c}{$sub};
               map { "$c for $sub: $_->{claims}{sid}, not $sid" }
               grep { $_->{claims}{sid} ne $sid } tokens_for($c, $sub) }
         grep { $expected{ $_->[0] }{ $_->[1] } ne '' } @part);
    @part = ();
}

# ---- the error logs ------------------------------------------------------------

sub error_log_of { slurp("$root/node$_[0]/error.log") }

# Where each node's error log ends now.
sub log_marks { return { map { ($_, length error_log_of($_)) } @nodes } }

sub log_since {
    my ($node, $marks) = @_;
    return substr(error_log_of($node), $marks->{$node});
}

sub outage_re {
    my ($zone) = @_;
    return qr/oidc_logout: zone "$zone": redis 127\.0\.0\.1:$redis_port unreachable: [^;\n]+; going on with this node's sessions/;
}

sub back_re {
    my ($zone) = @_;
    return qr/oidc_logout: zone "$zone": redis 127\.0\.0\.1:$redis_port reachable again/;
}

# Polls until every node's log since marks has a line of re_of(zone) for
# both zones.
sub all_nodes_logged {
    my ($marks, $re_of, $seconds) = @_;
    return eventually(sub {
        !grep { my $log = log_since($_, $marks);
                grep { $log !~ $re_of->($_) } qw(sso idle) } @nodes
    }, $seconds);
}

# Each node logged the outage since marks once, and its end once, for each
# zone.
sub outage_logged_once {
    my ($marks, $what) = @_;
    for my $node (@nodes) {
        my $log = log_since($node, $marks);
        for my $zone (qw(sso idle)) {
            my $down = () = $log =~ /${\ outage_re($zone)}/g;
            my $back = () = $log =~ /${\ back_re($zone)}/g;
            is_deeply([ $down, $back ], [ 1, 1 ],
                      "$what: node $node logged zone $zone unreachable once, reachable again once")
                or diag(join "\n", grep { /redis/ } split /\n/, $log);
        }
    }
}

# ---- the processes ---------------------------------------------------------------

remove_tree($root);
make_path("$root/redis");

sub write_json {
    my ($file, $doc) = @_;
    write_file($file, $json->encode($doc));
}

write_json("$root/keys.json",
           { keys => [{ %{ $key->export_key_jwk('private', 1) }, kid => 'k1' }] });
write_json("$root/clients.json", [
    map { { client_id => $_, redirect_uris => ["https://$_.example.com/cb"],
            backchannel_logout_uri => "http://127.0.0.1:$apps_port/bc/$_" } } qw(A B) ]);

# On the same data directory each time: the append-only file brings the
# data back.
sub start_redis {
    spawn('redis', "$root/redis/redis.log", {}, $redis_server,
          '--bind', '127.0.0.1', '--port', $redis_port, '--dir', "$root/redis",
          '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
          '--daemonize', 'no');
    wait_listening('redis', $redis_port, "$root/redis/redis.log");
}

# The steps of a session (t/conf/session_steps.conf) and its ends
# (t/conf/session_ends.conf), for zone on node.
sub node_server {
    my ($node, $zone) = @_;
    my $port = port_of($node, $zone);
    return <<"_EOC_";
    server {
        listen 127.0.0.1:$port;
        oidc_logout_session zone=$zone secure=off;
        include $t_conf/session_steps.conf;
        include $t_conf/session_ends.conf;
    }
_EOC_
}

# Every node has the same configuration but its ports.
sub start_node {
    my ($node) = @_;
    my $dir = "$root/node$node";
    make_path("$dir/logs");
    my $redis = "redis=127.0.0.1:$redis_port";
    write_file("$dir/nginx.conf", main_context($dir, 2) . <<"_EOC_" . node_server($node, 'sso') . node_server($node, 'idle') . "}\n");
http {
    access_log off;
    oidc_logout_issuer $issuer;
    oidc_logout_keys $root/keys.json;
    oidc_logout_clients $root/clients.json;
    oidc_logout_zone zone=sso:1m $redis;
    oidc_logout_zone zone=idle:1m idle=2s $redis redis_prefix=idle:;
_EOC_
    spawn("node$node", "$dir/stdout.log", {}, $binary, '-p', "$dir/", '-c',
          "$dir/nginx.conf", '-e', "$dir/error.log");
    wait_listening("node$node", port_of($node, $_), "$dir/stdout.log", "$dir/error.log")
        for qw(sso idle);
}

# ---- nginx -t ------------------------------------------------------------------------

{
    my %refused = (
        'redis_password= without redis=' =>
            [ 'oidc_logout_zone zone=sso:1m redis_password=x;',
              qr/\[emerg\] oidc_logout: "redis_password=" and "redis_prefix=" in "oidc_logout_zone" need "redis=HOST:PORT"/, 5 ],
        'redis= twice' =>
            [ 'oidc_logout_zone zone=sso:1m redis=127.0.0.1:1 redis=127.0.0.1:2;',
              qr/\[emerg\] oidc_logout: "redis=" is given twice in "oidc_logout_zone"/, 5 ],
        'a redis_prefix= of 201 bytes' =>
            [ 'oidc_logout_zone zone=sso:1m redis=127.0.0.1:1 redis_prefix=' . ('p' x 201) . ';',
              qr/\[emerg\] oidc_logout: "redis_prefix=" in "oidc_logout_zone" is longer than 200 bytes/, 5 ],
        'a redis= that is no address' =>
            [ 'oidc_logout_zone zone=sso:1m redis=127.0.0.1:99999;',
              qr/\[emerg\] oidc_logout: invalid redis address "127\.0\.0\.1:99999" in "oidc_logout_zone"/, 5 ],
        'two zones under one prefix' =>
            [ "oidc_logout_zone zone=a:1m redis=127.0.0.1:1 redis_prefix=x:;\n"
              . "oidc_logout_zone zone=b:1m redis=127.0.0.1:1 redis_prefix=x:;\n"
              . 'oidc_logout_session zone=a;',
              qr/\[emerg\] oidc_logout: zones "a" and "b" use the same redis 127\.0\.0\.1:1 and redis_prefix "x:": their sessions would mix/, 6 ],
    );
    for my $what (sort keys %refused) {
        my ($http, $re, $line) = @{ $refused{$what} };
        my ($out, $ok, $file) = nginx_t("$root-t", $http);
        ok(!$ok, "nginx -t refuses $what");
        like($out, qr/$re.* in \Q$file\E:$line$/m, "$what: why, at the line of the zone");
    }
}

start_redis();
start_token_receiver('apps', "$root/apps", $apps_port);
start_node($_) for @nodes;

# ---- a. one session, three nodes -------------------------------------------------

{
    my $cookie = session_cookie(at(1, '/login?user=alice'))
        or BAIL_OUT('node 1: no session cookie');
    is(status_at(2, '/authorize?client_id=A', $cookie), 200,
       'a: node 2 joins A to the session started on node 1');
    my $res = at(3, '/app', $cookie);
    is($res->{status}, 200, 'a: node 3 accepts it');
    is($res->{headers}{'x-sub'}, 'alice', 'a: as the session of alice');
    my $sid = $res->{headers}{'x-sid'};
    is(at(1, '/app', $cookie)->{headers}{'x-sid'}, $sid, 'a: node 1 knows it by the same sid');
    is(status_at(2, '/logout', $cookie), 200, 'a: logout through node 2');
    expect('A', 'alice', $sid);
    is(status_at(2, '/app', $cookie), 401, 'a: node 2 refuses the cookie at once');
    for my $node (1, 3) {
        ok(eventually(sub { status_at($node, '/app', $cookie) == 401 }, 5),
           "a: node $node refuses the cookie within 5 s")
            or diag(tail("$root/node$node/error.log"));
    }
    settle('a');
    my @t = tokens_for('A', 'alice');
    is(scalar @t, 1, 'a: A got exactly one token');
    check_token($t[0], $issuer, 'A', $sid, 'alice', 'a: the token of A') if @t;
    is(scalar tokens_for('B', 'alice'), 0, 'a: B, which never joined, got none');
    every_token_once('a');
}

# ---- a join the instant the login was answered -----------------------------------------

{
    # the browser may be faster than the login's write to Redis: node 2
    # asks again for a cookie Redis has never heard of
    my $marks = log_marks();
    my @refused;
    for my $i (1 .. 100) {
        my $cookie = session_cookie(at(1, "/login?user=quick$i"))
            or BAIL_OUT("node 1: no session cookie for quick$i");
        my $status = status_at(2, '/authorize?client_id=A', $cookie);
        push @refused, "quick$i: $status" if $status != 200;
    }
    none('a: node 2 answers each join sent as node 1 answers the login', @refused);
    none('a: and each of the 100 joins takes',
         grep { /not joined/ } split /\n/, log_since(2, $marks));
}

# ---- b. exactly once, three nodes --------------------------------------------------

{
    # session i: started on node x, joined to A and B through two other
    # nodes, so that all three hold it; except those that the admin API
    # ends, whose node z never saw them
    my @sessions;
    for my $i (0 .. 29) {
        my $how  = (qw(logout admin idle))[ $i % 3 ];
        my $zone = $how eq 'idle' ? 'idle' : 'sso';
        my $x = ($i + int($i / 3)) % 3 + 1;
        my $y = $x % 3 + 1;
        my $z = $y % 3 + 1;
        my @joins = $how eq 'admin' ? ([ 'A', $x ], [ 'B', $y ]) : ([ 'A', $y ], [ 'B', $z ]);
        my $user = "user$i";
        my ($cookie, $sid) = sign_in($zone, $x, $user, @joins);
        # the logouts go to the node of the login, of A's join or of B's
        my $end = $how eq 'logout' ? ($x + int($i / 9)) % 3 + 1 : $z;
        push @sessions, { user => $user, cookie => $cookie, sid => $sid, how => $how,
                          zone => $zone, end => $end };
        expect($_, $user, $sid) for qw(A B);
    }
    for my $s (grep { $_->{how} ne 'idle' } @sessions) {
        if ($s->{how} eq 'logout') {
            is(status_at($s->{end}, '/logout', $s->{cookie}), 200,
               "b: $s->{user} logs out through node $s->{end}");
        } else {
            my $res = at($s->{end}, "/admin/sessions?sub=$s->{user}", undef, method => 'DELETE');
            is_deeply([ $res->{status}, eval { decode_json($res->{content}) } ],
                      [ 200, { ended => 1 } ],
                      "b: node $s->{end}, which never saw it, ends the session of $s->{user}");
        }
    }
    my @idle = grep { $_->{how} eq 'idle' } @sessions;
    none('b: every node refuses the sessions that logged out or that the admin API ended',
         map { "$_->{user} ($_->{how}) on node $_->{node}: $_->{got}" }
         converge(5, on_every_node(401, grep { $_->{how} ne 'idle' } @sessions)));
    # the idle ones expire in Redis a few seconds after their last step
    # (a request would touch them): their applications are told
    ok(eventually(sub { !grep { !tokens_for('A', $_->{user}) && !tokens_for('B', $_->{user}) }
                        @idle }, 20),
       'b: the idle sessions expired');
    none('b: then every node refuses them',
         map { "$_->{user} on node $_->{node}: $_->{got}" } converge(5, on_every_node(401, @idle)));
    settle('b');
    every_token_once('b');
}

# ---- d. Redis down: the nodes go on ---------------------------------------------------

{
    my ($live, $live_sid) = sign_in('sso', 1, 'dora', [ 'A', 2 ]);
    my ($gone, $gone_sid) = sign_in('sso', 1, 'gus', [ 'A', 2 ]);
    for my $node (@nodes) {
        is(status_at($node, '/app', $_), 200, "d: node $node holds the session") for $live, $gone;
    }
    my $marks = log_marks();
    kill_peer('redis');
    ok(all_nodes_logged($marks, \&outage_re), 'd: every node says Redis is unreachable')
        or diag(map { tail("$root/node$_/error.log") } @nodes);
    is(status_at($_, '/app', $live), 200,
       "d: node $_ still accepts the live session it holds") for @nodes;
    is(status_at(2, '/logout', $gone), 200, 'd: gus logs out through node 2 meanwhile');
    is(status_at(2, '/app', $gone), 401, 'd: node 2 refuses his cookie at once');
    expect('A', 'gus', $gone_sid);

    start_redis();
    ok(all_nodes_logged($marks, \&back_re), 'd: every node says Redis is reachable again')
        or diag(map { tail("$root/node$_/error.log") } @nodes);
    for my $node (1, 3) {
        ok(eventually(sub { status_at($node, '/app', $gone) == 401 }, 5),
           "d: node $node refuses the cookie of gus within 5 s of Redis's return")
            or diag(tail("$root/node$node/error.log"));
    }
    is(status_at($_, '/app', $live), 200, "d: node $_ still accepts dora") for @nodes;
    outage_logged_once($marks, 'd');
    settle('d');
    every_token_once('d');
}

# ---- c. Redis killed in the middle of a load -------------------------------------------

# A load client: signs users in on each node in turn (each joined to A
# there), uses each session on the next node, and logs out one of its live
# sessions on a random node half of the time; each step and its answer go
# to its ledger, a line each.
sub load_client {
    my ($c, $stop) = @_;
    srand(1000 + $c);
    open my $ledger, '>', "$root/load$c.log" or POSIX::_exit(1);
    $ledger->autoflush(1);
    my @live;
    # 500 sessions at the most, whatever happens
    # a line: step, when it started, user, node, status (cookie)
    my $step = sub {
        my ($step, $user, $node, $path, $cookie) = @_;
        my $t0 = time;
        my $res = at($node, $path, $cookie);
        printf $ledger "%s %.3f %s %d %d%s\n", $step, $t0, $user, $node, $res->{status},
            $step eq 'login' ? ' ' . (session_cookie($res) // '-') : '';
        return $res;
    };
    for (my $j = 1; $j <= 500 && !-e $stop; $j++) {
        my $n = ($c + $j) % 3 + 1;
        my $user = "load$c-$j";
        my $cookie = session_cookie($step->('login', $user, $n, "/login?user=$user")) or next;
        $step->('join', $user, $n, '/authorize?client_id=A', $cookie);
        push @live, [ $user, $cookie ];
        $step->('require', $user, $n % 3 + 1, '/app', $cookie);
        next unless @live > 3 && rand() < 0.5;
        my ($u, $k) = @{ splice @live, int rand @live, 1 };
        my $l = int(rand 3) + 1;
        $step->('logout', $u, $l, '/logout', $k);
        $step->('require', $u, $l, '/app', $k);
    }
    close $ledger;
    POSIX::_exit(0);
}

# The ledgers, with the time of the kill: user => { user, cookie, start
# (node of the login), seen (nodes that accepted it), out (node of the
# answered logout), held (whether it had accepted the session before),
# when (the logout's, from the kill) }; and the steps that went wrong.
sub read_ledgers {
    my ($killed) = @_;
    my (%session, @wrong);
    for my $c (1 .. 3) {
        for my $line (split /\n/, slurp("$root/load$c.log")) {
            my ($step, $t0, $user, $node, $status, $cookie) = split / /, $line;
            my $s = $session{$user} //= { user => $user, seen => {} };
            if ($step eq 'login') {
                @$s{qw(cookie start)} = ($cookie, $node);
                $s->{seen}{$node} = 1 if $cookie ne '-';
                push @wrong, "$line (no cookie)" if $cookie eq '-';
            } elsif ($step eq 'join') {
                push @wrong, $line if $status != 200;
            } elsif ($step eq 'require') {
                $s->{seen}{$node} = 1 if $status == 200;
                # where it logged out, it is refused at once
                push @wrong, "$line (after its logout there)"
                    if defined $s->{out} && $s->{out} == $node && $status != 401;
            } elsif ($step eq 'logout') {
                push @wrong, $line if $status != 200;
                $s->{out} = $node;
                $s->{held} = $s->{seen}{$node} ? 'held' : 'did not hold';
                $s->{when} = sprintf '%.2f s after the kill', $t0 - $killed;
            }
        }
    }
    delete $session{$_} for grep { ($session{$_}{cookie} // '-') eq '-' } keys %session;
    return (\%session, \@wrong);
}

sub logins {
    my $n = 0;
    $n += () = slurp("$root/load$_.log") =~ /^login /mg for 1 .. 3;
    return $n;
}

{
    my $stop = "$root/load.stop";
    my @clients;
    for my $c (1 .. 3) {
        my $pid = fork() // BAIL_OUT("fork: $!");
        load_client($c, $stop) if $pid == 0;
        push @clients, $pid;
    }
    ok(eventually(sub { logins() >= 60 }, 30), 'c: the load runs');
    my $marks = log_marks();
    my $killed = time;
    kill_peer('redis');
    my $at_kill = logins();
    ok(eventually(sub { all_nodes_logged($marks, \&outage_re, 0) && logins() >= $at_kill + 60 }, 30),
       'c: every node says Redis is unreachable, and the load goes on')
        or diag(map { tail("$root/node$_/error.log") } @nodes);
    my $back = time;
    start_redis();
    ok(all_nodes_logged($marks, \&back_re), 'c: every node says Redis is reachable again')
        or diag(map { tail("$root/node$_/error.log") } @nodes);
    my $reconnected = time;
    my $at_return = logins();
    ok(eventually(sub { logins() >= $at_return + 60 }, 30), 'c: the load goes on after it');
    write_file($stop, '');
    waitpid($_, 0) for @clients;

    my ($sessions, $wrong) = read_ledgers($killed);
    diag(sprintf 'c: Redis started again %.2f s after the kill; every node said it was'
                 . ' reachable again %.2f s after the kill', $back - $killed, $reconnected - $killed);
    none('c: every step of the load was answered as it should', @$wrong);
    my @users = sort keys %$sessions;
    my @out = grep { defined $sessions->{$_}{out} } @users;
    my @live = grep { !defined $sessions->{$_}{out} } @users;
    cmp_ok(scalar @out, '>=', 20, 'c: the ledger has sessions that logged out');
    cmp_ok(scalar @live, '>=', 20, 'c: and sessions still live');

    # asked for 5 s: the ends and the sessions of the outage reach Redis
    # after its return
    my @left = converge(5, on_every_node(401, map { $sessions->{$_} } @out),
                           on_every_node(200, map { $sessions->{$_} } @live));
    none('c: every session that logged out is refused by all three nodes',
         map { "$_->{user} (started on node $_->{start}; logged out $_->{when} on node"
               . " $_->{out}, which $_->{held} it) is accepted by node $_->{node}" }
         grep { $_->{want} == 401 } @left);
    none('c: every live session is accepted by all three nodes',
         map { "$_->{user} (started on node $_->{start}) is refused by node $_->{node}" }
         grep { $_->{want} == 200 } @left);
    outage_logged_once($marks, 'c');

    expect('A', $_) for @out;
    settle('c');
    every_token_once('c');
}

# ---- the nodes' logs ------------------------------------------------------------------

for my $node (@nodes) {
    my $log = error_log_of($node);
    unlike($log, qr/\[(alert|crit|emerg)\]/, "node $node: no alert in the error log");
    unlike($log, qr/exited on signal/, "node $node: no worker crashed");
}

done_testing();
