# The upstream provider's back-channel logout, received by nginx
# (oidc_logout_backchannel_receiver) and relayed to the applications, with
# the setup of t/provider_e2e.t (t/support/ProviderPeers.pm): an unmodified
# node-oidc-provider, A on express-openid-connect, B on Apache with
# mod_auth_openidc, a real browser. Here the provider knows nginx's
# receiver as the backchannel_logout_uri of A and of B (and nginx accepts
# their audiences, oidc_logout_upstream_client_id), while the module's own
# registry keeps A's and B's real endpoints.
#
# The browser signs in at A and B, then logs out at the provider itself:
# its own end_session endpoint on its own port (nginx does not see it),
# its prompt confirmed. The provider posts one logout token for A and one
# for B to the receiver; the module's session ends (its require_session
# location answers 401 to the browser's cookie) and A and B are told, as
# each says itself. Then, with a fresh session of the user live, the
# receiver refuses, each with a 400, a JSON error and one log line, ending
# nothing: a token the provider sent, again (its jti); that token at a
# receiver of another audience; tokens signed by a key of the test (its own
# kid, then the provider's), by the module's own key (which nginx's
# jwks_uri publishes beside the provider's: only the provider's verify
# here), and an unsigned one. The forged tokens name only the subject, so
# that taking one would end every session of the user. The metrics page,
# read by Prometheus's own parser, counts it all.
#
# A plain Test::More script (it needs the provider's tokens at run time);
# it reads TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES like the suites.
# Ports: nginx 2070, the provider, A, B and the browser 2071-2074, the
# receiver of another audience 2075. Files in t/servroot-provider-receiver.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx;
use Peers;
use ProviderPeers;
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::RSA;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(decode_base64url encode_base64url);
use Test::More;
use Time::HiRes qw(time);

my $began = time;
module_path();    # stops the run at once when the module is not named
my $here       = abs_path(dirname(__FILE__));
my $root       = "$here/servroot-provider-receiver";
my $other_port = 2075;
BAIL_OUT("port $other_port is in use: stop whatever listens there")
    if listening($other_port);
my $peers  = ProviderPeers->new(root => $root, nginx_port => 2070);
my $issuer = $peers->issuer;
my $json   = JSON::PP->new->canonical;

# The provider tells A and B at nginx's receiver; the module tells them at
# their own endpoints.
my $receiver = "$issuer/oidc/backchannel";
my $provider_clients = $peers->write_registrations(
    'provider-clients.json', A => ProviderPeers::backchannel_at($receiver),
    B => ProviderPeers::backchannel_at($receiver));
$peers->write_registrations(
    'clients.json', A => ProviderPeers::backchannel_at($peers->a_backchannel),
    B => ProviderPeers::backchannel_at($peers->b_backchannel));

$peers->start_provider($provider_clients, 'provider-1');
$peers->start_express_rp;
$peers->start_apache_rp;
$peers->start_browser;

start_nginx("$root/nginx", 2070, sub {
    my ($dir, $port) = @_;
    write_file("$dir/module-session.txt", "live session\n");
    return main_context($dir, 2) . <<"_EOC_";
http {
    access_log off;
    log_format logout_token '\$request_body';
@{[ $peers->http_directives('clients.json') ]}
    # the provider's logout tokens for A and B are for nginx
    oidc_logout_upstream_client_id express-rp apache-rp;

    server {
        listen 127.0.0.1:$port;
@{[ $peers->origin_locations ]}
        location = /oidc/backchannel {
            oidc_logout_backchannel_receiver;
            access_log $dir/received.log logout_token;
        }
        location = /module-session {
            oidc_logout_require_session on;
            default_type text/plain;
            alias $dir/module-session.txt;
        }
        location /admin/ {
            allow 127.0.0.1;
            deny all;
            oidc_logout_admin;
        }
        location = /metrics {
            oidc_logout_metrics;
        }
    }

    # a receiver of another audience only, on the same zone
    server {
        listen 127.0.0.1:$other_port;
        oidc_logout_upstream_client_id other-app;
        location = /oidc/backchannel {
            oidc_logout_backchannel_receiver;
        }
    }
}
_EOC_
});

# ---- helpers --------------------------------------------------------------

# Plays a scenario of t/interop/provider_browser.mjs; what the browser saw.
sub browser {
    my ($scenario) = @_;
    my $res = HTTP::Tiny->new(timeout => 120)
        ->get('http://127.0.0.1:' . $peers->port('browser') . "/$scenario");
    return $res->{status} == 200 ? $res->{content}
                                 : "browser answered $res->{status}: $res->{content}";
}

# The metrics page as Prometheus's text-format parser reads it
# (t/support/prometheus_parse.py): its sorted "name{labels} value" lines.
sub metrics {
    my $res = get('/metrics');
    write_file("$root/metrics.txt", $res->{content});
    my $parsed = qx{$here/support/prometheus_parse.py < $root/metrics.txt 2>&1};
    return $? == 0 && $res->{status} == 200 ? $parsed
                                            : "metrics: $res->{status}, $parsed";
}

# The values of these samples (name{labels} as the parser prints them).
sub samples {
    my ($parsed, @names) = @_;
    my %value = map { /^(\S+) (\S+)$/ ? ($1 => $2) : () } split /\n/, $parsed;
    return { map { $_ => $value{$_} // 'absent' } @names };
}

my @counted = (
    'oidc_logout_upstream_logout_tokens_total{result="accepted",zone="sso"}',
    'oidc_logout_upstream_logout_tokens_total{result="refused",zone="sso"}',
    'oidc_logout_session_ends_total{cause="upstream",zone="sso"}',
    'oidc_logout_backchannel_deliveries_total{client="apache-rp",outcome="delivered",zone="sso"}',
    'oidc_logout_backchannel_deliveries_total{client="express-rp",outcome="delivered",zone="sso"}',
    'oidc_logout_sessions{zone="sso"}',
);

# The counted samples at these values, in @counted's order.
sub counted {
    my %want;
    @want{@counted} = @_;
    return \%want;
}

# The sids of the module's live sessions of alice (its admin API).
sub sessions_of_alice {
    my $res = get('/admin/sessions?sub=alice');
    my $list = eval { $json->decode($res->{content})->{sessions} }
        or return "admin: $res->{status} $res->{content}";
    return [ map { $_->{sid} } @$list ];
}

sub claims_of {
    my ($token) = @_;
    return $json->decode(decode_base64url((split /\./, $token)[1]));
}

# A logout token of the provider's shape for A, with only the subject: taken,
# it would end every session of alice.
sub forged_claims {
    return { iss => $issuer, aud => 'express-rp', sub => 'alice', iat => time,
             exp => time + 120, jti => 'forged-' . int(rand 1e9),
             events => { 'http://schemas.openid.net/event/backchannel-logout' => {} } };
}

sub signed_by {
    my ($key, $kid) = @_;
    return encode_jwt(payload => forged_claims(), alg => 'RS256', key => $key,
                      extra_headers => { kid => $kid, typ => 'logout+jwt' });
}

my $receiver_refusals = () = error_log() =~ /oidc_logout: backchannel receiver: /g;

# Posts token to the receiver on port: a 400 with a JSON error whose
# description gives reason, one error line, and alice's sessions unchanged.
sub refused {
    my ($what, $port, $token, $reason, $sessions) = @_;
    my $res = HTTP::Tiny->new(timeout => 10)->post_form(
        "http://127.0.0.1:$port/oidc/backchannel", { logout_token => $token });
    is($res->{status}, 400, "$what: 400");
    like($res->{headers}{'content-type'} // '', qr{^application/json}, "$what: JSON");
    is_deeply(eval { $json->decode($res->{content}) } // $res->{content},
              { error => 'invalid_request',
                error_description => "backchannel receiver: $reason" },
              "$what: the error says why");
    my $lines = () = error_log() =~ /oidc_logout: backchannel receiver: \Q$reason\E/g;
    is($lines, 1, "$what: one error line says why");
    $receiver_refusals++;
    is(scalar(() = error_log() =~ /oidc_logout: backchannel receiver: /g),
       $receiver_refusals, "$what: no other refusal logged");
    is_deeply(sessions_of_alice(), $sessions, "$what: alice's session is live");
}

# ---- the logout at the provider -------------------------------------------

my $before = metrics();
is_deeply(samples($before, @counted), counted(0, 0, 0, 0, 0, 0),
          'metrics, parsed by Prometheus\'s parser: nothing counted yet');

my $provider = $peers->provider;
(my $provider_host = $provider) =~ s{^http://}{};
is(browser('logout-at-provider'), <<"_EOT_",
sign-in at A: the provider asks for the password
A: signed in as alice (ID token key provider-1)
sign-in at B: single sign-on, no password asked
B: signed in
module: live session
logout at the provider: it asks "Do you want to sign-out from $provider_host?", yes
landed on $provider/session/end/success
module: no session (401)
A: anonymous
B: signed out (sent to the provider)
_EOT_
   'a logout at the provider itself: its logout tokens end the module\'s session, '
   . 'which tells A and B');

# the provider's two tokens, as the receiver got them (its access log)
my $received = poll(sub { Peers::slurp("$root/nginx/received.log") },
                    qr/\A(?:logout_token=[\w.-]+\n){2}\z/);
my %token = map { my ($t) = /^logout_token=(\S+)$/; (claims_of($t)->{aud} => $t) }
            split /\n/, $received;
is_deeply([sort keys %token], [qw(apache-rp express-rp)],
          'the provider posted a logout token for A and one for B to the receiver');
my %claims = map { $_ => claims_of($token{$_}) } keys %token;
for my $aud (sort keys %claims) {
    my $c = $claims{$aud};
    ok($c->{iss} eq $issuer && $c->{sub} eq 'alice' && length($c->{sid} // '')
           && length($c->{jti} // ''),
       "the provider's token for $aud: iss, sub alice, its sid, a jti")
        or diag(explain($c));
}
unlike(error_log(), qr/oidc_logout: backchannel receiver: /,
       'the receiver took both without a refusal');

# the module's token told A of the provider's sid of A's sign-in (and of
# the subject): what A's store holds of the logout tokens it took
my $logged_out = HTTP::Tiny->new(timeout => 10)->get($peers->A . '/logged-out');
my $held = eval { $json->decode($logged_out->{content}) } // [];
is_deeply([sort @$held],
          [sort "$issuer|$claims{'express-rp'}{sid}", "$issuer|alice"],
          'A took the module\'s token, with the sid the provider gave A');

# A and B have their tokens: the module counts each once it has A's (B's)
# answer
my $after = poll(\&metrics, qr/^\Q$counted[3]\E 1$(?s:.*)^\Q$counted[4]\E 1$/m);
is_deeply(samples($after, @counted), counted(2, 0, 1, 1, 1, 0),
          'metrics: two tokens accepted, one session ended by the provider, '
          . 'one token delivered to A and one to B, no session left');

# ---- refusals, with a fresh session of alice live -------------------------

is(browser('sign-in'), <<"_EOT_", 'a fresh session of alice at A and B');
sign-in at A: the provider asks for the password
A: signed in as alice (ID token key provider-1)
sign-in at B: single sign-on, no password asked
B: signed in
module: live session
_EOT_
my $fresh = sessions_of_alice();
is(ref $fresh && scalar @$fresh, 1, 'the module lists one session of alice')
    or diag(explain($fresh));

my $jti = $claims{'express-rp'}{jti};
refused('the provider\'s token for A again', 2070, $token{'express-rp'},
        qq{the token was received before (jti "$jti")}, $fresh);
refused('the provider\'s token for B at a receiver of another audience', $other_port,
        $token{'apache-rp'}, 'aud is not ours', $fresh);

my $own_key = Crypt::PK::RSA->new;
$own_key->generate_key(256);
refused('a token signed by a key of the test', 2070, signed_by($own_key, 'test-1'),
        'no key of kid "test-1" fits RS256', $fresh);
refused('a token signed by a key of the test with the provider\'s kid', 2070,
        signed_by($own_key, 'provider-1'), 'bad signature', $fresh);
refused('a token signed by the module\'s own key', 2070,
        signed_by($peers->module_key, 'module-1'), 'no key of kid "module-1" fits RS256',
        $fresh);
my $unsigned = encode_base64url($json->encode({ alg => 'none', typ => 'logout+jwt' }))
    . '.' . encode_base64url($json->encode(forged_claims())) . '.';
refused('an unsigned token (alg none)', 2070, $unsigned,
        'unsigned (alg none) tokens are never accepted', $fresh);

is(browser('sessions'), <<"_EOT_", 'after the refusals the browser is signed in everywhere');
module: live session
A: signed in as alice (ID token key provider-1)
B: signed in
_EOT_
is_deeply(samples(metrics(), @counted), counted(2, 6, 1, 1, 1, 1),
          'metrics: six tokens refused, nothing more ended or delivered');

{
    my $res = HTTP::Tiny->new(timeout => 10)
        ->get('http://127.0.0.1:2070/oidc/backchannel');
    is($res->{status}, 405, 'a GET at the receiver: 405');
    is($res->{headers}{allow}, 'POST', 'which says POST');
    like($res->{headers}{'content-type'} // '', qr{^application/json},
         'as JSON');
    my $lines = () = error_log()
        =~ /oidc_logout: backchannel receiver: the provider POSTs its logout tokens/g;
    is($lines, 1, 'with one error line');
}

unlike(error_log(), qr/\[(?:alert|crit|emerg)\]/, 'no alert of nginx');

diag(sprintf 'provider_receiver: %.1f s', time - $began);
done_testing();
