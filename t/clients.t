# oidc_logout_clients: loading the client registry, and every way it fails.
use Test::Nginx::Socket 'no_plan';
use Cwd qw(abs_path);
use File::Basename qw(dirname);

$ENV{TEST_NGINX_DATA_DIR} = abs_path(dirname(__FILE__)) . '/data';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a registry at http level serves the server's endpoint
--- http_config
oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;
--- config
location = /logout { oidc_logout oidc; }
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out
--- error_code: 302
--- response_headers
Location: https://app1.example.com/logged-out
--- no_error_log
oidc_logout:



=== TEST 2: the array form, from a path relative to the configuration
--- config
oidc_logout_clients ../html/clients.json;
location = /logout { oidc_logout oidc; }
--- user_files
>>> clients.json
[{"client_id": "web", "post_logout_redirect_uris": ["https://web.example.com/"],
  "unknown_field": {"ignored": true}}]
--- request
GET /logout?client_id=web&post_logout_redirect_uri=https://web.example.com/
--- error_code: 302
--- response_headers
Location: https://web.example.com/



=== TEST 3: a server's own registry replaces the one from http
--- http_config
oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;
--- config
oidc_logout_clients ../html/clients.json;
location = /logout { oidc_logout oidc; }
--- user_files
>>> clients.json
[{"client_id": "web", "post_logout_redirect_uris": ["https://web.example.com/"]}]
--- request
GET /logout?client_id=app1&post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out
--- error_code: 200
--- response_headers
Location:
--- error_log
oidc_logout: unknown client_id "app1"



=== TEST 4: a missing file
--- config
oidc_logout_clients $TEST_NGINX_DATA_DIR/no-such-file.json;
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: oidc_logout_clients "[^"]*/no-such-file\.json": unable to open .*No such file or directory in \S+nginx\.conf:\d+}



=== TEST 5: a JSON syntax error names the line and column
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[
  {"client_id": "a"}
  {"client_id": "b"}
]
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: oidc_logout_clients "[^"]*/clients\.json": line 3, column \d+: .* in \S+nginx\.conf:\d+}



=== TEST 6: a duplicate client_id
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
{"clients": [{"client_id": "a"}, {"client_id": "b"}, {"client_id": "a"}]}
--- must_die
--- error_log
client "a": client_id: duplicate client_id



=== TEST 7: a relative post_logout_redirect_uri
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[{"client_id": "a", "post_logout_redirect_uris": ["https://a.example.com/", "/logged-out"]}]
--- must_die
--- error_log
client "a": post_logout_redirect_uris[1] "/logged-out": no scheme (relative or scheme-relative URL)



=== TEST 8: a fragment in a logout URI
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[{"client_id": "a", "frontchannel_logout_uri": "https://a.example.com/fc#top"}]
--- must_die
--- error_log
client "a": frontchannel_logout_uri "https://a.example.com/fc#top": a fragment is not allowed



=== TEST 9: a field of the wrong type
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[{"client_id": "a", "allowed_logout_urls": "https://a.example.com/"}]
--- must_die
--- error_log
client "a": allowed_logout_urls: must be an array of strings



=== TEST 10: a client without client_id is named by its position
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[{"client_id": "a"}, {"client_name": "nameless"}]
--- must_die
--- error_log
client #2: client_id: missing



=== TEST 10b: a client_id with markup
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[{"client_id": "a"}, {"client_id": "x\"><script>alert(1)</script>"}]
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: oidc_logout_clients "[^"]*/clients\.json": client #2: client_id "x\\"><script>alert\(1\)</script>": character "\\"" is not allowed \(no control characters, nor < > " ' & `\) in \S+nginx\.conf:\d+}



=== TEST 10c: a client_id with a control character
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[{"client_id": "app\r\nX-Injected: 1"}]
--- must_die
--- error_log
client #1: client_id "app\x0D\x0AX-Injected: 1": character "\x0D" is not allowed



=== TEST 11: neither an array nor an object with "clients"
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
{"client_id": "a"}
--- must_die
--- error_log
an object must have a "clients" array



=== TEST 12: a bad allowed_logout_urls wildcard
--- config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[{"client_id": "a", "allowed_logout_urls": ["https://*.com/bye"]}]
--- must_die
--- error_log
allowed_logout_urls[0] "https://*.com/bye": a wildcard needs at least two labels after "*."



=== TEST 13: twice at the same level
--- config
oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;
oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;
--- must_die
--- error_log eval
qr/"oidc_logout_clients" directive is duplicate in \S+nginx\.conf:\d+/



=== TEST 14: not in a location
--- config
location / { oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json; }
--- must_die
--- error_log
"oidc_logout_clients" directive is not allowed here



=== TEST 15: exactly one file
--- config
oidc_logout_clients;
--- must_die
--- error_log
invalid number of arguments in "oidc_logout_clients" directive
