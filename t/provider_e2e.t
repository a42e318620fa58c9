# End to end in front of an unmodified provider: node-oidc-provider from
# npm (t/interop/provider, only its documented configuration) behind the
# stock nginx with the module, which is the provider's public origin (its
# issuer): nginx proxies the provider, watches its authorization and token
# endpoints, answers its end_session path and its jwks_uri path itself. Two
# real applications sign in there: A on express-openid-connect
# (t/interop/express-rp) and B on Apache with mod_auth_openidc
# (t/interop/apache_rp.conf), both told of a logout by the back channel,
# and B by the front channel in the last test. A real browser (Debian's
# Chromium through playwright-core, t/interop/provider_browser.mjs) plays
# each scenario and reports, line by line, what it saw; each application is
# asked about its own session (A's /session, B's protected page). Every
# one of them is installed by build.sh: a missing one is a failure.
#
# Ports: nginx on the Test::Nginx port (1984), the provider on the next
# one, then A, B and the browser's control port. Files in
# t/servroot-provider-e2e (keys, registrations, logs, screenshots).
# Tests 2 to 5 have no config of their own: they go on with the nginx of
# test 1 (its zone, and no reload when the provider's keys rotate).
use Test::Nginx::Socket 'no_plan';

use Cwd qw(abs_path);
use Crypt::PK::RSA;
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use JSON::PP;
use lib dirname(abs_path(__FILE__)) . '/support';
use Peers;

no_shuffle();
no_root_location();

my $here    = abs_path(dirname(__FILE__));
my $interop = "$here/interop";
my $root    = "$here/servroot-provider-e2e";
my $node    = $ENV{NODE_BINARY} // 'node';
my $chromium = $ENV{CHROMIUM} // '/usr/bin/chromium';

-x $chromium
    or BAIL_OUT("$chromium is missing: run ./build.sh test, which installs it");
for (['provider/node_modules/oidc-provider', 'oidc-provider'],
     ['express-rp/node_modules/express-openid-connect', 'express-openid-connect'],
     ['node_modules/playwright-core', 'playwright-core']) {
    -d "$interop/$_->[0]"
        or BAIL_OUT("$_->[1] is missing: run ./build.sh test, which installs it");
}

my $nginx_port = server_port();
my %port = (provider => $nginx_port + 1, a => $nginx_port + 2, b => $nginx_port + 3,
            browser => $nginx_port + 4);
for my $p (sort values %port) {
    BAIL_OUT("port $p is in use: stop whatever listens there") if listening($p);
}
our $issuer = "http://127.0.0.1:$nginx_port";
our $A = "http://127.0.0.1:$port{a}";
our $B = "http://127.0.0.1:$port{b}";
# node-oidc-provider's session cookie, signed (t/interop/provider/provider.mjs)
my $provider_cookies = '_session _session.sig';

remove_tree($root);
make_path("$root/screenshots");
chmod 0755, $root;
my $json = JSON::PP->new->canonical->pretty;

sub private_jwk {
    my ($kid) = @_;
    my $pk = Crypt::PK::RSA->new;
    $pk->generate_key(256);
    return { %{ $pk->export_key_jwk('private', 1) }, kid => $kid, use => 'sig',
             alg => 'RS256' };
}
# the provider's signing keys, before and after the rotation of test 4; the
# module's own key, which signs the logout tokens
my %provider_key = map { $_ => private_jwk($_) } qw(provider-1 provider-2);
write_file("$root/module-keys.json", $json->encode({ keys => [private_jwk('module-1')] }),
           0600);

# The registrations: the same file for the provider and the module. A is
# told by the back channel; B too, or by the front channel
# (clients-frontchannel.json, the module's in test 5: the provider keeps
# clients.json, whose logout fields it never uses, since nginx answers its
# end_session path).
sub registrations {
    my ($b_channel) = @_;
    my %b_logout = $b_channel eq 'back'
        ? (backchannel_logout_uri => "$B/protected/redirect_uri?logout=backchannel",
           backchannel_logout_session_required => JSON::PP::true)
        : (frontchannel_logout_uri => "$B/protected/redirect_uri?logout=get",
           frontchannel_logout_session_required => JSON::PP::true);
    return $json->encode({ clients => [
        { client_id => 'express-rp', client_secret => 'express-rp-secret',
          redirect_uris => ["$A/callback"],
          post_logout_redirect_uris => ["$A/goodbye", "$B/goodbye.html"],
          backchannel_logout_uri => "$A/backchannel-logout",
          backchannel_logout_session_required => JSON::PP::true },
        { client_id => 'apache-rp', client_secret => 'apache-rp-secret',
          redirect_uris => ["$B/protected/redirect_uri"],
          post_logout_redirect_uris => ["$B/goodbye.html"], %b_logout },
    ] });
}
write_file("$root/clients.json", registrations('back'));
write_file("$root/clients-frontchannel.json", registrations('front'));

# ---- the provider, the applications, the browser --------------------------

# (re)starts the provider with these signing keys, the first one signing
sub start_provider {
    my (@kids) = @_;
    stop_peer('provider');
    write_file("$root/provider-keys.json",
               $json->encode({ keys => [ @provider_key{@kids} ] }), 0600);
    my $log = "$root/provider.log";
    spawn('provider', $log,
          { PORT => $port{provider}, ISSUER => $issuer, CLIENTS => "$root/clients.json",
            JWKS => "$root/provider-keys.json" },
          $node, "$interop/provider/provider.mjs");
    wait_listening('provider', $port{provider}, $log);
}
start_provider('provider-1');

# A fetches the discovery document and the keys when it first needs them
# (nginx is not up yet). It fetches the keys again for an unknown kid, but
# at most once a minute (openid-client), so the rotation of test 4 restarts
# it too: the test is about nginx, which is not reloaded.
sub start_express_rp {
    stop_peer('express-rp');
    spawn('express-rp', "$root/express-rp.log",
          { PORT => $port{a}, ISSUER => $issuer, CLIENT_ID => 'express-rp' },
          $node, "$interop/express-rp/app.cjs");
    wait_listening('express-rp', $port{a}, "$root/express-rp.log");
}
start_express_rp();

start_apache_rp(name => 'apache-rp', root => "$root/apache", interop => $interop,
                port => $port{b}, issuer => $issuer, client_id => 'apache-rp',
                pages => { 'protected/index.html' => "apache-rp: protected\n",
                           'goodbye.html' => "apache-rp: goodbye\n" });

spawn('browser', "$root/browser.log",
      { PORT => $port{browser}, ISSUER => $issuer, APP_A => $A, APP_B => $B,
        PROVIDER_COOKIES => $provider_cookies, MODULE_KIDS => 'module-1',
        SCREENSHOTS => "$root/screenshots",
        CHROMIUM => $chromium },
      $node, "$interop/provider_browser.mjs");
wait_listening('browser', $port{browser}, "$root/browser.log");

# ---- nginx: the provider's public origin -----------------------------------

sub http_config {
    my ($clients) = @_;
    return <<"_EOC_";
    oidc_logout_zone zone=sso:4m;
    oidc_logout_session zone=sso secure=off;
    oidc_logout_issuer $issuer;
    oidc_logout_clients $root/$clients;
    oidc_logout_keys $root/module-keys.json;
    oidc_logout_keys_url http://127.0.0.1:$port{provider}/jwks refresh=2s;
    oidc_logout_provider_cookies $provider_cookies;
_EOC_
}
our %http_config = (back => http_config('clients.json'),
                    front => http_config('clients-frontchannel.json'));

our $server_config = <<"_EOC_";
    proxy_set_header Host \$http_host;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header X-Forwarded-Host \$http_host;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    # the module reads the authorization and token responses: plain ones
    proxy_set_header Accept-Encoding "";

    location / {
        proxy_pass http://127.0.0.1:$port{provider};
    }
    location /auth {        # /auth and the resume URLs /auth/<uid>
        oidc_logout_authorization_endpoint;
        proxy_pass http://127.0.0.1:$port{provider};
    }
    location = /token {
        oidc_logout_token_endpoint;
        proxy_pass http://127.0.0.1:$port{provider};
    }
    location = /session/end {
        oidc_logout oidc;
        oidc_logout_backchannel_wait 10s;   # the redirect waits for the tokens
    }
    location = /jwks {
        oidc_logout_jwks;
    }

    # the test's own: GET /browser/SCENARIO plays it in the browser
    location /browser/ {
        proxy_pass http://127.0.0.1:$port{browser}/;
        proxy_read_timeout 120s;
    }
_EOC_

# ---- what the browser must see ----------------------------------------------

sub signed_out_at_both { "A: anonymous\nB: signed out (sent to the provider)\n" }

# a sign-in at A with the password, then single sign-on at B; A's ID token
# signed by the provider's key kid
sub sign_in_at_both {
    my ($kid) = @_;
    return "sign-in at A: the provider asks for the password\n"
         . "A: signed in as alice (ID token key $kid)\n"
         . "sign-in at B: single sign-on, no password asked\n"
         . "B: signed in\n";
}

# A's /logout with its id_token_hint: no confirmation, A's
# post_logout_redirect_uri, both sessions over, the provider's cookies gone;
# nginx's jwks_uri serves the module's key and the provider's keys @kids
sub logout_at_a {
    my (@kids) = @_;
    return "logout at A: no confirmation\n"
         . "landed on $A/goodbye\n"
         . signed_out_at_both()
         . "provider cookies left: none\n"
         . "keys at nginx's jwks_uri: @{[ sort 'module-1', @kids ]}\n";
}

# sign in at A and B with an ID token of the provider's key $kid, log out
# at A (the scenario sso-then-logout)
sub sso_then_logout {
    my ($kid, @kids) = @_;
    return signed_out_at_both() . sign_in_at_both($kid)
         . "provider cookies saved: $provider_cookies\n" . logout_at_a(@kids);
}

# no alert of nginx in any test
add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value(no_error_log => [qw([alert] [crit] [emerg])])
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: sign in at A with the password, single sign-on at B, log out at A with its id_token_hint: no confirmation, both applications' sessions end (back channel), the browser lands on A's post_logout_redirect_uri
--- http_config eval: $::http_config{back}
--- config eval: $::server_config
--- request
GET /browser/sso-then-logout
--- timeout: 90
--- response_body eval: ::sso_then_logout('provider-1', 'provider-1')



=== TEST 2: after that logout, signing in at A asks for the password again, also with the provider's old cookies put back into the browser; a second logout ends both sessions again
--- request
GET /browser/sign-in-again
--- timeout: 90
--- response_body eval
"old provider cookies put back: _session _session.sig\n"
. ::sign_in_at_both('provider-1')
. ::logout_at_a('provider-1')



=== TEST 3: logout without a hint, with client_id and a post_logout_redirect_uri on B's origin: confirmation, confirm, the browser lands there; both sessions end
--- request
GET /browser/logout-without-hint
--- timeout: 90
--- response_body eval
::sign_in_at_both('provider-1')
. "logout without a hint: confirmation asked\n"
. "landed on $::B/goodbye.html\n"
. ::signed_out_at_both()



=== TEST 4: the provider rotates to a new signing key (restarted with [new, old]) and the browser signs in at once: its authorization response is observed before nginx has the new key, A's callback (which then fetches the jwks_uri from nginx) goes on once nginx serves it, and the hint signed by the new key is accepted without a reload of nginx, no confirmation
--- init
::start_provider('provider-2', 'provider-1');
::start_express_rp();
--- request
GET /browser/sso-then-logout?await=provider-2
--- timeout: 90
--- response_body eval: ::sso_then_logout('provider-2', 'provider-1', 'provider-2')



=== TEST 5: once nginx has fetched the rotated keys (not reloaded), sign-in and a logout with a hint of the new key: no confirmation, both sessions end
--- request
GET /browser/sso-then-logout
--- timeout: 90
--- response_body eval: ::sso_then_logout('provider-2', 'provider-1', 'provider-2')



=== TEST 6: B told by the front channel: sign in at A and B, log out at A with its hint: no confirmation, both sessions end, the browser lands on A's post_logout_redirect_uri
--- http_config eval: $::http_config{front}
--- config eval: $::server_config
--- request
GET /browser/sso-then-logout
--- timeout: 90
--- response_body eval: ::sso_then_logout('provider-2', 'provider-1', 'provider-2')
