# Back-channel logout at scale, as a user would trigger it: a session with
# 50 clients, 10 of which never answer. The logout's redirect must not wait
# for them (unless oidc_logout_backchannel_wait says so), the other 40 get
# one valid logout token each, and the 10 time out.
#
# A plain Test::More script (the session needs a cookie across requests);
# it reads TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES like the suites.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx;
use Crypt::JWT qw(decode_jwt);
use Crypt::PK::RSA;
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time);

module_path();    # stops the run at once when the module is not named
my $root     = abs_path(dirname(__FILE__)) . '/servroot-bcflows';
my $t_conf   = abs_path(dirname(__FILE__)) . '/conf';
my $sso      = 2010;
my $receiver = 2011;
my $silent_port = 2012;
my $issuer   = "http://127.0.0.1:$sso";
my $json     = JSON::PP->new->canonical;

my $key = Crypt::PK::RSA->new;
$key->generate_key(256);

my @answering = map { sprintf 'c%02d', $_ } 1 .. 40;
my @silent    = map { sprintf 'c%02d', $_ } 41 .. 50;

# the 10 clients that never answer: the kernel accepts their connections,
# nobody reads them
my $silent = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$silent_port",
                                   Listen => 128, ReuseAddr => 1)
    or BAIL_OUT("cannot listen on $silent_port: $!");

start_nginx($root, $sso, sub {
    my ($dir) = @_;
    open my $f, '>', "$dir/keys.json" or die;
    print $f $json->encode(
        { keys => [{ %{ $key->export_key_jwk('private', 1) }, kid => 'k1' }] });
    close $f;
    open $f, '>', "$dir/clients.json" or die;
    print $f $json->encode([
        (map { { client_id => $_,
                 redirect_uris => ["https://$_.example.com/cb"],
                 backchannel_logout_uri => "http://127.0.0.1:$receiver/bc/$_" } }
         @answering),
        (map { { client_id => $_,
                 redirect_uris => ["https://$_.example.com/cb"],
                 backchannel_logout_uri => "http://127.0.0.1:$silent_port/bc/$_" } }
         @silent)]);
    close $f;
    return main_context($dir, 1) . <<"_EOC_";
http {
    access_log off;
    log_format token '\$request_uri \$request_body';
    oidc_logout_issuer $issuer;
    oidc_logout_keys $dir/keys.json;
    oidc_logout_clients $dir/clients.json;
    oidc_logout_allowed_urls https://portal.example.com/bye;
    oidc_logout_zone zone=sso:1m;
    oidc_logout_backchannel_timeout 1s;
    oidc_logout_backchannel_retries 0;
    server {
        listen 127.0.0.1:$sso;
        oidc_logout_session zone=sso;
        include $t_conf/session_steps.conf;
        location = /whoami { return 200 "\$oidc_logout_sid"; }
        location = /account {
            oidc_logout_require_session on;
            proxy_pass http://127.0.0.1:$sso/ok;
        }
        location = /ok { return 200 "ok\\n"; }
        location = /logout { oidc_logout auth0; }
        location = /logout-wait {
            oidc_logout auth0;
            oidc_logout_backchannel_wait 5s;
        }
    }
    # the 40 clients that answer: each token is logged, then answered 200
    server {
        listen 127.0.0.1:$receiver;
        include $t_conf/token_receiver.conf;
    }
}
_EOC_
});

sub received {
    open my $f, '<', "$root/received.log" or return ();
    chomp(my @lines = <$f>);
    return @lines;
}

sub outcomes {
    my ($status) = @_;
    return () = error_log() =~ /oidc_logout: backchannel client=c\d\d status=$status attempt=1/g;
}

# Signs alice in, joins all 50 clients, logs out through path; returns the
# session's sid, the logout response and how long it took.
sub fifty_client_logout {
    my ($path) = @_;
    my $cookie = login('alice');
    for my $id (@answering, @silent) {
        my $res = get("/authorize?client_id=$id", $cookie);
        $res->{status} == 200 or BAIL_OUT("join $id: $res->{status}");
    }
    my $sid = get('/whoami', $cookie)->{content};
    my $start = time;
    my $res = get("$path?returnTo=https%3A%2F%2Fportal.example.com%2Fbye", $cookie);
    my $took = time - $start;
    is(get('/account', $cookie)->{status}, 401, "$path: the session has ended");
    return ($sid, $res, $took);
}

# ---- without a wait: the redirect does not wait for anyone ----------------

my ($sid, $res, $took) = fifty_client_logout('/logout');
is($res->{status}, 302, 'logout: a redirect');
is($res->{headers}{location}, 'https://portal.example.com/bye', 'logout: to returnTo');
note(sprintf 'logout with 50 clients answered in %.0f ms', $took * 1000);
cmp_ok($took, '<', 0.5, 'logout: answered before any silent client could time out (1 s)');

wait_for(sub { received() >= 40 && outcomes('timeout') >= 10 },
         '40 deliveries and 10 timeouts');
my @got = received();
is(scalar @got, 40, 'logout: 40 tokens delivered');
is(outcomes('200'), 40, 'logout: 40 deliveries logged as 200');
is(outcomes('timeout'), 10, 'logout: 10 silent clients timed out');

my (%seen_client, %seen_jti);
for my $line (@got) {
    my ($uri, $body) = split / /, $line, 2;
    my ($client) = $uri =~ m{^/bc/(c\d\d)$};
    my ($token) = $body =~ /^logout_token=([A-Za-z0-9_.-]+)$/;
    my ($header, $claims) = eval {
        decode_jwt(token => $token, key => $key, decode_header => 1,
                   verify_exp => 0, accepted_alg => 'RS256')
    };
    ok($claims, "$client: the token's signature verifies") or diag($@);
    next unless $claims;
    $seen_client{$client}++;
    $seen_jti{ $claims->{jti} }++;
    is_deeply([ $header->{typ}, $header->{kid}, $header->{alg} ],
              ['logout+jwt', 'k1', 'RS256'], "$client: header");
    is_deeply([ @$claims{qw(iss aud sid sub)} ], [ $issuer, $client, $sid, 'alice' ],
              "$client: iss, aud, sid, sub");
    is($claims->{exp} - $claims->{iat}, 120, "$client: exp is iat + 120");
    ok(ref $claims->{events}{'http://schemas.openid.net/event/backchannel-logout'} eq 'HASH',
       "$client: the back-channel event");
    ok(!exists $claims->{nonce}, "$client: no nonce");
}
is_deeply([ sort keys %seen_client ], \@answering, 'each answering client got a token');
ok(!grep({ $_ > 1 } values %seen_client), 'each exactly one');
is(scalar keys %seen_jti, 40, 'every token has its own jti');

# ---- with oidc_logout_backchannel_wait: the redirect waits for all --------

($sid, $res, $took) = fifty_client_logout('/logout-wait');
is($res->{status}, 302, 'logout-wait: a redirect');
note(sprintf 'logout-wait with 50 clients answered in %.0f ms', $took * 1000);
is(scalar received(), 80, 'logout-wait: the 40 deliveries were over before the redirect');
is(outcomes('timeout'), 20, 'logout-wait: and so were the 10 timeouts');
cmp_ok($took, '>=', 0.9, 'logout-wait: it waited for the silent clients to time out');
cmp_ok($took, '<', 5, 'logout-wait: no longer than the wait');

# ---- a worker told to quit right after a logout: it delivers, then exits

($sid, $res, $took) = fifty_client_logout('/logout');
is($res->{status}, 302, 'logout, then quit: a redirect');
my ($worker) = (error_log() =~ /start worker process (\d+)/g)[-1];
my $before = () = error_log() =~ /backchannel client=c\d\d status=/g;
kill 'QUIT', $worker;
wait_for(sub { error_log() =~ /worker process $worker exited/ },
         "worker $worker to exit");
# the worker has closed its listening sockets: the answering clients (this
# nginx) may time out as well, but every client is tried
my $after = () = error_log() =~ /backchannel client=c\d\d status=/g;
is($after - $before, 50, 'logout, then quit: all 50 clients tried before the worker exits');

unlike(error_log(), qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');
stop_nginx();
close $silent;
done_testing();
