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
# one of them is installed by build.sh: a missing one is a failure
# (t/support/ProviderPeers.pm starts them, for t/provider_receiver.t too).
#
# Ports: nginx on the Test::Nginx port (1984), the provider on the next
# one, then A, B and the browser's control port. Files in
# t/servroot-provider-e2e (keys, registrations, logs, screenshots).
# Tests 2 to 5 have no config of their own: they go on with the nginx of
# test 1 (its zone, and no reload when the provider's keys rotate).
use Test::Nginx::Socket 'no_plan';

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use lib dirname(abs_path(__FILE__)) . '/support';
use ProviderPeers;

no_shuffle();
no_root_location();

my $here = abs_path(dirname(__FILE__));
my $root = "$here/servroot-provider-e2e";
our $peers = ProviderPeers->new(root => $root, nginx_port => server_port());
our $A = $peers->A;
our $B = $peers->B;
my $provider_cookies = $ProviderPeers::provider_cookies;

# The registrations: the same file for the provider and the module. A is
# told by the back channel; B too, or by the front channel
# (clients-frontchannel.json, the module's in test 5: the provider keeps
# clients.json, whose logout fields it never uses, since nginx answers its
# end_session path).
my %a_logout = (A => ProviderPeers::backchannel_at($peers->a_backchannel));
my $clients = $peers->write_registrations(
    'clients.json', %a_logout, B => ProviderPeers::backchannel_at($peers->b_backchannel));
$peers->write_registrations(
    'clients-frontchannel.json', %a_logout,
    B => ProviderPeers::frontchannel_at($peers->b_frontchannel));

# ---- the provider, the applications, the browser --------------------------

# (re)starts the provider with these signing keys, the first one signing
sub start_provider { $peers->start_provider($clients, @_) }
start_provider('provider-1');

# The rotation of test 4 restarts A too (it fetches the keys again for an
# unknown kid at most once a minute): the test is about nginx, which is not
# reloaded.
sub start_express_rp { $peers->start_express_rp }
start_express_rp();
$peers->start_apache_rp;
$peers->start_browser;

# ---- nginx: the provider's public origin -----------------------------------

our %http_config = (back => $peers->http_directives('clients.json'),
                    front => $peers->http_directives('clients-frontchannel.json'));

our $server_config = $peers->origin_locations . <<"_EOC_";

    # the test's own: GET /browser/SCENARIO plays it in the browser
    location /browser/ {
        proxy_pass http://127.0.0.1:@{[ $peers->port('browser') ]}/;
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
