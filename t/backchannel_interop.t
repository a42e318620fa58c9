# Back-channel logout against real relying parties: Apache httpd with
# mod_auth_openidc (Debian's packages) and an Express app on
# express-openid-connect (t/interop/express-rp/app.cjs), both installed by
# build.sh. nginx is the SSO server: it signs alice in, records the two
# clients she joins, and when she logs out posts a logout token to each,
# through a recording proxy (an nginx server that logs the request body)
# in front of each relying party. Both must accept our tokens (2xx), and
# must refuse, posted to them directly, a token with a tampered signature,
# the token meant for the other one (another audience) and their own
# token again (a replayed jti).
#
# A plain Test::More script (it starts Apache and Node next to nginx); it
# reads TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES like the suites.
# Ports 2000-2004 on 127.0.0.1; files in t/servroot-bcinterop.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx;
use Peers;
use Crypt::PK::RSA;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(decode_base64url);
use Test::More;
use Time::HiRes qw(sleep time);

my $began = time;
module_path();    # stops the run at once when the module is not named
my $here    = abs_path(dirname(__FILE__));
my $interop = "$here/interop";
my $root    = "$here/servroot-bcinterop";
my $node    = $ENV{NODE_BINARY} // 'node';

# The relying parties are part of what build.sh installs for the tests: a
# missing one is a failure, never a skip (start_apache_rp checks Apache's).
-d "$interop/express-rp/node_modules/express-openid-connect"
    or BAIL_OUT('express-openid-connect is missing: run ./build.sh test, which installs it');

my %port = (sso => 2000, 'apache-rp' => 2001, 'apache-proxy' => 2002,
            'express-rp' => 2003, 'express-proxy' => 2004);
my $issuer = "http://127.0.0.1:$port{sso}";
my @rps    = qw(apache-rp express-rp);
my %other  = ('apache-rp' => 'express-rp', 'express-rp' => 'apache-rp');
# each relying party's back-channel logout endpoint, on its own port (the
# test posts there) and on its recording proxy (the registry names that)
my %bc_path = ('apache-rp'  => '/protected/redirect_uri?logout=backchannel',
               'express-rp' => '/backchannel-logout');
my %proxy = ('apache-rp' => $port{'apache-proxy'},
             'express-rp' => $port{'express-proxy'});

# a server left over from an interrupted run would answer in place of ours
for my $p (sort values %port) {
    BAIL_OUT("port $p is in use: stop whatever listens there") if listening($p);
}

# the peers are stopped by Peers, nginx by FlowNginx, whatever happens
$SIG{$_} = sub { die "killed by SIG$_[0]\n" } for qw(INT TERM HUP);

# ---- the SSO server and the two recording proxies ------------------------

start_nginx($root, $port{sso}, sub {
    my ($dir) = @_;
    my $json = JSON::PP->new->canonical;
    # the signing key: an RSA-2048 private JWK with a kid
    my $pk = Crypt::PK::RSA->new;
    $pk->generate_key(256);
    write_file("$dir/keys.json", $json->encode(
        { keys => [{ %{ $pk->export_key_jwk('private', 1) }, kid => 'bcinterop1' }] }),
        0600);
    write_file("$dir/clients.json", $json->encode([ map {
        my $rp = $_;
        my $home = "http://127.0.0.1:$port{$rp}";
        { client_id => $rp,
          redirect_uris => [$rp eq 'apache-rp' ? "$home/protected/redirect_uri"
                                               : "$home/callback"],
          backchannel_logout_uri => "http://127.0.0.1:$proxy{$rp}$bc_path{$rp}",
          backchannel_logout_session_required => JSON::PP::true }
    } @rps ]));
    my $proxies = '';
    for my $rp (@rps) {
        $proxies .= <<"_EOC_";
    server {                # records what reaches $rp
        listen 127.0.0.1:$proxy{$rp};
        client_body_buffer_size 64k;    # the body stays in memory, for the log
        location / {
            proxy_pass http://127.0.0.1:$port{$rp};
            access_log $dir/received-$rp.log bc;
        }
    }
_EOC_
    }
    return main_context($dir, 1) . <<"_EOC_";
http {
    access_log off;
    log_format bc '\$request_body';
    oidc_logout_issuer $issuer;
    oidc_logout_keys $dir/keys.json;
    oidc_logout_clients $dir/clients.json;
    oidc_logout_zone zone=sso:1m;
    oidc_logout_session zone=sso secure=off;

    server {                # the SSO server
        listen 127.0.0.1:$port{sso};
        include $here/conf/session_steps.conf;
        location = /whoami { return 200 "\$oidc_logout_sid \$oidc_logout_sub\\n"; }
        location = /logout {
            oidc_logout auth0;
            oidc_logout_backchannel_wait 10s;
        }
        location = /end_session { oidc_logout oidc; }
        location = /jwks { oidc_logout_jwks; }
        location = /metadata { oidc_logout_metadata; }
        # the discovery document: /metadata plus what relying parties
        # expect of a provider; the test writes it once nginx runs
        location = /.well-known/openid-configuration {
            default_type application/json;
            alias $dir/discovery.json;
        }
        location = /token {  # a stand-in: no relying party signs in here
            default_type application/json;
            return 400 '{"error":"unsupported_grant_type"}';
        }
    }
$proxies}
_EOC_
});
chmod 0755, $root;

my $http = HTTP::Tiny->new(keep_alive => 0, max_redirect => 0, timeout => 10);
my $res = $http->get("$issuer/metadata");
is($res->{status}, 200, 'the SSO server serves its logout metadata')
    or BAIL_OUT("GET /metadata: $res->{status} $res->{content}");
my $discovery = decode_json($res->{content});
is($discovery->{issuer}, $issuer, 'metadata: issuer');
is($discovery->{jwks_uri}, "$issuer/jwks", 'metadata: jwks_uri');
$discovery->{authorization_endpoint} = "$issuer/authorize";
$discovery->{token_endpoint} = "$issuer/token";
$discovery->{response_types_supported} = ['code'];
$discovery->{subject_types_supported} = ['public'];
$discovery->{id_token_signing_alg_values_supported} = ['RS256'];
write_file("$root/discovery.json", JSON::PP->new->canonical->encode($discovery));
$res = $http->get("$issuer/.well-known/openid-configuration");
is_deeply(eval { decode_json($res->{content}) }, $discovery,
          'the discovery document is served');
$res = $http->get("$issuer/jwks");
my ($jwk) = @{ (eval { decode_json($res->{content}) } // {})->{keys} // [] };
ok($jwk && $jwk->{kid} eq 'bcinterop1' && !exists $jwk->{d},
   'the JWKS serves the public key');

# ---- the relying parties -------------------------------------------------

my $apache_log = start_apache_rp(
    name => 'apache-rp', root => "$root/apache", interop => $interop,
    port => $port{'apache-rp'}, issuer => $issuer, client_id => 'apache-rp',
    pages => { 'protected/index.html' => "apache-rp: protected\n" });

my $express_log = "$root/express-rp.log";
spawn('express-rp', $express_log,
      { PORT => $port{'express-rp'}, ISSUER => $issuer, CLIENT_ID => 'express-rp' },
      $node, "$interop/express-rp/app.cjs");
wait_listening('express-rp', $port{'express-rp'}, $express_log);

# ---- alice signs in, joins both, logs out --------------------------------

my $cookie = login('alice');
ok($cookie, 'alice signed in at the SSO server');
for my $rp (@rps) {
    is(get("/authorize?client_id=$rp", $cookie)->{status}, 200, "alice joined $rp");
}
my ($sid, $sub) = split ' ', get('/whoami', $cookie)->{content} // '';
like($sid // '', qr/^[A-Za-z0-9_-]{22}$/, 'her session id');
is($sub, 'alice', 'her subject');

my $t0 = time;
$res = get('/logout', $cookie);
my $logout_time = time - $t0;
is($res->{status}, 200, 'logout (Auth0 mode) answers');
like($res->{content}, qr/You have been signed out\./, 'with the signed-out page');

my $outcomes = qr/oidc_logout: backchannel client=\S+ status=\S+ attempt=\d+[^\n]*/;
my $log = poll(\&error_log, qr/\A(?=.*client=apache-rp status=)(?=.*client=express-rp status=)/s);
my @outcomes = $log =~ /($outcomes)/g;
diag(sprintf 'delivery outcomes (logout answered in %.2f s): %s', $logout_time,
     join('; ', @outcomes) || 'none');
my %delivered = map { /client=(\S+) status=(\S+)/ } @outcomes;
my %accepted = ('apache-rp' => 200, 'express-rp' => 204);
for my $rp (@rps) {
    like($log, qr/^.*oidc_logout: backchannel client=\Q$rp\E status=$accepted{$rp} attempt=1$/m,
         "$rp accepted our logout token ($accepted{$rp}, first attempt)");
}
is(scalar @outcomes, 2, 'one delivery each, no retry');
unlike($log, qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');

# ---- the tokens they received --------------------------------------------

my (%token, %claims);
for my $rp (@rps) {
    my $file = "$root/received-$rp.log";
    my @lines = split /\n/, poll(sub { slurp($file) }, qr/\n/);
    is(scalar @lines, 1, "the proxy of $rp recorded one request");
    my ($jwt) = ($lines[0] // '') =~ /^logout_token=([\w-]+\.[\w-]+\.[\w-]+)$/;
    ok($jwt, "its body is logout_token=<compact JWS>") or next;
    $token{$rp} = $jwt;
    my ($h, $c) = map { eval { decode_json(decode_base64url($_)) } // {} }
                  (split /\./, $jwt)[0, 1];
    $claims{$rp} = $c;
    is_deeply([@$h{qw(typ alg kid)}], ['logout+jwt', 'RS256', 'bcinterop1'],
              "$rp: header typ, alg, kid");
    is_deeply([@$c{qw(iss aud sid sub)}], [$issuer, $rp, $sid, 'alice'],
              "$rp: iss, aud, sid, sub");
    ok(exists $c->{events}{'http://schemas.openid.net/event/backchannel-logout'},
       "$rp: the back-channel logout event");
    ok(!exists $c->{nonce} && ($c->{jti} // '') ne '' && ($c->{exp} // 0) > ($c->{iat} // 1e10),
       "$rp: jti, iat < exp, no nonce");
}
$token{$_} or BAIL_OUT("no token recorded for $_: nothing more to check") for @rps;
isnt($claims{'apache-rp'}{jti}, $claims{'express-rp'}{jti}, 'a jti of its own for each');

# what they did with them
$res = $http->get("http://127.0.0.1:$port{'express-rp'}/logged-out");
is_deeply(eval { decode_json($res->{content}) }, [sort "$issuer|$sid", "$issuer|alice"],
          "express-rp marked alice's sid and sub as logged out");
# (it has no session of hers: the relying parties never signed her in)
like(slurp($apache_log), qr/find a session based on sid\/sub provided in logout token.*\Q$sid\E\@\Q$issuer\E/,
     'apache-rp looked for the session of her sid');

# ---- what they must refuse, posted to them directly ----------------------

# one character in the middle of the signature changed to another
# (base64url: every middle character carries 6 bits of the signature)
sub tamper {
    my ($jwt) = @_;
    my ($h, $p, $s) = split /\./, $jwt;
    my $i = int(length($s) / 2);
    substr($s, $i, 1) = substr($s, $i, 1) eq 'A' ? 'B' : 'A';
    return "$h.$p.$s";
}

# why each is refused: mod_auth_openidc says it in its error log,
# express-openid-connect in the body (and the app, for a replay, in its log)
my %reason = (
    'apache-rp' => {
        tampered => qr/JWT signature verification failed/,
        "other-audience" => qr/did not match the "aud" claim value \(express-rp\)/,
        replayed => qr/"jti" value \(\Q$claims{'apache-rp'}{jti}\E\) passed in logout token was found in the cache already/,
    },
    'express-rp' => {
        tampered => qr/"error_description":"signature verification failed"/,
        "other-audience" => qr/"error_description":"unexpected \\"aud\\" claim value"/,
        replayed => qr/"error":"application_error".*\n(?s:.*)replayed jti \Q$claims{'express-rp'}{jti}\E: logout token refused/,
    },
);
my %seen_status;
for my $rp (@rps) {
    my $url = "http://127.0.0.1:$port{$rp}$bc_path{$rp}";
    my $rp_log = $rp eq 'apache-rp' ? $apache_log : $express_log;
    for my $case ([tampered => tamper($token{$rp})],
                  ["other-audience" => $token{ $other{$rp} }],
                  [replayed => $token{$rp}]) {
        my ($name, $jwt) = @$case;
        my $before = length slurp($rp_log);
        $res = $http->post_form($url, { logout_token => $jwt });
        $seen_status{$rp}{$name} = $res->{status};
        is($res->{status}, 400, "$rp refuses the $name token");
        # the answer, then what the relying party logged since the request
        my $why = poll(sub { "$res->{content}\n" . substr(slurp($rp_log), $before) },
                       $reason{$rp}{$name}, 3);
        like($why, $reason{$rp}{$name}, "$rp: because of the $name token")
            or diag("$rp said: $why");
    }
}

diag(sprintf '%s: our token %s; tampered %s, other audience %s, replayed %s',
             $_, $delivered{$_} // '-',
             @{ $seen_status{$_} }{qw(tampered other-audience replayed)})
    for @rps;

stop_peer($_) for @rps;
stop_nginx();
diag(sprintf 'backchannel_interop: %.1f s', time - $began);
done_testing();
