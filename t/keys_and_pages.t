# oidc_logout_issuer, oidc_logout_keys, oidc_logout_keys_url, oidc_logout_jwks,
# oidc_logout_metadata, oidc_logout_page and oidc_logout_federated_url:
# what they serve, and every way their configuration fails.
use Test::Nginx::Socket 'no_plan';
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Crypt::PK::RSA;
use JSON::PP;

$ENV{TEST_NGINX_DATA_DIR} = abs_path(dirname(__FILE__)) . '/data';

# a JWKS of a key generated for this run (private part included: the
# module must never serve it)
my $dir = tempdir(CLEANUP => 1);
my $pk = Crypt::PK::RSA->new;
$pk->generate_key(256);
my $jwk = { %{ $pk->export_key_jwk('private', 1) }, kid => 'k1' };
open my $f, '>', "$dir/jwks.json" or die;
print $f JSON::PP->new->encode({ keys => [$jwk] });
close $f;
$ENV{TEST_NGINX_KEYS} = "$dir/jwks.json";
# the same key without its private part: it verifies, it cannot sign
open $f, '>', "$dir/public.json" or die;
print $f JSON::PP->new->encode(
    { keys => [{ %{ $pk->export_key_jwk('public', 1) }, kid => 'k1' }] });
close $f;
$ENV{TEST_NGINX_PUBLIC_KEYS} = "$dir/public.json";
# the same key with one character in the middle of d changed: its primes
# and CRT members, which signing uses, are intact
my %bad = %$jwk;
my $mid = int(length($bad{d}) / 2);
substr($bad{d}, $mid, 1) = substr($bad{d}, $mid, 1) eq 'A' ? 'B' : 'A';
open $f, '>', "$dir/bad-d.json" or die;
print $f JSON::PP->new->encode({ keys => [\%bad] });
close $f;
$ENV{TEST_NGINX_BAD_D_KEYS} = "$dir/bad-d.json";

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->http_config) {
        $block->set_value('http_config', <<'_EOC_');
oidc_logout_issuer https://sso.example.com/;
oidc_logout_keys $TEST_NGINX_KEYS;
oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;
_EOC_
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the public JWKS, without private members
--- config
location = /jwks { oidc_logout_jwks; }
--- request
GET /jwks
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"keys":\[\{(?=.*"kid":"k1")(?=.*"kty":"RSA").*\}\]\}$
--- response_body_unlike: "(d|p|q|dp|dq|qi)":



=== TEST 2: the discovery fragment
--- config
location = /logout { oidc_logout oidc; }
location = /keys { oidc_logout_jwks; }
location = /.well-known/openid-configuration { oidc_logout_metadata; }
--- request
GET /.well-known/openid-configuration
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chop
{"issuer":"https://sso.example.com/","end_session_endpoint":"https://sso.example.com/logout","jwks_uri":"https://sso.example.com/keys","frontchannel_logout_supported":true,"frontchannel_logout_session_supported":true,"backchannel_logout_supported":true,"backchannel_logout_session_supported":true}



=== TEST 2b: keys that cannot sign: no back-channel support
--- http_config
oidc_logout_issuer https://sso.example.com/;
oidc_logout_keys $TEST_NGINX_PUBLIC_KEYS;
oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;
--- config
location = /logout { oidc_logout oidc; }
location = /.well-known/openid-configuration { oidc_logout_metadata; }
--- request
GET /.well-known/openid-configuration
--- error_code: 200
--- response_body chop
{"issuer":"https://sso.example.com/","end_session_endpoint":"https://sso.example.com/logout","frontchannel_logout_supported":true,"frontchannel_logout_session_supported":true,"backchannel_logout_supported":false,"backchannel_logout_session_supported":false}



=== TEST 3: a hint that cannot be verified is noted, and not followed
--- config
location = /logout { oidc_logout oidc; }
--- request
GET /logout?id_token_hint=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.&client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F
--- error_code: 200
--- response_headers
Location:
--- error_log eval
[qr/\[warn\] .*oidc_logout: id_token_hint refused: unsigned \(alg none\) tokens are never accepted/,
 qr/post_logout_redirect_uri "https:\/\/evil.example\/" ignored: not registered for client "app1"/]



=== TEST 4: a logged-out page template
--- config
oidc_logout_page logged_out ../html/out.html;
location = /logout { oidc_logout oidc; }
--- user_files
>>> out.html
<html><h1>ACME</h1><p>{{title}}: {{message}}</p></html>
--- request
GET /logout
--- error_code: 200
--- response_body
<html><h1>ACME</h1><p>Signed out: You have been signed out.</p></html>



=== TEST 5: an error page template
--- config
location = /logout {
    oidc_logout_page error ../html/error.html;
    oidc_logout oidc;
}
--- user_files
>>> error.html
<p class="oops">{{message}}</p>
--- request
GET /logout?state=a&state=b
--- error_code: 400
--- response_body
<p class="oops">The sign-out request is malformed.</p>



=== TEST 6: a federated URL without "federated" is not used
--- http_config
oidc_logout_issuer https://sso.example.com/;
oidc_logout_allowed_urls https://portal.example.com/;
oidc_logout_federated_url https://idp.example.com/logout?back=$oidc_logout_return_to;
--- config
location = /v2/logout { oidc_logout auth0; }
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fportal.example.com%2F
--- error_code: 302
--- response_headers
Location: https://portal.example.com/



=== TEST 7: a federated logout: back to the endpoint on the issuer's origin
--- http_config
oidc_logout_issuer https://sso.example.com/;
oidc_logout_allowed_urls https://portal.example.com/;
oidc_logout_federated_url https://idp.example.com/logout?back=$oidc_logout_return_to;
--- config
location = /v2/logout { oidc_logout auth0; }
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fportal.example.com%2F&federated
--- error_code: 302
--- response_headers
Location: https://idp.example.com/logout?back=https%3A%2F%2Fsso.example.com%2Fv2%2Flogout%3FreturnTo%3Dhttps%253A%252F%252Fportal.example.com%252F



=== TEST 7b: a federated logout with a hostile Host: nothing of it in the way back
--- http_config
oidc_logout_issuer https://sso.example.com:8443/tenant;
oidc_logout_allowed_urls https://portal.example.com/;
oidc_logout_federated_url https://idp.example.com/logout?back=$oidc_logout_return_to;
--- config
location = /v2/logout {
    oidc_logout auth0;
    add_header X-Return-To $oidc_logout_return_to always;
}
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fportal.example.com%2F&federated
--- more_headers
Host: evil.example:1@x
--- error_code: 302
--- response_headers
Location: https://idp.example.com/logout?back=https%3A%2F%2Fsso.example.com%3A8443%2Fv2%2Flogout%3FreturnTo%3Dhttps%253A%252F%252Fportal.example.com%252F
X-Return-To: https%3A%2F%2Fsso.example.com%3A8443%2Fv2%2Flogout%3FreturnTo%3Dhttps%253A%252F%252Fportal.example.com%252F
--- raw_response_headers_unlike: evil



=== TEST 7c: a federated logout in HTTP/1.0 without Host
--- http_config
oidc_logout_issuer https://sso.example.com/;
oidc_logout_allowed_urls https://portal.example.com/;
oidc_logout_federated_url https://idp.example.com/logout?back=$oidc_logout_return_to;
--- config
location = /v2/logout {
    oidc_logout auth0;
    add_header X-Return-To $oidc_logout_return_to always;
}
--- raw_request eval
"GET /v2/logout?federated HTTP/1.0\r
\r
"
--- error_code: 302
--- response_headers
Location: https://idp.example.com/logout?back=https%3A%2F%2Fsso.example.com%2Fv2%2Flogout
X-Return-To: https%3A%2F%2Fsso.example.com%2Fv2%2Flogout



=== TEST 7d: a federated URL needs the issuer, whose origin the way back is on
--- http_config
oidc_logout_federated_url https://idp.example.com/logout?back=$oidc_logout_return_to;
--- config
location = /v2/logout { oidc_logout auth0; }
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: "oidc_logout auth0" with "oidc_logout_federated_url" needs "oidc_logout_issuer": the way back to the endpoint is its path on the issuer's origin in \S+nginx\.conf:\d+}



=== TEST 8: a missing JWKS file
--- http_config
oidc_logout_keys $TEST_NGINX_DATA_DIR/no-keys.json;
--- config
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: oidc_logout_keys "[^"]*/no-keys\.json": unable to open .* in \S+nginx\.conf:\d+}



=== TEST 9: a JWKS with a symmetric key
--- http_config
oidc_logout_keys ../html/jwks.json;
--- config
--- user_files
>>> jwks.json
{"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}
--- must_die
--- error_log
oidc_logout: oidc_logout_keys "/



=== TEST 10: the reason of a refused key
--- http_config
oidc_logout_keys ../html/jwks.json;
--- config
--- user_files
>>> jwks.json
{"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}
--- must_die
--- error_log
key #1 (kid "s"): symmetric keys are not accepted



=== TEST 10b: a private key whose d does not match its other members
--- http_config
oidc_logout_keys $TEST_NGINX_BAD_D_KEYS;
--- config
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: oidc_logout_keys "[^"]*/bad-d\.json": key #1 \(kid "k1"\): inconsistent private key: EVP_PKEY_check failed: the private members do not match the public ones in \S+nginx\.conf:\d+}



=== TEST 11: a JWKS that is not JSON
--- http_config
oidc_logout_keys ../html/jwks.json;
--- config
--- user_files
>>> jwks.json
{"keys": [
--- must_die
--- error_log eval
qr/oidc_logout: oidc_logout_keys "[^"]*jwks\.json": line \d+, column \d+: /



=== TEST 12: keys twice
--- http_config
oidc_logout_keys $TEST_NGINX_KEYS;
oidc_logout_keys $TEST_NGINX_KEYS;
--- config
--- must_die
--- error_log
"oidc_logout_keys" directive is duplicate



=== TEST 13: an issuer that is not an absolute URL
--- http_config
oidc_logout_issuer sso.example.com;
--- config
--- must_die
--- error_log
oidc_logout: oidc_logout_issuer "sso.example.com": no scheme (relative or scheme-relative URL)



=== TEST 14: an issuer twice
--- http_config
oidc_logout_issuer https://a.example.com;
oidc_logout_issuer https://b.example.com;
--- config
--- must_die
--- error_log
"oidc_logout_issuer" directive is duplicate



=== TEST 15: a JWKS location needs keys
--- http_config
--- config
location = /jwks { oidc_logout_jwks; }
--- must_die
--- error_log
oidc_logout: "oidc_logout_jwks" needs "oidc_logout_keys"



=== TEST 16: metadata needs an issuer
--- http_config
--- config
location = /logout { oidc_logout oidc; }
location = /meta { oidc_logout_metadata; }
--- must_die
--- error_log
oidc_logout: "oidc_logout_metadata" needs "oidc_logout_issuer" and a location with "oidc_logout oidc" in the same server



=== TEST 17: metadata needs an OIDC endpoint in the server
--- config
location = /v2/logout { oidc_logout auth0; }
location = /meta { oidc_logout_metadata; }
--- must_die
--- error_log
needs "oidc_logout_issuer" and a location with "oidc_logout oidc" in the same server



=== TEST 18: a page of an unknown kind
--- config
oidc_logout_page goodbye ../html/p.html;
--- must_die
--- error_log
oidc_logout: invalid page "goodbye" in "oidc_logout_page", it must be "logged_out", "error" or "confirm"



=== TEST 19: a page file that cannot be read
--- config
oidc_logout_page error ../html/none.html;
--- must_die
--- error_log eval
qr/oidc_logout: oidc_logout_page error "[^"]*none\.html": cannot be read/



=== TEST 20: an unknown placeholder
--- config
oidc_logout_page logged_out ../html/p.html;
--- user_files
>>> p.html
<p>{{user}}</p>
--- must_die
--- error_log
unknown placeholder "{{user}}"



=== TEST 21: a confirmation page without its form
--- config
oidc_logout_page confirm ../html/p.html;
--- user_files
>>> p.html
<p>{{message}}</p>
--- must_die
--- error_log
a confirmation page needs {{form}}



=== TEST 22: a page kind twice at one level
--- config
oidc_logout_page error ../html/p.html;
oidc_logout_page error ../html/p.html;
--- user_files
>>> p.html
<p>{{message}}</p>
--- must_die
--- error_log
"oidc_logout_page" directive is duplicate



=== TEST 23: a JWKS location takes no argument
--- config
location = /jwks { oidc_logout_jwks on; }
--- must_die
--- error_log
invalid number of arguments in "oidc_logout_jwks" directive



=== TEST 24: hints need an issuer to be verified
--- http_config
oidc_logout_keys $TEST_NGINX_KEYS;
oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;
--- config
location = /logout { oidc_logout oidc; }
--- must_die
--- error_log
oidc_logout: "oidc_logout oidc" with "oidc_logout_keys" needs "oidc_logout_issuer" and "oidc_logout_clients" to verify id_token_hint



=== TEST 25: hints need registered clients to be verified
--- http_config
oidc_logout_issuer https://sso.example.com;
oidc_logout_keys $TEST_NGINX_KEYS;
--- config
location = /logout { oidc_logout oidc; }
--- must_die
--- error_log
needs "oidc_logout_issuer" and "oidc_logout_clients" to verify id_token_hint



=== TEST 26: a forged alg never reaches the log raw
--- config
location = /logout { oidc_logout oidc; }
--- request eval
use MIME::Base64 qw(encode_base64url);
"GET /logout?id_token_hint=" . encode_base64url(qq({"alg":"HS256\\r\\n[emerg] forged"})) . ".e30.c2ln"
--- error_code: 200
--- error_log
oidc_logout: id_token_hint refused: HMAC ("HS256\x0D\x0A[emerg] forged") tokens are never accepted
--- no_error_log eval
qr/^\[emerg\] forged/



=== TEST 27: metadata only in a location
--- config
oidc_logout_metadata;
--- must_die
--- error_log
"oidc_logout_metadata" directive is not allowed here



=== TEST 28: the provider's keys come over http or https
--- http_config
oidc_logout_keys_url ftp://idp.example.com/jwks;
--- config
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: oidc_logout_keys_url "ftp://idp\.example\.com/jwks": the scheme must be http or https in \S+nginx\.conf:\d+}



=== TEST 29: a keys URL under the strict rules of URLs
--- http_config
oidc_logout_keys_url http://127.0.0.1/jwks#keys;
--- config
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: oidc_logout_keys_url "http://127\.0\.0\.1/jwks#keys": a fragment is not allowed in \S+nginx\.conf:\d+}



=== TEST 30: a refresh period of at least a second
--- http_config
oidc_logout_keys_url http://127.0.0.1/jwks refresh=0;
--- config
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: invalid "refresh=0" in "oidc_logout_keys_url": between 1s and 7d in \S+nginx\.conf:\d+}



=== TEST 31: no other parameter
--- http_config
oidc_logout_keys_url http://127.0.0.1/jwks timeout=1s;
--- config
--- must_die
--- error_log
oidc_logout: invalid parameter "timeout=1s" in "oidc_logout_keys_url"



=== TEST 32: fetched keys verify hints only with an issuer and clients
--- http_config
oidc_logout_keys_url http://127.0.0.1/jwks;
oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;
--- config
location = /logout { oidc_logout oidc; }
--- must_die
--- error_log
oidc_logout: "oidc_logout oidc" with "oidc_logout_keys_url" needs "oidc_logout_issuer" and "oidc_logout_clients" to verify id_token_hint



=== TEST 33: the JWKS of the provider's keys alone, none fetched yet
--- http_config
oidc_logout_keys_url http://127.0.0.1:1/jwks;
--- config
location = /jwks { oidc_logout_jwks; }
--- request
GET /jwks
--- response_body chomp
{"keys":[]}
