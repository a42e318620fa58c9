# oidc_logout oidc: the RP-Initiated Logout endpoint's redirect decisions.
use Test::Nginx::Socket 'no_plan';
use Cwd qw(abs_path);
use File::Basename qw(dirname);

$ENV{TEST_NGINX_DATA_DIR} = abs_path(dirname(__FILE__)) . '/data';

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->http_config && !defined $block->must_die) {
        $block->set_value('http_config',
            'oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;');
    }
    if (!defined $block->config) {
        $block->set_value('config',
            'location = /logout { oidc_logout oidc; }');
    }
});

# a form POST to /logout in chunks (Transfer-Encoding: chunked): one chunk
# per argument, then the last chunk
sub chunked_post {
    return "POST /logout HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . "Content-Type: application/x-www-form-urlencoded\r\n"
         . "Transfer-Encoding: chunked\r\n\r\n"
         . join('', map { sprintf "%x\r\n%s\r\n", length, $_ } @_)
         . "0\r\n\r\n";
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a registered URI with state: 302 with the same state
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out&state=af0ifjsldkj
--- error_code: 302
--- response_headers
Location: https://app1.example.com/logged-out?state=af0ifjsldkj
Cache-Control: no-store
--- response_body
--- no_error_log
oidc_logout:



=== TEST 2: without state, no state parameter
--- request
GET /logout?post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out&client_id=app1
--- error_code: 302
--- response_headers
Location: https://app1.example.com/logged-out



=== TEST 3: a 90-byte state full of punctuation comes back intact
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out&state=%26%23%25%3F%3D%2F%22%3C%3E%60%27%21%24%28%29%2A%2B%2C%3B%3A%40%5B%5D%7B%7D%7C%5C%5E~%20a-b_c.d%26%23%25%3F%3D%2F%22%3C%3E%60%27%21%24%28%29%2A%2B%2C%3B%3A%40%5B%5D%7B%7D%7C%5C%5E~%20a-b_c.d0123456789abcdef
--- error_code: 302
--- response_headers
Location: https://app1.example.com/logged-out?state=%26%23%25%3F%3D%2F%22%3C%3E%60%27%21%24%28%29%2A%2B%2C%3B%3A%40%5B%5D%7B%7D%7C%5C%5E~%20a-b_c.d%26%23%25%3F%3D%2F%22%3C%3E%60%27%21%24%28%29%2A%2B%2C%3B%3A%40%5B%5D%7B%7D%7C%5C%5E~%20a-b_c.d0123456789abcdef



=== TEST 4: a registered URI with its own query keeps it before state
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Fbye%3Flang%3Den&state=s1
--- error_code: 302
--- response_headers
Location: https://app1.example.com/bye?lang=en&state=s1



=== TEST 5: scheme and host are case-insensitive, default ports equivalent
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=HTTPS%3A%2F%2FApp1.Example.COM%3A443%2Flogged-out
--- error_code: 302
--- response_headers
Location: HTTPS://App1.Example.COM:443/logged-out



=== TEST 6: a path that differs only in case: no redirect
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2FLogged-out&state=x
--- error_code: 200
--- response_headers
Location:
Cache-Control: no-store
Content-Type: text/html; charset=utf-8
--- response_body_like: You have been signed out\.
--- error_log
oidc_logout: post_logout_redirect_uri "https://app1.example.com/Logged-out" ignored: not registered for client "app1"



=== TEST 7: a query added to a registered URI: no redirect
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out%3Ffoo%3Dbar
--- error_code: 200
--- response_headers
Location:
--- error_log
oidc_logout: post_logout_redirect_uri "https://app1.example.com/logged-out?foo=bar" ignored: not registered for client "app1"



=== TEST 8: http where https is registered: no redirect
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=http%3A%2F%2Fapp1.example.com%2Flogged-out
--- error_code: 200
--- response_headers
Location:
--- error_log
oidc_logout: post_logout_redirect_uri "http://app1.example.com/logged-out" ignored: not registered



=== TEST 9: https where http with a port is registered: no redirect
--- request
GET /logout?client_id=app2&post_logout_redirect_uri=https%3A%2F%2Fapp2.example.com%3A8080%2FLogged%2FOut
--- error_code: 200
--- response_headers
Location:
--- error_log
ignored: not registered for client "app2"



=== TEST 10: http with its port, as registered
--- request
GET /logout?client_id=app2&post_logout_redirect_uri=http%3A%2F%2Fapp2.example.com%3A8080%2FLogged%2FOut
--- error_code: 302
--- response_headers
Location: http://app2.example.com:8080/Logged/Out



=== TEST 11: an unknown client_id: no redirect
--- request
GET /logout?client_id=app9&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out
--- error_code: 200
--- response_headers
Location:
--- error_log eval
[qr/\[warn\] .*oidc_logout: unknown client_id "app9"/,
 qr/post_logout_redirect_uri "https:\/\/app1.example.com\/logged-out" ignored: no known client/]



=== TEST 12: another client's URI: no redirect
--- request
GET /logout?client_id=app2&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out
--- error_code: 200
--- response_headers
Location:
--- error_log
ignored: not registered for client "app2"



=== TEST 13: a URI without client_id or hint cannot be trusted: no redirect
--- request
GET /logout?post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out
--- error_code: 200
--- response_headers
Location:
--- error_log
oidc_logout: post_logout_redirect_uri "https://app1.example.com/logged-out" ignored: no known client



=== TEST 14: a scheme-relative URI: no redirect
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=%2F%2Fevil.example%2F
--- error_code: 200
--- response_headers
Location:
--- error_log
oidc_logout: post_logout_redirect_uri "//evil.example/" ignored: no scheme



=== TEST 15: CR LF in the URI never reaches a header
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out%0D%0ASet-Cookie%3A%20x%3Dy
--- error_code: 200
--- response_headers
Set-Cookie:
Location:
--- error_log
control character or space



=== TEST 16: no parameters: the logged-out page
--- request
GET /logout
--- error_code: 200
--- response_headers
Content-Type: text/html; charset=utf-8
Cache-Control: no-store
Content-Security-Policy: default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'
X-Content-Type-Options: nosniff
--- response_body_like: You have been signed out\.
--- no_error_log
oidc_logout:



=== TEST 17: only state: the logged-out page
--- request
GET /logout?state=abc
--- error_code: 200
--- response_headers
Location:
--- response_body_like: You have been signed out\.



=== TEST 18: a repeated parameter
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out&client_id=app2
--- error_code: 400
--- error_log
oidc_logout: parameter "client_id" sent more than once



=== TEST 19: bad percent-encoding in a parameter
--- request
GET /logout?client_id=app1&state=%G0
--- error_code: 400
--- error_log
oidc_logout: bad percent-encoding in parameter "state=%G0"



=== TEST 20: POST with a form body
--- request
POST /logout
client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out&state=p+q
--- more_headers
Content-Type: application/x-www-form-urlencoded; charset=UTF-8
--- error_code: 302
--- response_headers
Location: https://app1.example.com/logged-out?state=p%20q



=== TEST 20b: a form body sent apart from the headers, in two pieces
--- raw_request eval
["POST /logout HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/x-www-form-urlencoded\r
Content-Length: 93\r
\r
", "client_id=app1&post_logout_redirect_uri=", "https%3A%2F%2Fapp1.example.com%2Flogged-out&state=two"]
--- raw_request_middle_delay: 0.05
--- error_code: 302
--- response_headers
Location: https://app1.example.com/logged-out?state=two
--- no_error_log
oidc_logout:



=== TEST 20c: a form body in several chunks (Transfer-Encoding: chunked)
--- raw_request eval
main::chunked_post("client_id=app1&post_logout_redirect_uri=",
                   "https%3A%2F%2Fapp1.example.com%2Flogged-out",
                   "&state=in", "+chunks")
--- error_code: 302
--- response_headers
Location: https://app1.example.com/logged-out?state=in%20chunks
--- no_error_log
oidc_logout:
runtime error
[alert]
[crit]



=== TEST 20d: an empty chunked body: no parameters, the logged-out page
--- raw_request eval
main::chunked_post()
--- error_code: 200
--- response_body_like: You have been signed out\.
--- no_error_log
oidc_logout:
runtime error
[alert]
[crit]



=== TEST 21: POST reads the body, not the query string
--- request
POST /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out
state=abc
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body_like: You have been signed out\.



=== TEST 22: POST with another content type
--- request
POST /logout
{"client_id": "app1"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- error_log
oidc_logout: POST without Content-Type application/x-www-form-urlencoded



=== TEST 23: POST with a body larger than client_body_buffer_size
--- config
location = /logout {
    client_body_buffer_size 1k;
    oidc_logout oidc;
}
--- request eval
"POST /logout\n" . "state=" . ("a" x 2000) . "&client_id=app1"
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 400
--- error_log
oidc_logout: request body larger than client_body_buffer_size



=== TEST 24: other methods are not allowed
--- request
PUT /logout
x
--- error_code: 405



=== TEST 25: HEAD answers the same without a body
--- request
HEAD /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out
--- error_code: 302
--- response_headers
Location: https://app1.example.com/logged-out



=== TEST 26: an endpoint without a registry redirects nowhere
--- http_config
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out
--- error_code: 200
--- response_headers
Location:
--- error_log
oidc_logout: unknown client_id "app1"



=== TEST 27: an unknown mode
--- config
location = /logout { oidc_logout saml; }
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: invalid mode "saml" in "oidc_logout", it must be "oidc" or "auth0" in \S+nginx\.conf:\d+}



=== TEST 28: only in a location
--- config
oidc_logout oidc;
--- must_die
--- error_log
"oidc_logout" directive is not allowed here



=== TEST 29: twice in a location
--- config
location = /logout { oidc_logout oidc; oidc_logout auth0; }
--- must_die
--- error_log
"oidc_logout" directive is duplicate



=== TEST 30: one mode exactly
--- config
location = /logout { oidc_logout; }
--- must_die
--- error_log
invalid number of arguments in "oidc_logout" directive
