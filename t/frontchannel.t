# Front-channel logout: the page the logout endpoint serves when the ended
# session has clients with a frontchannel_logout_uri, and
# oidc_logout_frontchannel_timeout. (t/frontchannel_browser.t runs the
# page in a real browser.)
use Test::Nginx::Socket 'no_plan';
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::RSA;
use JSON::PP;

$ENV{TEST_NGINX_DATA_DIR} = abs_path(dirname(__FILE__)) . '/data';
$ENV{TEST_NGINX_CONF_DIR} = abs_path(dirname(__FILE__)) . '/conf';

# a key generated for this run, and id_token_hints of alice (app1) and bob
# (app4) signed with it
my $dir = tempdir(CLEANUP => 1);
my $pk = Crypt::PK::RSA->new;
$pk->generate_key(256);
open my $f, '>', "$dir/jwks.json" or die;
print $f JSON::PP->new->encode(
    { keys => [{ %{ $pk->export_key_jwk('public', 1) }, kid => 'k1' }] });
close $f;
$ENV{TEST_NGINX_KEYS} = "$dir/jwks.json";

sub hint {
    my ($sub, $aud) = @_;
    return encode_jwt(alg => 'RS256', key => $pk,
                      extra_headers => { kid => 'k1' },
                      payload => { iss => 'https://sso.example.com', sub => $sub,
                                   aud => $aud, iat => time - 60,
                                   exp => time + 3600 });
}
our $alice = hint('alice', 'app1');
our $bob   = hint('bob', 'app4');

# "--- nonces_differ": every response of the block has its own nonce
my %nonces;
add_response_body_check(sub {
    my ($block, $body, $req_idx, $repeated_req_idx, $dry_run) = @_;
    return if !defined $block->nonces_differ || $dry_run;
    my ($nonce) = ($body // '') =~ /<script nonce="([^"]+)"/;
    ok(defined $nonce && !$nonces{$block->name}{$nonce}++,
       $block->name . " - a new nonce (req $req_idx)");
});

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->http_config) {
        $block->set_value('http_config', <<'_EOC_');
oidc_logout_issuer https://sso.example.com;
oidc_logout_keys $TEST_NGINX_KEYS;
oidc_logout_clients $TEST_NGINX_DATA_DIR/frontchannel.json;
oidc_logout_allowed_urls https://portal.example.com/;
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso secure=off;
_EOC_
    }
    if (!defined $block->config) {
        # /flow/MODE signs alice in to app1, app2 and app3, then out through
        # the endpoint of MODE with the request's query; /quiet/MODE does
        # the same for bob and app4. Each hop's auth_request is a request of
        # its own through the loopback to /authorize
        # (t/conf/login_and_join.conf); the session cookie passes on.
        # "--- server_directives" and "--- auth0_directives" go in the
        # server and in the Auth0 endpoint's location
        my $config = ($block->server_directives // '') . <<'_EOC_';
location ~ ^/flow/(?<end>oidc|auth0)$ {
    auth_request /hop/app1;
    auth_request_set $sso $upstream_cookie_oidc_session;
    proxy_set_header Cookie oidc_session=$sso;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/flow2/$end$is_args$args;
}
location ~ ^/flow2/(?<end>oidc|auth0)$ {
    auth_request /hop/app2;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/flow3/$end$is_args$args;
}
location ~ ^/flow3/(?<end>oidc|auth0)$ {
    auth_request /hop/app3;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/end/$end$is_args$args;
}
location ~ ^/quiet/(?<end>oidc|auth0)$ {
    auth_request /hop/app4;
    auth_request_set $sso $upstream_cookie_oidc_session;
    proxy_set_header Cookie oidc_session=$sso;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/end/$end$is_args$args;
}
location ~ ^/hop/(?<client>app[1-4])$ {
    internal;
    set $user "";
    if ($client = app1) { set $user alice; }
    if ($client = app4) { set $user bob; }
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/authorize?user=$user&client_id=$client;
}
include $TEST_NGINX_CONF_DIR/login_and_join.conf;
location = /end/oidc { oidc_logout oidc; }
location = /end/auth0 {
    oidc_logout auth0;
    AUTH0_DIRECTIVES
}
_EOC_
        my $auth0 = $block->auth0_directives // '';
        $config =~ s/AUTH0_DIRECTIVES\n/$auth0/;
        $block->set_value('config', $config);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a session with three front-channel clients: one iframe each
--- request eval
"GET /flow/oidc?id_token_hint=$::alice&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Fbye&state=s1"
--- error_code: 200
--- response_headers
Location:
Cache-Control: no-store
Content-Type: text/html; charset=utf-8
--- response_headers_like
Content-Security-Policy: ^default-src 'none'; frame-src https://app1\.example\.com http://app2\.example\.com:8080 https://app3\.example\.com; script-src 'nonce-[A-Za-z0-9_-]{22}'; style-src 'nonce-[A-Za-z0-9_-]{22}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$
Set-Cookie: ^oidc_session=; Max-Age=0
--- response_body_like eval
qr{^<!DOCTYPE html>
<html lang="en" data-next="https://app1\.example\.com/bye\?state=s1" data-frames="3" data-timeout="7000">
.*<noscript><meta http-equiv="refresh" content="0; url=https://app1\.example\.com/bye\?state=s1"></noscript>
.*<noscript><p><a href="https://app1\.example\.com/bye\?state=s1">Continue</a></p></noscript>
</main>
<iframe src="https://app1\.example\.com/fc\?tenant=a&amp;x=\(1\)&amp;iss=https%3A%2F%2Fsso\.example\.com&amp;sid=[A-Za-z0-9_-]{22}" title="Signing out of app1" tabindex="-1" aria-hidden="true"></iframe>
<iframe src="http://app2\.example\.com:8080/fc&#39;x&#39;" title="Signing out of app2" tabindex="-1" aria-hidden="true"></iframe>
<iframe src="https://app3\.example\.com/logout\?iss=https%3A%2F%2Fsso\.example\.com&amp;sid=[A-Za-z0-9_-]{22}" title="Signing out of app3" tabindex="-1" aria-hidden="true"></iframe>
</body>
</html>
$}s
--- no_error_log
oidc_logout:



=== TEST 2: the script and style carry the nonce of the header
--- request eval
"GET /flow/oidc?id_token_hint=$::alice"
--- error_code: 200
--- response_body_like
<style nonce="[A-Za-z0-9_-]{22}">iframe\{position:absolute;width:0;height:0;border:0\}</style>
<script nonce="[A-Za-z0-9_-]{22}">
--- response_body_unlike
display:\s*none



=== TEST 3: every response has a new nonce
--- request eval
["GET /flow/oidc?id_token_hint=$::alice", "GET /flow/oidc?id_token_hint=$::alice", "GET /flow/auth0"]
--- error_code eval
[200, 200, 200]
--- nonces_differ



=== TEST 4: a hostile state stays inside its attributes, percent-encoded
--- request eval
"GET /flow/oidc?id_token_hint=$::alice&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Fbye&state=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E%27%3B%20url%3Djavascript%3Aalert(2)"
--- error_code: 200
--- response_body_like eval
qr{data-next="https://app1\.example\.com/bye\?state=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E%27%3B%20url%3Djavascript%3Aalert%282%29" .*content="0; url=https://app1\.example\.com/bye\?state=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E%27%3B%20url%3Djavascript%3Aalert%282%29">}s
--- response_body_unlike eval
qr{<script>|alert\(|"><|url=javascript}



=== TEST 5: without a redirect, the page goes on to the signed-out page
--- request eval
"GET /flow/oidc?id_token_hint=$::alice&post_logout_redirect_uri=https%3A%2F%2Fevil.example.com%2F"
--- error_code: 200
--- response_body_like
<html lang="en" data-next="/end/oidc" data-frames="3" data-timeout="7000">
--- error_log
post_logout_redirect_uri "https://evil.example.com/" ignored: not registered for client "app1"



=== TEST 6: the signed-out page itself, once the session is gone
--- request
GET /end/oidc
--- error_code: 200
--- response_body_like
<h1>Signed out</h1>
--- response_body_unlike
<iframe



=== TEST 7: Auth0 mode: the page goes on to returnTo
--- request
GET /flow/auth0?returnTo=https%3A%2F%2Fportal.example.com%2F%3Fa%3D1%26b%3D%2522
--- error_code: 200
--- response_body_like
<html lang="en" data-next="https://portal\.example\.com/\?a=1&amp;b=%22" data-frames="3" data-timeout="7000">



=== TEST 8: a session without front-channel clients: an immediate redirect
--- request eval
"GET /quiet/oidc?id_token_hint=$::bob&post_logout_redirect_uri=https%3A%2F%2Fapp4.example.com%2Fbye&state=s2"
--- error_code: 302
--- response_headers
Location: https://app4.example.com/bye?state=s2
--- response_body



=== TEST 9: a confirmation is not a logout: no page, no iframe
--- request
GET /flow/oidc?post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Fbye
--- error_code: 200
--- response_body_like
<form method="post" action="/end/oidc">
--- response_body_unlike
<iframe



=== TEST 10: oidc_logout_frontchannel_timeout
--- auth0_directives
oidc_logout_frontchannel_timeout 2500ms;
--- request
GET /flow/auth0
--- error_code: 200
--- response_body_like
<html lang="en" data-next="/end/auth0" data-frames="3" data-timeout="2500">



=== TEST 11: the timeout inherited from the server level
--- server_directives
oidc_logout_frontchannel_timeout 3s;
--- request
GET /flow/auth0
--- error_code: 200
--- response_body_like
<html lang="en" data-next="/end/auth0" data-frames="3" data-timeout="3000">



=== TEST 12: a timeout of zero
--- config
location = /logout { oidc_logout auth0; oidc_logout_frontchannel_timeout 0; }
--- must_die
--- error_log eval
qr{\[emerg\] .*"oidc_logout_frontchannel_timeout" directive must be between 1ms and 60s in \S+nginx\.conf:\d+}



=== TEST 13: a timeout over a minute
--- config
location = /logout { oidc_logout auth0; oidc_logout_frontchannel_timeout 2m; }
--- must_die
--- error_log
"oidc_logout_frontchannel_timeout" directive must be between 1ms and 60s



=== TEST 14: a timeout that is not a time
--- config
location = /logout { oidc_logout auth0; oidc_logout_frontchannel_timeout soon; }
--- must_die
--- error_log
"oidc_logout_frontchannel_timeout" directive invalid value



=== TEST 15: a timeout takes one value
--- config
location = /logout { oidc_logout auth0; oidc_logout_frontchannel_timeout 1s 2s; }
--- must_die
--- error_log
invalid number of arguments in "oidc_logout_frontchannel_timeout" directive



=== TEST 16: clients notified with iss and sid need oidc_logout_issuer
--- http_config
oidc_logout_clients $TEST_NGINX_DATA_DIR/frontchannel.json;
--- config
location = /logout { oidc_logout auth0; }
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: client "app1" of "oidc_logout_clients" is notified with the issuer's name \(a back-channel client, or frontchannel_logout_session_required\): "oidc_logout_issuer" must be set in \S+nginx\.conf:\d+}



=== TEST 17: a front-channel URI on another site than the client's
--- http_config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[{"client_id": "app1", "redirect_uris": ["https://app1.example.com/cb"],
  "frontchannel_logout_uri": "https://evil.example.com/fc"}]
--- config
location = /logout { oidc_logout auth0; }
--- must_die
--- error_log
client "app1": frontchannel_logout_uri "https://evil.example.com/fc": its scheme, host and port match none of the client's redirect_uris
