# oidc_logout_allowed_urls: the tenant-level list of allowed logout URLs.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a URL of the tenant list, without client_id
--- http_config
oidc_logout_allowed_urls https://portal.example.com/ https://*.tenant.example.com/home;
--- config
location = /v2/logout { oidc_logout auth0; }
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fportal.example.com%2F
--- error_code: 302
--- response_headers
Location: https://portal.example.com/
--- no_error_log
oidc_logout:



=== TEST 2: a wildcard stands for one label, and the query is kept
--- http_config
oidc_logout_allowed_urls https://portal.example.com/ https://*.tenant.example.com/home;
--- config
location = /v2/logout { oidc_logout auth0; }
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fshop.tenant.example.com%2Fhome%3Fa%3D1
--- error_code: 302
--- response_headers
Location: https://shop.tenant.example.com/home?a=1



=== TEST 3: the wildcard never matches the bare domain
--- http_config
oidc_logout_allowed_urls https://*.tenant.example.com/home;
--- config
location = /v2/logout { oidc_logout auth0; }
--- request
GET /v2/logout?returnTo=https%3A%2F%2Ftenant.example.com%2Fhome
--- error_code: 400
--- response_body_like: Sign-out request refused
--- error_log
oidc_logout: returnTo "https://tenant.example.com/home" is not in the tenant's allowed URLs



=== TEST 4: a server's own list replaces the one from http
--- http_config
oidc_logout_allowed_urls https://portal.example.com/;
--- config
oidc_logout_allowed_urls https://other.example.com/;
location = /v2/logout { oidc_logout auth0; }
--- request
GET /v2/logout?returnTo=https%3A%2F%2Fportal.example.com%2F
--- error_code: 400
--- error_log
is not in the tenant's allowed URLs



=== TEST 5: a relative URL
--- config
oidc_logout_allowed_urls https://portal.example.com/ /logged-out;
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: oidc_logout_allowed_urls "/logged-out": no scheme \(relative or scheme-relative URL\) in \S+nginx\.conf:\d+}



=== TEST 6: a wildcard over a top-level domain
--- config
oidc_logout_allowed_urls https://*.com/;
--- must_die
--- error_log
oidc_logout: oidc_logout_allowed_urls "https://*.com/": a wildcard needs at least two labels after "*."



=== TEST 7: a wildcard that is not the leftmost label
--- config
oidc_logout_allowed_urls https://a.*.example.com/;
--- must_die
--- error_log
oidc_logout: oidc_logout_allowed_urls "https://a.*.example.com/": character '*' is not allowed in the host



=== TEST 8: a fragment
--- config
oidc_logout_allowed_urls https://portal.example.com/#top;
--- must_die
--- error_log
oidc_logout: oidc_logout_allowed_urls "https://portal.example.com/#top": a fragment is not allowed



=== TEST 9: a script scheme
--- config
oidc_logout_allowed_urls javascript://portal.example.com/;
--- must_die
--- error_log
oidc_logout: oidc_logout_allowed_urls "javascript://portal.example.com/": scheme "javascript" is not allowed



=== TEST 10: userinfo
--- config
oidc_logout_allowed_urls https://portal.example.com@evil.example/;
--- must_die
--- error_log
oidc_logout: oidc_logout_allowed_urls "https://portal.example.com@evil.example/": userinfo is not allowed



=== TEST 11: twice at the same level
--- config
oidc_logout_allowed_urls https://a.example.com/;
oidc_logout_allowed_urls https://b.example.com/;
--- must_die
--- error_log
"oidc_logout_allowed_urls" directive is duplicate



=== TEST 12: at least one URL
--- config
oidc_logout_allowed_urls;
--- must_die
--- error_log
invalid number of arguments in "oidc_logout_allowed_urls" directive
