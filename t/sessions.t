# Sessions: oidc_logout_zone, oidc_logout_session, oidc_logout_login,
# oidc_logout_join, oidc_logout_require_session and the variables, one
# request at a time (t/session_flows.t follows sessions across requests).
use Test::Nginx::Socket 'no_plan';
use Cwd qw(abs_path);
use File::Basename qw(dirname);

$ENV{TEST_NGINX_DATA_DIR} = abs_path(dirname(__FILE__)) . '/data';
$ENV{TEST_NGINX_CONF_DIR} = abs_path(dirname(__FILE__)) . '/conf';

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->http_config) {
        $block->set_value('http_config', <<'_EOC_');
oidc_logout_clients $TEST_NGINX_DATA_DIR/clients.json;
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso;
_EOC_
    }
    if (!defined $block->config) {
        # /login, /authorize, /app, /protected and /any: t/conf/session_steps.conf
        $block->set_value('config', <<'_EOC_');
include $TEST_NGINX_CONF_DIR/session_steps.conf;
location = /whoami {
    return 200 "sid=[$oidc_logout_sid] sub=[$oidc_logout_sub]\n";
}
location = /logout { oidc_logout oidc; }
location = /denied { return 403; }
_EOC_
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a successful login sets the session cookie
--- request
GET /login?user=alice
--- error_code: 200
--- response_headers_like
Set-Cookie: ^oidc_session=[A-Za-z0-9_-]{22}; Path=/; HttpOnly; Secure; SameSite=Lax$
--- response_body
backend
--- no_error_log
oidc_logout:



=== TEST 2: an empty subject starts no session
--- request
GET /login?user=
--- error_code: 200
--- response_headers
Set-Cookie:



=== TEST 3: a failed response starts no session
--- config
location = /login {
    oidc_logout_login $arg_user;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/denied;
}
location = /denied { return 403; }
--- request
GET /login?user=alice
--- error_code: 403
--- response_headers
Set-Cookie:



=== TEST 4: a redirect is a success
--- config
location = /login {
    oidc_logout_login $arg_user;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/redirect;
}
location = /redirect { return 302 https://app1.example.com/; }
--- request
GET /login?user=alice
--- error_code: 302
--- response_headers_like
Set-Cookie: ^oidc_session=[A-Za-z0-9_-]{22}; Path=/; HttpOnly; .*



=== TEST 5: cookie attributes
--- http_config
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso cookie=__Host-sso path=/app domain=example.com secure=on samesite=strict;
--- config
location = /login {
    oidc_logout_login $arg_user;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/empty;
}
location = /empty { return 204; }
--- request
GET /login?user=alice
--- error_code: 204
--- response_headers_like
Set-Cookie: ^__Host-sso=[A-Za-z0-9_-]{22}; Path=/app; Domain=example\.com; HttpOnly; Secure; SameSite=Strict$



=== TEST 6: "return" skips the access checks, so it starts no session
--- config
location = /login {
    oidc_logout_login $arg_user;
    return 200 "ok\n";
}
--- request
GET /login?user=alice
--- error_code: 200
--- response_headers
Set-Cookie:



=== TEST 6b: a failed auth_basic turned into a redirect starts no session
--- config
location = /login {
    auth_basic "sso";
    auth_basic_user_file ../html/users;
    error_page 401 https://help.example.com/;
    oidc_logout_login $remote_user;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
}
location = /backend { return 200 "backend\n"; }
--- user_files
>>> users
alice:{PLAIN}secret
--- request
GET /login
--- more_headers
Authorization: Basic YWxpY2U6d3Jvbmc=
--- error_code: 302
--- response_headers
Location: https://help.example.com/
Set-Cookie:



=== TEST 6c: a successful auth_basic starts the session of $remote_user
--- config
location = /login {
    auth_basic "sso";
    auth_basic_user_file ../html/users;
    oidc_logout_login $remote_user;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
}
location = /backend { return 200 "backend\n"; }
--- user_files
>>> users
alice:{PLAIN}secret
--- request
GET /login
--- more_headers
Authorization: Basic YWxpY2U6c2VjcmV0
--- error_code: 200
--- response_headers_like
Set-Cookie: ^oidc_session=[A-Za-z0-9_-]{22}; Path=/; HttpOnly; .*



=== TEST 6d: require_session in an auth_request subrequest
--- request
GET /protected
--- more_headers
Cookie: oidc_session=AAAAAAAAAAAAAAAAAAAAAA
--- error_code: 401
--- error_log
oidc_logout: no live session: it ended or expired



=== TEST 6e: with "satisfy any", no session and a denied address: refused
--- request
GET /any
--- error_code: 401



=== TEST 6f: secure=off and samesite=none are not allowed together
--- http_config
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso secure=off samesite=none;
--- config
--- must_die
--- error_log
oidc_logout: samesite=none needs secure=on in "oidc_logout_session"



=== TEST 7: a subject longer than 255 bytes starts no session
--- request eval
"GET /login?user=" . ("u" x 256)
--- error_code: 200
--- response_headers
Set-Cookie:
--- error_log
oidc_logout: oidc_logout_login: subject longer than 255 bytes or not UTF-8, no session started



=== TEST 8: require_session without a cookie: 401
--- request
GET /app
--- error_code: 401
--- response_body_like: 401 Authorization Required
--- error_log
oidc_logout: no live session: no session cookie



=== TEST 9: require_session with an unknown cookie: 401
--- request
GET /app
--- more_headers
Cookie: oidc_session=AAAAAAAAAAAAAAAAAAAAAA
--- error_code: 401
--- error_log
oidc_logout: no live session: it ended or expired



=== TEST 10: require_session off in a nested location
--- config
location /app/ {
    oidc_logout_require_session on;
    location = /app/public {
        oidc_logout_require_session off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /app/private {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
}
location = /backend { return 200 "backend\n"; }
--- request eval
["GET /app/public", "GET /app/private"]
--- error_code eval
[200, 401]



=== TEST 11: join without a session is logged and changes nothing
--- request
GET /authorize?client_id=app1
--- more_headers
Cookie: oidc_session=AAAAAAAAAAAAAAAAAAAAAA
--- error_code: 200
--- response_headers
X-Client: app1
Set-Cookie:
--- error_log
oidc_logout: oidc_logout_join: no live session



=== TEST 12: an unknown client is logged, quoted, and not joined
--- config
location = /authorize {
    oidc_logout_join $http_x_client_id;
    add_header X-Client $oidc_logout_client_id;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/empty;
}
location = /empty { return 204; }
--- request
GET /authorize
--- more_headers eval
"X-Client-Id: evil\"\x7f\xffclient"
--- error_code: 204
--- response_headers
X-Client:
--- error_log
oidc_logout: oidc_logout_join: unknown client "evil\"\x7F\xFFclient", not joined



=== TEST 13: the session variables are empty without a session
--- request
GET /whoami
--- response_body
sid=[] sub=[]



=== TEST 14: logout with a cookie clears it, even when its session is gone
--- request
GET /logout
--- more_headers
Cookie: oidc_session=AAAAAAAAAAAAAAAAAAAAAA
--- error_code: 200
--- response_headers
Set-Cookie: oidc_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax
--- response_body_like: You have been signed out



=== TEST 15: logout without a cookie sets none
--- request
GET /logout
--- error_code: 200
--- response_headers
Set-Cookie:



=== TEST 16: a refused logout leaves the cookie alone
--- request
GET /logout?client_id=app1&client_id=app2
--- more_headers
Cookie: oidc_session=AAAAAAAAAAAAAAAAAAAAAA
--- error_code: 400
--- response_headers
Set-Cookie:



=== TEST 16b: a cross-site POST without the cookie: 303 to a relative URL, whatever the Host
--- request
POST /logout
client_id=app1&state=a%20b
--- more_headers
Host: evil.example:1@x
Content-Type: application/x-www-form-urlencoded
--- error_code: 303
--- response_headers
Location: /logout?client_id=app1&state=a%20b
--- raw_response_headers_unlike: evil



=== TEST 16c: the same in HTTP/1.0 without Host
--- raw_request eval
"POST /logout HTTP/1.0\r
Content-Type: application/x-www-form-urlencoded\r
Content-Length: 14\r
\r
client_id=app1"
--- error_code: 303
--- response_headers
Location: /logout?client_id=app1



=== TEST 16d: a path that starts with two slashes: the 303 stays on this origin
--- config
merge_slashes off;
location ~ /logout$ { oidc_logout oidc; }
--- request
POST //evil.example/logout
client_id=app1
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 303
--- response_headers
Location: /%2Fevil.example/logout?client_id=app1



=== TEST 16e: a path that starts with a backslash: the 303 stays on this origin
--- config
location ~ /logout$ { oidc_logout oidc; }
--- request
POST /\evil.example/logout
client_id=app1
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 303
--- response_headers
Location: /%5Cevil.example/logout?client_id=app1



=== TEST 17: the session zone must be declared
--- http_config
oidc_logout_session zone=nowhere;
--- config
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: zone "nowhere" of "oidc_logout_session" is not declared by "oidc_logout_zone" in \S+nginx\.conf:\d+}



=== TEST 18: login needs a session configuration
--- http_config
--- config
location = /login { oidc_logout_login $arg_user; return 200; }
--- must_die
--- error_log
oidc_logout: "oidc_logout_login" needs "oidc_logout_session" in the same location or an enclosing block



=== TEST 19: join needs a session configuration
--- http_config
--- config
location = /a { oidc_logout_join $arg_client_id; return 200; }
--- must_die
--- error_log
oidc_logout: "oidc_logout_join" needs "oidc_logout_session"



=== TEST 20: require_session needs a session configuration
--- http_config
--- config
location = /a { oidc_logout_require_session on; return 200; }
--- must_die
--- error_log
oidc_logout: "oidc_logout_require_session" needs "oidc_logout_session"



=== TEST 21: a zone without a size
--- http_config
oidc_logout_zone zone=sso;
--- config
--- must_die
--- error_log
oidc_logout: "zone=sso" in "oidc_logout_zone" needs a size, as in zone=NAME:10m



=== TEST 22: a zone too small
--- http_config
oidc_logout_zone zone=sso:16k;
--- config
--- must_die
--- error_log eval
qr/oidc_logout: zone "sso" is too small, it needs at least \d+k/



=== TEST 23: a bad size
--- http_config
oidc_logout_zone zone=sso:lots;
--- config
--- must_die
--- error_log
oidc_logout: invalid zone "zone=sso:lots" in "oidc_logout_zone"



=== TEST 24: a bad idle time
--- http_config
oidc_logout_zone zone=sso:1m idle=soon;
--- config
--- must_die
--- error_log
oidc_logout: invalid time "idle=soon" in "oidc_logout_zone"



=== TEST 25: a bad lifetime
--- http_config
oidc_logout_zone zone=sso:1m lifetime=-1;
--- config
--- must_die
--- error_log
oidc_logout: invalid time "lifetime=-1" in "oidc_logout_zone"



=== TEST 26: an unknown parameter
--- http_config
oidc_logout_zone zone=sso:1m ttl=5m;
--- config
--- must_die
--- error_log
oidc_logout: invalid parameter "ttl=5m" in "oidc_logout_zone"



=== TEST 27: a zone declared twice
--- http_config
oidc_logout_zone zone=sso:1m;
oidc_logout_zone zone=sso:1m;
--- config
--- must_die
--- error_log
oidc_logout: zone "sso" is already declared



=== TEST 28: a zone needs zone=
--- http_config
oidc_logout_zone idle=5m;
--- config
--- must_die
--- error_log
oidc_logout: "oidc_logout_zone" needs zone=NAME:SIZE



=== TEST 29: oidc_logout_zone only at http level
--- http_config
--- config
oidc_logout_zone zone=sso:1m;
--- must_die
--- error_log
"oidc_logout_zone" directive is not allowed here



=== TEST 30: oidc_logout_session needs zone=
--- http_config
oidc_logout_zone zone=sso:1m;
oidc_logout_session cookie=x;
--- config
--- must_die
--- error_log
oidc_logout: "oidc_logout_session" needs zone=NAME



=== TEST 31: a bad cookie name
--- http_config
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso cookie=a,b;
--- config
--- must_die
--- error_log
oidc_logout: invalid parameter "cookie=a,b" in "oidc_logout_session"



=== TEST 32: a bad samesite
--- http_config
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso samesite=sometimes;
--- config
--- must_die
--- error_log
oidc_logout: invalid parameter "samesite=sometimes" in "oidc_logout_session"



=== TEST 33: a path that does not start with /
--- http_config
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso path=app;
--- config
--- must_die
--- error_log
oidc_logout: invalid parameter "path=app" in "oidc_logout_session"



=== TEST 34: oidc_logout_session twice at one level
--- http_config
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso;
oidc_logout_session zone=sso;
--- config
--- must_die
--- error_log
"oidc_logout_session" directive is duplicate



=== TEST 35: require_session takes on or off
--- config
location = /a { oidc_logout_require_session maybe; }
--- must_die
--- error_log
invalid value "maybe" in "oidc_logout_require_session" directive, it must be "on" or "off"



=== TEST 36: login takes one value
--- config
location = /a { oidc_logout_login; }
--- must_die
--- error_log
invalid number of arguments in "oidc_logout_login" directive



=== TEST 37: join only in a location
--- config
oidc_logout_join $arg_client_id;
--- must_die
--- error_log
"oidc_logout_join" directive is not allowed here
