# Every end of a session reaches its applications, whoever ends it: idle
# expiry found by the workers' sweep (no request touches the session),
# eviction from a full zone, an operator through the admin API, a logout
# whose application is down (kept in the zone, delivered with a fresh token
# once it is back, across a reload; given up after
# oidc_logout_backchannel_give_up). notify=off keeps expiry and eviction
# quiet. The metrics page parses with a real Prometheus parser and its
# counters follow. nginx -t warns of an open admin location and refuses
# what cannot work.
#
# Two workers. App A is a server of this nginx, app B a plain nginx of its
# own (it goes down and comes back); each logs the bodies it receives.
#
# A plain Test::More script (sessions across requests, a peer that stops
# and starts); it reads TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES like
# the suites.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx;
use Peers;
use EndChecks;
use Crypt::PK::RSA;
use HTTP::Tiny;
use IPC::Open2 qw(open2);
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

module_path();    # stops the run at once when the module is not named
my $here   = abs_path(dirname(__FILE__));
my $root   = "$here/servroot-ends";
my $t_conf = "$here/conf";
my $parser = "$here/support/prometheus_parse.py";
my $json   = JSON::PP->new->canonical;

# one server a zone; the applications; a port nobody listens on
my %port = (idle => 2060, small => 2061, quiet => 2062, quietfull => 2063,
            sso => 2064, appA => 2065, appB => 2066, dead => 2067);
my $issuer = "http://127.0.0.1:$port{sso}";

my $key = Crypt::PK::RSA->new;
$key->generate_key(256);

# ---- helpers ---------------------------------------------------------------

sub request {
    my ($method, $port, $path, $cookie) = @_;
    my %h = $cookie ? (Cookie => "oidc_session=$cookie") : ();
    return HTTP::Tiny->new(keep_alive => 0, max_redirect => 0, timeout => 10)
        ->request($method, "http://127.0.0.1:$port$path", { headers => \%h });
}

sub json_of {
    my ($res) = @_;
    return eval { decode_json($res->{content}) } // {};
}

# A session of user on zone's server with the clients joined: its cookie
# and sid.
sub sign_in {
    my ($zone, $user, @clients) = @_;
    my $cookie = session_cookie(request('GET', $port{$zone}, "/login?user=$user"))
        or BAIL_OUT("$zone: no session cookie for $user");
    for my $client (@clients) {
        my $res = request('GET', $port{$zone}, "/authorize?client_id=$client", $cookie);
        $res->{status} == 200 or BAIL_OUT("$zone: join $client: $res->{status}");
    }
    my $sid = request('GET', $port{$zone}, '/app', $cookie)->{headers}{'x-sid'}
        or BAIL_OUT("$zone: no sid for $user");
    return ($cookie, $sid);
}

# The tokens an application received.
sub received {
    my ($file) = @_;
    return logged_tokens($file, $key);
}

my %log = (A => "$root/received.log", B => "$root-appB/received.log");

# client => sid => sub: the tokens the applications should get, once each
my %expected;

sub expect {
    my ($client, $sid, $sub) = @_;
    $expected{$client}{$sid} = $sub;
}

# The tokens of client that carry sid.
sub tokens_for {
    my ($client, $sid) = @_;
    return grep { $_->{claims} && ($_->{claims}{sid} // '') eq $sid }
           received($log{$client});
}

# The metrics page of zone's server through the real parser: a hash of
# 'name{labels}' => value; a page that does not parse fails a test.
sub metrics {
    my ($zone) = @_;
    my $page = request('GET', $port{$zone}, '/metrics')->{content};
    my $pid = open2(my $out, my $in, $parser);
    print $in $page;
    close $in;
    my @lines = <$out>;
    waitpid($pid, 0);
    my $status = $? >> 8;
    is($status, 0, "$zone: the metrics page parses") or diag($page);
    return { map { /^(\S+) (\S+)$/ ? ($1, $2) : () } @lines };
}

# One sample of a parsed page: name and labels (zone added).
sub sample {
    my ($page, $zone, $name, %labels) = @_;
    $labels{zone} = $zone;
    my $key = $name . '{'
        . join(',', map { qq($_="$labels{$_}") } sort keys %labels) . '}';
    return $page->{$key} // BAIL_OUT("no sample $key on the metrics page");
}

# A sample read straight from the page, for the loops that poll it: -1
# when the page has none.
sub counter {
    my ($zone, $name, %labels) = @_;
    return page_sample(request('GET', $port{$zone}, '/metrics')->{content}, $name, %labels);
}

sub ended_by {
    my ($zone, $cause) = @_;
    return counter($zone, 'oidc_logout_session_ends_total', cause => $cause);
}

sub delivered {
    my ($zone, $client, $outcome) = @_;
    return counter($zone, 'oidc_logout_backchannel_deliveries_total',
                   client => $client, outcome => $outcome // 'delivered');
}

# Signs users in on zone's server, each with client A, until the zone has
# evicted one: their cookies and sids, oldest first.
sub fill_until_evicted {
    my ($zone) = @_;
    my (@cookies, @sids);
    for my $i (1 .. 1000) {
        my ($cookie, $sid) = sign_in($zone, "filler$i", 'A');
        push @cookies, $cookie;
        push @sids, $sid;
        return (\@cookies, \@sids) if ended_by($zone, 'evicted') > 0;
    }
    BAIL_OUT("$zone: 1000 sessions and none evicted");
}

# ---- the configurations ----------------------------------------------------

# An application: t/conf/token_receiver.conf logs what it receives.
sub app_server {
    my ($port) = @_;
    return <<"_EOC_";
    server {
        listen 127.0.0.1:$port;
        include $t_conf/token_receiver.conf;
    }
_EOC_
}

sub write_json {
    my ($file, $doc) = @_;
    write_file($file, $json->encode($doc));
}

sub client_entry {
    my ($id, $port) = @_;
    return { client_id => $id, redirect_uris => ["https://$id.example.com/cb"],
             backchannel_logout_uri => "http://127.0.0.1:$port/bc/$id" };
}

# The steps of each zone's server: t/conf/session_steps.conf and
# t/conf/session_ends.conf (a logout, the metrics and the admin API).
sub zone_server {
    my ($zone, $extra) = @_;
    $extra //= '';
    return <<"_EOC_";
    server {
        listen 127.0.0.1:$port{$zone};
        $extra
        oidc_logout_session zone=$zone secure=off;
        include $t_conf/session_steps.conf;
        include $t_conf/session_ends.conf;
    }
_EOC_
}

# The test nginx in dir: the clients' registry, the zones and the servers.
sub http_config {
    my ($dir, $clients, $zones, @servers) = @_;
    write_json("$dir/keys.json",
               { keys => [{ %{ $key->export_key_jwk('private', 1) }, kid => 'k1' }] });
    write_json("$dir/clients.json", $clients);
    return main_context($dir, 2) . <<"_EOC_" . join('', @servers) . "}\n";
http {
    access_log off;
    log_format token '\$request_uri \$request_body';
    oidc_logout_issuer $issuer;
    oidc_logout_keys $dir/keys.json;
    oidc_logout_clients $dir/clients.json;
    oidc_logout_backchannel_timeout 1s;
    oidc_logout_backchannel_retries 0;
$zones
_EOC_
}

# App A's server comes first: the first server with back-channel clients
# delivers what the zones' sweeps end. 64k zones fill after about a hundred
# sessions (the store does not fit in the 32k that oidc_logout_zone
# accepts).
sub main_config {
    my ($dir) = @_;
    return http_config($dir, [ client_entry('A', $port{appA}), client_entry('B', $port{appB}) ],
                       <<'_EOC_', app_server($port{appA}), map { zone_server($_) } qw(idle small quiet quietfull sso));
    oidc_logout_zone zone=idle:1m idle=2s;
    oidc_logout_zone zone=small:64k;
    oidc_logout_zone zone=quiet:1m idle=2s notify=off;
    oidc_logout_zone zone=quietfull:64k notify=off;
    oidc_logout_zone zone=sso:1m;
_EOC_
}

# App B: a plain nginx of its own, which stops and starts again (its log
# goes on).
remove_tree("$root-appB");
sub start_app_b { start_token_receiver('appB', "$root-appB", $port{appB}) }

# ---- nginx -t ----------------------------------------------------------------

{
    # the admin location is line 9 of the file
    my $admin = <<'_EOC_';
oidc_logout_zone zone=sso:1m;
server {
    listen 2069;
    oidc_logout_session zone=sso;
    location /admin/ { %s oidc_logout_admin; }
}
_EOC_
    my ($out, $ok, $file) = nginx_t("$root-t", sprintf $admin, '');
    ok($ok, 'nginx -t: an open admin location passes');
    like($out, qr/\[warn\] oidc_logout: "oidc_logout_admin" is open to every client: restrict it with allow and deny.* in \Q$file\E:9$/m,
         'with a warning that names the file and line');
    ($out, $ok) = nginx_t("$root-t", sprintf $admin, 'allow 127.0.0.1; deny all;');
    ok($ok, 'nginx -t: a restricted admin location passes');
    unlike($out, qr/open to every client/, 'without a warning');
    # rules that let strangers in restrict nobody
    for my $open ('deny 203.0.113.7;', 'deny 203.0.113.7; allow all;',
                  'satisfy any; allow all; auth_request /auth;') {
        ($out, $ok) = nginx_t("$root-t", sprintf $admin, $open);
        like($out, qr/"oidc_logout_admin" is open to every client/,
             "nginx -t warns for an admin location with: $open");
    }
    ($out, $ok) = nginx_t("$root-t", sprintf $admin, 'auth_request /auth;');
    unlike($out, qr/open to every client/, 'and not with auth_request');

    my %refused = (
        'a receiver without oidc_logout_keys_url' => [ <<'_EOC_',
oidc_logout_zone zone=sso:1m;
oidc_logout_issuer https://sso.example.com;
oidc_logout_upstream_client_id nginx;
server {
    listen 127.0.0.1:2069;
    oidc_logout_session zone=sso;
    location = /bc { oidc_logout_backchannel_receiver; }
}
_EOC_
            qr/\[emerg\] oidc_logout: "oidc_logout_backchannel_receiver" needs "oidc_logout_keys_url"/, 11 ],
        'an admin location without oidc_logout_session' => [ <<'_EOC_',
oidc_logout_zone zone=sso:1m;
server {
    listen 127.0.0.1:2069;
    location /admin/ { allow 127.0.0.1; deny all; oidc_logout_admin; }
}
_EOC_
            qr/\[emerg\] oidc_logout: "oidc_logout_admin" needs "oidc_logout_session"/, 8 ],
        'notify=maybe' => [ 'oidc_logout_zone zone=sso:1m notify=maybe;',
            qr/\[emerg\] oidc_logout: invalid parameter "notify=maybe" in "oidc_logout_zone"/, 5 ],
        'oidc_logout_backchannel_give_up 0' => [ 'oidc_logout_backchannel_give_up 0;',
            qr/\[emerg\] "oidc_logout_backchannel_give_up" directive must be between 1s and 30d/, 5 ],
    );
    for my $what (sort keys %refused) {
        my ($http, $re, $line) = @{ $refused{$what} };
        ($out, $ok, $file) = nginx_t("$root-t", $http);
        ok(!$ok, "nginx -t refuses $what");
        like($out, qr/$re.* in \Q$file\E:$line$/m,
             'saying why, at the line of the directive');
    }
}

# ---- the servers -------------------------------------------------------------

start_app_b();
start_nginx($root, $port{sso}, sub { main_config($_[0]) });

{
    my $page = metrics('sso');
    is(sample($page, 'sso', 'oidc_logout_logins_total'), 0, 'metrics: no login yet');
    is(sample($page, 'sso', 'oidc_logout_zone_size_bytes'), 1024 * 1024,
       'metrics: the zone size');
}

# ---- idle expiry, found by the sweep -----------------------------------------

{
    my ($cookie, $sid) = sign_in('idle', 'ida', 'A', 'B');
    expect($_, $sid, 'ida') for qw(A B);
    # from here on no request touches the session
    ok(eventually(sub { tokens_for('A', $sid) && tokens_for('B', $sid) }),
       'idle: A and B got a token after the expiry')
        or diag(tail($log{A}), tail($log{B}), tail("$root/error.log"));
    my ($a) = tokens_for('A', $sid);
    my ($b) = tokens_for('B', $sid);
    check_token($a, $issuer, 'A', $sid, 'ida', 'idle: the token of A');
    check_token($b, $issuer, 'B', $sid, 'ida', 'idle: the token of B');
    isnt($a->{claims}{jti}, $b->{claims}{jti}, 'idle: each token its own jti');

    # a second session expires after it: both workers swept meanwhile
    sign_in('idle', 'witness');
    ok(eventually(sub { ended_by('idle', 'idle') >= 2 }),
       'idle: a later session expired as well');
    is(scalar tokens_for('A', $sid), 1, 'idle: A got one token, not two');
    is(scalar tokens_for('B', $sid), 1, 'idle: B got one token, not two');
    is(request('GET', $port{idle}, '/app', $cookie)->{status}, 401,
       'idle: the cookie no longer passes');

    ok(eventually(sub { delivered('idle', 'B') == 1 }), 'idle: B delivered is counted');
    my $page = metrics('idle');
    is(sample($page, 'idle', 'oidc_logout_logins_total'), 2, 'idle metrics: 2 logins');
    is(sample($page, 'idle', 'oidc_logout_joins_total'), 2, 'idle metrics: 2 joins');
    is(sample($page, 'idle', 'oidc_logout_session_ends_total', cause => 'idle'), 2,
       'idle metrics: 2 idle ends');
    is(sample($page, 'idle', 'oidc_logout_sessions'), 0, 'idle metrics: no live session');
    for my $client (qw(A B)) {
        is(sample($page, 'idle', 'oidc_logout_backchannel_deliveries_total',
                  client => $client, outcome => 'delivered'), 1,
           "idle metrics: one delivered to $client");
    }
}

# ---- eviction ----------------------------------------------------------------

{
    my ($cookies, $sids) = fill_until_evicted('small');
    my @sids = @$sids;
    my $page = metrics('small');
    my $evicted = sample($page, 'small', 'oidc_logout_session_ends_total', cause => 'evicted');
    note(scalar(@sids) . " sessions in a 64k zone: $evicted evicted");
    cmp_ok($evicted, '>', 0, 'eviction: counted');
    is(sample($page, 'small', 'oidc_logout_logins_total'), scalar @sids,
       'eviction metrics: every login counted');
    like(error_log(), qr/\[warn\] .*oidc_logout: zone "small" is full at \d+ sessions: evicted \d+ least recently used/,
         'eviction: the zone says it is full');
    # the least recently used go first: the oldest
    my @gone = @sids[0 .. $evicted - 1];
    expect('A', $gone[$_], 'filler' . ($_ + 1)) for 0 .. $#gone;
    ok(eventually(sub { !grep { !tokens_for('A', $_) } @gone }),
       'eviction: A got the token of each evicted session')
        or diag(tail($log{A}));
    # a later end on the zone: the newest session logs out
    my ($newest_cookie, $newest) = ($cookies->[-1], $sids[-1]);
    is(request('GET', $port{small}, '/logout', $newest_cookie)->{status}, 200,
       'eviction: the newest session logs out');
    ok(eventually(sub { tokens_for('A', $newest) && delivered('small', 'A') == $evicted + 1 }),
       'eviction: and A got its token too');
    expect('A', $newest, 'filler' . scalar @sids);
    is(scalar(grep { tokens_for('A', $_) } @sids[$evicted .. $#sids - 1]), 0,
       'eviction: no token for the sessions still live');
    for my $i (0 .. $#gone) {
        my @t = tokens_for('A', $gone[$i]);
        is(scalar @t, 1, "eviction: exactly one token for evicted session $i");
        check_token($t[0], $issuer, 'A', $gone[$i], 'filler' . ($i + 1), "eviction $i");
    }
}

# ---- notify=off ----------------------------------------------------------------

{
    my (undef, $expired) = sign_in('quiet', 'quinn', 'A', 'B');
    ok(eventually(sub { ended_by('quiet', 'idle') == 1 }),
       'notify=off: a session expired');
    my ($cookies, $sids) = fill_until_evicted('quietfull');
    my @evicted = @$sids[0 .. ended_by('quietfull', 'evicted') - 1];

    # logouts still notify
    my ($cookie, $quentin) = sign_in('quiet', 'quentin', 'A', 'B');
    is(request('GET', $port{quiet}, '/logout', $cookie)->{status}, 200,
       'notify=off: a logout');
    my $newest = $sids->[-1];
    is(request('GET', $port{quietfull}, '/logout', $cookies->[-1])->{status}, 200,
       'notify=off: a logout after the eviction');
    ok(eventually(sub { tokens_for('A', $quentin) && tokens_for('B', $quentin)
                        && tokens_for('A', $newest) }),
       'notify=off: the logouts reach A and B');
    expect($_, $quentin, 'quentin') for qw(A B);
    expect('A', $newest, 'filler' . scalar @$sids);

    # a later expiry on a zone that notifies: both workers have swept
    # (and delivered) since those ends
    my (undef, $later) = sign_in('idle', 'later', 'A');
    ok(eventually(sub { tokens_for('A', $later) }), 'notify=off: a later expiry reached A');
    expect('A', $later, 'later');
    is(scalar(tokens_for('A', $expired)) + scalar(tokens_for('B', $expired)), 0,
       'notify=off: the expired session reached nobody');
    is(scalar(grep { tokens_for('A', $_) } @evicted), 0,
       'notify=off: the evicted session reached nobody');

    my $page = metrics('quiet');
    is(sample($page, 'quiet', 'oidc_logout_session_ends_total', cause => 'idle'), 1,
       'notify=off metrics: the idle end is counted');
    is(sample($page, 'quiet', 'oidc_logout_session_ends_total', cause => 'logout'), 1,
       'notify=off metrics: the logout is counted');
    is(sample($page, 'quiet', 'oidc_logout_backchannel_deliveries_total',
              client => $_, outcome => 'delivered'), 1,
       "notify=off metrics: one delivery to $_, the logout's") for qw(A B);
    $page = metrics('quietfull');
    is(sample($page, 'quietfull', 'oidc_logout_session_ends_total', cause => 'evicted'),
       scalar @evicted, 'notify=off metrics: the eviction is counted');
    is(sample($page, 'quietfull', 'oidc_logout_backchannel_deliveries_total',
              client => 'A', outcome => 'delivered'), 1,
       "notify=off metrics: one delivery, the logout's");
}

# ---- the admin API -------------------------------------------------------------

sub admin {
    my ($method, $path) = @_;
    my $res = request($method, $port{sso}, "/admin/$path");
    return ($res, json_of($res));
}

sub listed_sids {
    my ($query) = @_;
    my (undef, $doc) = admin('GET', "sessions?$query");
    return [ sort map { $_->{sid} } @{ $doc->{sessions} // [] } ];
}

{
    # alice signs in from two browsers
    my ($c1, $s1) = sign_in('sso', 'alice', 'A', 'B');
    my ($c2, $s2) = sign_in('sso', 'alice', 'A', 'B');
    my ($res, $doc) = admin('GET', 'sessions?sub=alice');
    is($res->{status}, 200, 'admin: GET sessions?sub=alice');
    like($res->{headers}{'content-type'}, qr{^application/json}, 'admin: JSON');
    is_deeply([ sort map { $_->{sid} } @{ $doc->{sessions} } ], [ sort $s1, $s2 ],
              'admin: alice has her 2 sessions');
    for my $s (@{ $doc->{sessions} }) {
        is_deeply([ $s->{sub}, [ sort map { $_->{client_id} } @{ $s->{clients} } ] ],
                  [ 'alice', [ 'A', 'B' ] ], 'admin: a session of alice with A and B');
        ok($s->{created} =~ /^\d+$/ && $s->{last_used} =~ /^\d+$/
           && $s->{created} <= $s->{last_used}, 'admin: created, then last used');
    }
    is_deeply(listed_sids("sid=$s1"), [ $s1 ], 'admin: GET sessions?sid= lists one');

    ($res, $doc) = admin('DELETE', 'sessions?sub=alice');
    is($res->{status}, 200, 'admin: DELETE sessions?sub=alice');
    is_deeply($doc, { ended => 2 }, 'admin: 2 sessions ended');
    is(request('GET', $port{sso}, '/app', $_)->{status}, 401,
       'admin: a cookie of alice no longer passes') for $c1, $c2;
    ok(eventually(sub { !grep { !tokens_for($_->[0], $_->[1]) }
                        [ 'A', $s1 ], [ 'A', $s2 ], [ 'B', $s1 ], [ 'B', $s2 ] }),
       'admin: A and B got a token for each session of alice')
        or diag(tail($log{A}), tail($log{B}));
    for my $client (qw(A B)) {
        for my $sid ($s1, $s2) {
            expect($client, $sid, 'alice');
            check_token((tokens_for($client, $sid))[0], $issuer, $client, $sid, 'alice',
                        "admin: the token of $client");
        }
    }
    is_deeply(listed_sids('sub=alice'), [], 'admin: alice has no session left');

    # by sid: one session of two
    my ($b1, $bs1) = sign_in('sso', 'bob', 'A');
    my ($b2, $bs2) = sign_in('sso', 'bob', 'A');
    ($res, $doc) = admin('DELETE', "sessions?sid=$bs1");
    is_deeply([ $res->{status}, $doc ], [ 200, { ended => 1 } ],
              'admin: DELETE sessions?sid= ends one session');
    is(request('GET', $port{sso}, '/app', $b1)->{status}, 401, 'admin: that one');
    is(request('GET', $port{sso}, '/app', $b2)->{status}, 200, 'admin: not the other');
    is_deeply(listed_sids('sub=bob'), [ $bs2 ], 'admin: bob has one session left');
    (undef, $doc) = admin('DELETE', "sessions?sid=$bs1");
    is_deeply($doc, { ended => 0 }, 'admin: ending it again ends nothing');
    ok(eventually(sub { tokens_for('A', $bs1) }), 'admin: A got a token for it');
    expect('A', $bs1, 'bob');

    # what the API refuses
    for my $case (['GET', 'sessions', 400, 'invalid_request', 'neither sub nor sid'],
                  ['GET', "sessions?sub=bob&sid=$bs2", 400, 'invalid_request', 'both sub and sid'],
                  ['DELETE', 'sessions?sub=bob&sub=alice', 400, 'invalid_request', 'sub twice'],
                  ['GET', 'users', 404, 'not_found', 'an unknown resource'],
                  ['DELETE', 'deliveries', 405, 'invalid_request', 'DELETE deliveries']) {
        my ($method, $path, $status, $error, $what) = @$case;
        ($res, $doc) = admin($method, $path);
        is_deeply([ $res->{status}, $doc->{error} ], [ $status, $error ],
                  "admin: $what: $status $error");
        ok(length($doc->{error_description} // ''), "admin: $what: described");
    }
    is($res->{headers}{allow}, 'GET', 'admin: 405 says which method');
    ($res, $doc) = admin('POST', 'sessions?sub=bob');
    is_deeply([ $res->{status}, $doc->{error}, $res->{headers}{allow} ],
              [ 405, 'invalid_request', 'GET, DELETE' ], 'admin: POST sessions: 405');
    is_deeply(listed_sids('sub=bob'), [ $bs2 ], 'admin: bob still has his session');
    ($res) = admin('HEAD', 'sessions?sub=bob');
    is_deeply([ $res->{status}, $res->{content} // '' ], [ 200, '' ],
              'admin: HEAD as GET, no body');

    ok(eventually(sub { delivered('sso', 'A') == 3 && delivered('sso', 'B') == 2 }),
       'admin: the deliveries are counted');
    my $page = metrics('sso');
    is(sample($page, 'sso', 'oidc_logout_session_ends_total', cause => 'admin'), 3,
       'admin metrics: 3 sessions ended by the admin');
    is(sample($page, 'sso', 'oidc_logout_logins_total'), 4, 'admin metrics: 4 logins');
    is(sample($page, 'sso', 'oidc_logout_joins_total'), 6, 'admin metrics: 6 joins');
    is(sample($page, 'sso', 'oidc_logout_sessions'), 1, 'admin metrics: 1 live session');
}

# ---- an application down during a logout, back after a reload ------------------

sub pending {
    my (undef, $doc) = admin('GET', 'deliveries');
    return $doc->{pending};
}

{
    ok(eventually(sub { my $p = pending(); $p && !@$p }), 'durable: nothing pending yet');
    stop_peer('appB');
    ok(!listening($port{appB}), 'durable: B is down');
    my ($cookie, $sid) = sign_in('sso', 'carol', 'A', 'B');
    my $before = metrics('sso');
    my $failed = sample($before, 'sso', 'oidc_logout_backchannel_deliveries_total',
                        client => 'B', outcome => 'failed');
    is(request('GET', $port{sso}, '/logout', $cookie)->{status}, 200, 'durable: carol logs out');
    ok(eventually(sub { tokens_for('A', $sid) }), 'durable: A got its token at once');
    expect($_, $sid, 'carol') for qw(A B);
    my ($to_a) = tokens_for('A', $sid);
    check_token($to_a, $issuer, 'A', $sid, 'carol', 'durable: the token of A');

    ok(eventually(sub { my $p = pending(); $p && @$p == 1 && $p->[0]{client_id} eq 'B' }),
       'durable: B waits in the zone');
    my $p = pending()->[0];
    is($p->{deliveries}, 1, 'durable: one delivery for B');
    cmp_ok($p->{next_attempt}, '>', $p->{oldest_end}, 'durable: tried again later');
    ok(eventually(sub { delivered('sso', 'B', 'failed') == $failed + 1 }),
       'durable: the failure is counted');
    my $page = metrics('sso');
    is(sample($page, 'sso', 'oidc_logout_backchannel_pending_deliveries'), 1,
       'durable metrics: 1 pending');
    is(sample($page, 'sso', 'oidc_logout_backchannel_client_pending_deliveries', client => 'B'),
       1, 'durable metrics: for B');

    # a reload while B is still down: the zone keeps what waits
    my $workers = () = error_log() =~ /start worker process/g;
    reload_nginx();
    ok(eventually(sub { (() = error_log() =~ /start worker process/g) >= $workers + 2 }),
       'durable: nginx reloaded');
    is_deeply([ map { $_->{client_id} } @{ pending() } ], ['B'], 'durable: B still waits');

    start_app_b();
    ok(eventually(sub { tokens_for('B', $sid) }, 30), 'durable: B got its token once back')
        or diag(tail("$root/error.log"));
    my @to_b = tokens_for('B', $sid);
    is(scalar @to_b, 1, 'durable: one token');
    check_token($to_b[0], $issuer, 'B', $sid, 'carol', 'durable: the token of B');
    isnt($to_b[0]{claims}{jti}, $to_a->{claims}{jti}, 'durable: a jti of its own');
    cmp_ok($to_b[0]{claims}{iat}, '>', $to_a->{claims}{iat}, 'durable: a fresh iat');
    is($to_b[0]{claims}{exp} - $to_b[0]{claims}{iat}, 120, 'durable: a fresh exp');

    ok(eventually(sub { my $p = pending(); $p && !@$p }), 'durable: nothing pending any more');
    $page = metrics('sso');
    is(sample($page, 'sso', 'oidc_logout_backchannel_pending_deliveries'), 0,
       'durable metrics: 0 pending');
    is(sample($page, 'sso', 'oidc_logout_backchannel_client_pending_deliveries', client => 'B'),
       0, 'durable metrics: 0 for B');
    is(sample($page, 'sso', 'oidc_logout_backchannel_deliveries_total',
              client => 'B', outcome => 'delivered'), 3, 'durable metrics: delivered to B');
    is(sample($page, 'sso', 'oidc_logout_session_ends_total', cause => 'logout'), 1,
       'durable metrics: the logout is counted');
    is(sample($page, 'sso', 'oidc_logout_logins_total'), 5,
       'durable metrics: the counters survived the reload');
}

# ---- every token once ------------------------------------------------------------

# a last end, later than every other: when it has reached A and B, nothing
# else is on its way
{
    my ($cookie, $sid) = sign_in('sso', 'last', 'A', 'B');
    request('GET', $port{sso}, '/logout', $cookie);
    expect($_, $sid, 'last') for qw(A B);
    ok(eventually(sub { tokens_for('A', $sid) && tokens_for('B', $sid) }),
       'the last logout reaches A and B');
    for my $client (qw(A B)) {
        my (%count, %sub, %jti);
        for my $t (received($log{$client})) {
            ok($t->{claims}, "$client: every token verifies") or next;
            $count{ $t->{claims}{sid} }++;
            $sub{ $t->{claims}{sid} } = $t->{claims}{sub};
            $jti{ $t->{claims}{jti} }++;
        }
        is_deeply(\%sub, $expected{$client},
                  "$client: a token for each session that ended with it, no other");
        is_deeply([ grep { $count{$_} > 1 } sort keys %count ], [],
                  "$client: none twice");
        ok(!grep({ $_ > 1 } values %jti), "$client: no jti twice");
    }
}

unlike(error_log(), qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');
stop_nginx();

# ---- give up -----------------------------------------------------------------------

start_nginx("$root-giveup", $port{sso}, sub {
    http_config($_[0], [ client_entry('D', $port{dead}) ], '    oidc_logout_zone zone=sso:1m;',
                zone_server('sso', 'oidc_logout_backchannel_give_up 2s;'));
});

{
    my ($cookie, $sid) = sign_in('sso', 'dave', 'D');
    is(request('GET', $port{sso}, '/logout', $cookie)->{status}, 200, 'give up: dave logs out');
    ok(eventually(sub { error_log() =~ /gave up the logout tokens of session/ }),
       'give up: after oidc_logout_backchannel_give_up');
    like(error_log(), qr/\[warn\] .*oidc_logout: zone "sso" gave up the logout tokens of session \Q$sid\E for 1 client\(s\): oidc_logout_backchannel_give_up reached/,
         'give up: one line names the zone, the session and why');
    is_deeply(pending(), [], 'give up: nothing pending');
    my $page = metrics('sso');
    is(sample($page, 'sso', 'oidc_logout_backchannel_pending_deliveries'), 0,
       'give up metrics: 0 pending');
    is(sample($page, 'sso', 'oidc_logout_backchannel_deliveries_total',
              client => 'D', outcome => 'given_up'), 1, 'give up metrics: given up for D');
    cmp_ok(sample($page, 'sso', 'oidc_logout_backchannel_deliveries_total',
                  client => 'D', outcome => 'failed'), '>=', 1, 'give up metrics: after failing');
}

unlike(error_log(), qr/\[(alert|crit|emerg)\]/, 'give up: no alert in the error log');
stop_nginx();
done_testing();
