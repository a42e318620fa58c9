# oidc_logout auth0: the /v2/logout endpoint's redirect decisions.
use Test::Nginx::Socket 'no_plan';
use Cwd qw(abs_path);
use File::Basename qw(dirname);

$ENV{TEST_NGINX_DATA_DIR} = abs_path(dirname(__FILE__)) . '/data';

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->http_config) {
        $block->set_value('http_config',
            "oidc_logout_clients \$TEST_NGINX_DATA_DIR/clients.json;\n"
            . "oidc_logout_allowed_urls https://portal.example.com/;");
    }
    if (!defined $block->config) {
        $block->set_value('config',
            'location = /v2/logout { oidc_logout auth0; }');
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: returnTo in the application's allowed URLs
--- request
GET /v2/logout?client_id=app1&returnTo=https%3A%2F%2Fapp1.example.com%2Fgoodbye
--- error_code: 302
--- response_headers
Location: https://app1.example.com/goodbye
Cache-Control: no-store
--- no_error_log
oidc_logout:



=== TEST 2: the query of returnTo is allowed and kept
--- request
GET /v2/logout?client_id=app1&returnTo=https%3A%2F%2Fapp1.example.com%2Fgoodbye%3Fnext%3D%252Fhome%26x%3D1
--- error_code: 302
--- response_headers
Location: https://app1.example.com/goodbye?next=%2Fhome&x=1



=== TEST 3: a one-label wildcard
--- request
GET /v2/logout?client_id=app1&returnTo=https%3A%2F%2Feu.app1.example.com%2Fgoodbye
--- error_code: 302
--- response_headers
Location: https://eu.app1.example.com/goodbye



=== TEST 4: the wildcard is one label only
--- request
GET /v2/logout?client_id=app1&returnTo=https%3A%2F%2Fa.eu.app1.example.com%2Fgoodbye
--- error_code: 400
--- error_log
oidc_logout: returnTo "https://a.eu.app1.example.com/goodbye" is not in the allowed_logout_urls of client "app1"



=== TEST 5: a path that differs only in case
--- request
GET /v2/logout?client_id=app1&returnTo=https%3A%2F%2Fapp1.example.com%2FGoodbye
--- error_code: 400
--- response_headers
Location:
--- error_log
is not in the allowed_logout_urls of client "app1"



=== TEST 6: scheme and host case, default port
--- request
GET /v2/logout?client_id=app1&returnTo=HTTPS%3A%2F%2FAPP1.example.com%3A443%2Fgoodbye
--- error_code: 302
--- response_headers
Location: HTTPS://APP1.example.com:443/goodbye



=== TEST 7: http where https is allowed
--- request
GET /v2/logout?client_id=app1&returnTo=http%3A%2F%2Fapp1.example.com%2Fgoodbye
--- error_code: 400
--- error_log
is not in the allowed_logout_urls of client "app1"



=== TEST 8: with client_id the tenant list does not apply
--- request
GET /v2/logout?client_id=app1&returnTo=https%3A%2F%2Fportal.example.com%2F
--- error_code: 400
--- error_log
is not in the allowed_logout_urls of client "app1"



=== TEST 9: without client_id the tenant list applies
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fportal.example.com%2F
--- error_code: 302
--- response_headers
Location: https://portal.example.com/



=== TEST 10: without client_id an application's URL is refused
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fapp1.example.com%2Fgoodbye
--- error_code: 400
--- error_log
oidc_logout: returnTo "https://app1.example.com/goodbye" is not in the tenant's allowed URLs



=== TEST 11: client_id without returnTo goes to the first allowed URL
--- request
GET /v2/logout?client_id=app1
--- error_code: 302
--- response_headers
Location: https://app1.example.com/goodbye



=== TEST 12: client_id whose only URL is a wildcard: the logged-out page
--- request
GET /v2/logout?client_id=app2
--- error_code: 200
--- response_body_like: You have been signed out\.



=== TEST 13: an unknown client_id
--- request
GET /v2/logout?client_id=nobody&returnTo=https%3A%2F%2Fportal.example.com%2F
--- error_code: 400
--- error_log
oidc_logout: unknown client_id "nobody"



=== TEST 14: no parameters: the logged-out page
--- request
GET /v2/logout
--- error_code: 200
--- response_headers
Cache-Control: no-store
--- response_body_like: You have been signed out\.
--- no_error_log
oidc_logout:



=== TEST 15: an open-redirect attempt through userinfo
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fportal.example.com%40evil.example%2F
--- error_code: 400
--- error_log
oidc_logout: returnTo "https://portal.example.com@evil.example/": userinfo is not allowed



=== TEST 16: a backslash
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fportal.example.com%5C%40evil.example%2F
--- error_code: 400
--- error_log
backslash



=== TEST 17: returnTo twice
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fportal.example.com%2F&returnTo=https%3A%2F%2Fevil.example%2F
--- error_code: 400
--- error_log
oidc_logout: parameter "returnTo" sent more than once



=== TEST 18: POST with a form body
--- request
POST /v2/logout
returnTo=https%3A%2F%2Fportal.example.com%2F
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 302
--- response_headers
Location: https://portal.example.com/
