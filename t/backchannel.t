# Back-channel logout deliveries: outcomes, retries, timeouts, parallel
# delivery, oidc_logout_backchannel_wait, https with a private CA, at most
# once, and every way the configuration fails. The clients are local
# servers: nginx locations that answer 200, 204, 400 or 500, an https
# server whose certificate a CA made here signs, and a listener of this
# script that accepts connections and never answers.
use Test::Nginx::Socket 'no_plan';
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::IP;
use Crypt::PK::RSA;
use JSON::PP;

my $dir = tempdir(CLEANUP => 1);
$ENV{TEST_NGINX_BC_DIR} = $dir;
$ENV{TEST_NGINX_CONF_DIR} = abs_path(dirname(__FILE__)) . '/conf';

sub write_file {
    my ($name, $text) = @_;
    open my $f, '>', "$dir/$name" or die "$dir/$name: $!";
    print $f $text;
    close $f;
}

# the signing key (private), and a JWKS of its public half only
my $pk = Crypt::PK::RSA->new;
$pk->generate_key(256);
my $json = JSON::PP->new->canonical;
write_file('keys.json', $json->encode(
    { keys => [{ %{ $pk->export_key_jwk('private', 1) }, kid => 'sig1' }] }));
write_file('public.json', $json->encode(
    { keys => [{ %{ $pk->export_key_jwk('public', 1) }, kid => 'sig1' }] }));

# a private CA and the certificates of the https clients: one for the
# address 127.0.0.1, one for the name localhost
system("cd $dir && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key"
       . " -out ca.pem -days 2 -subj '/CN=oidc_logout test CA' 2>/dev/null"
       . " && openssl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr"
       . " -subj '/CN=oidc_logout test client' 2>/dev/null"
       . " && printf 'subjectAltName=IP:127.0.0.1\\n' > tls.ext"
       . " && openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key"
       . " -CAcreateserial -out tls.pem -days 2 -extfile tls.ext 2>/dev/null"
       . " && openssl req -newkey rsa:2048 -nodes -keyout named.key -out named.csr"
       . " -subj /CN=localhost 2>/dev/null"
       . " && printf 'subjectAltName=DNS:localhost\\n' > named.ext"
       . " && openssl x509 -req -in named.csr -CA ca.pem -CAkey ca.key"
       . " -CAcreateserial -out named.pem -days 2 -extfile named.ext 2>/dev/null") == 0
    or die 'openssl could not make the test certificates';

# clients: one per behaviour of the local servers
my @clients = (
    [ok       => 'http://127.0.0.1:1986/ok?tenant=a'],
    [bare     => 'http://127.0.0.1:1986?tenant=b'],
    [caps     => 'HTTP://127.0.0.1:1986/ok'],
    [empty    => 'http://127.0.0.1:1986/no-content'],
    [bad      => 'http://127.0.0.1:1986/bad'],
    [broken   => 'http://127.0.0.1:1986/broken'],
    [silent   => 'http://127.0.0.1:1987/one'],
    [silent2  => 'http://127.0.0.1:1987/two'],
    [tls      => 'https://127.0.0.1:1988/bc'],
    [named    => 'https://localhost:1988/bc'],
    [refused  => 'http://127.0.0.1:1989/bc'],
    [quiet    => undef],
);
write_file('clients.json', $json->encode([ map {
    { client_id => $_->[0], redirect_uris => ["https://$_->[0].example.com/cb"],
      ($_->[1] ? (backchannel_logout_uri => $_->[1],
                  backchannel_logout_session_required => JSON::PP::true) : ()) }
} @clients ]));

# "localhost" may resolve to ::1 first (as with Debian's /etc/hosts): the
# https servers listen there too when the machine has IPv6 loopback
$ENV{TEST_NGINX_BC_LISTEN6} =
    IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1)
    ? 'listen [::1]:1988 ssl;' : '';

# the client that never answers: the kernel accepts its connections, this
# script never reads them
our $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1:1987',
                                    Listen => 64, ReuseAddr => 1)
    or die "cannot listen on 1987: $!";

add_block_preprocessor(sub {
    my $block = shift;
    # no block may leave an alert or a crash behind
    if (!defined $block->no_error_log && !defined $block->must_die) {
        $block->set_value('no_error_log', "[alert]\n[crit]\n");
    }
    # "--- grep_error_log_out" lists the outcome lines of the deliveries
    if (defined $block->grep_error_log_out && !defined $block->grep_error_log) {
        $block->set_value('grep_error_log',
            qr/oidc_logout: backchannel client=\S+ status=\S+ attempt=\d+[^\n]*/);
    }
    if (!defined $block->http_config) {
        $block->set_value('http_config', <<'_EOC_' . ($block->http_extra // ''));
oidc_logout_issuer https://sso.example.com;
oidc_logout_keys $TEST_NGINX_BC_DIR/keys.json;
oidc_logout_clients $TEST_NGINX_BC_DIR/clients.json;
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso secure=off;
oidc_logout_backchannel_ssl_trusted_certificate $TEST_NGINX_BC_DIR/ca.pem;

# the client each hop of a flow joins ("-": none), and the rest of the flow
# (a subrequest's $request_uri is its parent's)
map $request_uri $hop_client {
    ~^/flow[23]?/-(/|$) "";
    ~^/flow[23]?/([^/]+) $1;
}
map $request_uri $hop_next {
    ~^/flow[23]?/[^/]+/(.*)$ $1;
}

server {
    listen 127.0.0.1:1986;
    location = /ok { return 200; }
    location = / { return 200; }
    location = /no-content { return 204; }
    location = /bad { return 400; }
    location = /broken { return 500; }
}
server {
    listen 127.0.0.1:1988 ssl;
    $TEST_NGINX_BC_LISTEN6
    ssl_certificate $TEST_NGINX_BC_DIR/tls.pem;
    ssl_certificate_key $TEST_NGINX_BC_DIR/tls.key;
    location = /bc { return 200; }
}
# chosen by SNI
server {
    listen 127.0.0.1:1988 ssl;
    $TEST_NGINX_BC_LISTEN6
    server_name localhost;
    ssl_certificate $TEST_NGINX_BC_DIR/named.pem;
    ssl_certificate_key $TEST_NGINX_BC_DIR/named.key;
    location = /bc { return 200; }
}
_EOC_
    }
    if (!defined $block->config) {
        # /flow/A/B/C signs alice in to the clients A, B and C ("-" for
        # none), then out through /end (Auth0 mode: no confirmation). Each
        # hop's auth_request proxies a request of its own through the
        # loopback to /authorize (t/conf/login_and_join.conf); the session
        # cookie passes on.
        $block->set_value('config', <<'_EOC_' . ($block->end_config // 'location = /end { oidc_logout auth0; oidc_logout_backchannel_wait 10s; }'));
location ~ ^/flow/[^/]+/[^/]+/[^/]+$ {
    auth_request /hop/login;
    auth_request_set $sso $upstream_cookie_oidc_session;
    proxy_set_header Cookie oidc_session=$sso;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/flow2/$hop_next;
}
location ~ ^/flow2/[^/]+/[^/]+$ {
    auth_request /hop/join;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/flow3/$hop_next;
}
location ~ ^/flow3/[^/]+$ {
    auth_request /hop/join;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/end$is_args$args;
}
location ~ ^/hop/(?<step>login|join)$ {
    internal;
    set $user "";
    if ($step = login) { set $user alice; }
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/authorize?user=$user&client_id=$hop_client;
}
include $TEST_NGINX_CONF_DIR/login_and_join.conf;
_EOC_
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 200 and 204 are delivered, a client without a URI gets nothing
--- request
GET /flow/ok/empty/quiet
--- error_code: 200
--- response_body_like: You have been signed out\.
--- grep_error_log_out eval
qr/\A(?=[^\n]*\n[^\n]*\n\z)(?=.*^oidc_logout: backchannel client=ok status=200 attempt=1\n)(?=.*^oidc_logout: backchannel client=empty status=204 attempt=1\n)/ms



=== TEST 1b: a URI without a path, and a scheme in capitals
--- request
GET /flow/bare/caps/-
--- error_code: 200
--- grep_error_log_out eval
qr/\A(?=[^\n]*\n[^\n]*\n\z)(?=.*^oidc_logout: backchannel client=bare status=200 attempt=1\n)(?=.*^oidc_logout: backchannel client=caps status=200 attempt=1\n)/ms



=== TEST 2: after a 500, one retry (retries 1), then given up
--- end_config
location = /end {
    oidc_logout auth0;
    oidc_logout_backchannel_retries 1;
    oidc_logout_backchannel_wait 10s;
}
--- request
GET /flow/broken/-/-
--- error_code: 200
--- grep_error_log_out
oidc_logout: backchannel client=broken status=500 attempt=1, retry in 1000ms
oidc_logout: backchannel client=broken status=500 attempt=2, given up



=== TEST 3: no retry after a 400
--- request
GET /flow/bad/-/-
--- error_code: 200
--- grep_error_log_out
oidc_logout: backchannel client=bad status=400 attempt=1, given up



=== TEST 4: a client that never answers times out (retries 0)
--- end_config
location = /end {
    oidc_logout auth0;
    oidc_logout_backchannel_timeout 500ms;
    oidc_logout_backchannel_retries 0;
    oidc_logout_backchannel_wait 10s;
}
--- request
GET /flow/silent/-/-
--- error_code: 200
--- grep_error_log_out
oidc_logout: backchannel client=silent status=timeout attempt=1, given up



=== TEST 5: a refused connection is retried, then given up
--- end_config
location = /end {
    oidc_logout auth0;
    oidc_logout_backchannel_retries 1;
    oidc_logout_backchannel_wait 10s;
}
--- request
GET /flow/refused/-/-
--- error_code: 200
--- grep_error_log_out
oidc_logout: backchannel client=refused status=connect-failed attempt=1, retry in 1000ms
oidc_logout: backchannel client=refused status=connect-failed attempt=2, given up



=== TEST 6: clients are delivered in parallel: two 1 s timeouts within a 1.8 s wait
--- end_config
location = /end {
    oidc_logout auth0;
    oidc_logout_backchannel_timeout 1s;
    oidc_logout_backchannel_retries 0;
    oidc_logout_backchannel_wait 1800ms;
}
--- request
GET /flow/silent/silent2/ok
--- error_code: 200
--- grep_error_log_out eval
qr/\A(?=(?:[^\n]*\n){3}\z)(?=.*^oidc_logout: backchannel client=ok status=200 attempt=1\n)(?=.*^oidc_logout: backchannel client=silent status=timeout attempt=1, given up\n)(?=.*^oidc_logout: backchannel client=silent2 status=timeout attempt=1, given up\n)/ms
--- no_error_log
the response goes out before the deliveries are over
[alert]



=== TEST 7: the wait is bounded: the response goes out while a delivery runs
--- end_config
location = /end {
    oidc_logout auth0;
    oidc_logout_backchannel_timeout 5s;
    oidc_logout_backchannel_wait 300ms;
}
--- request
GET /flow/silent/-/-
--- error_code: 200
--- error_log
oidc_logout: backchannel: the response goes out before the deliveries are over (oidc_logout_backchannel_wait)
--- no_error_log
status=timeout
[alert]



=== TEST 8: without a wait, the response does not wait at all
--- end_config
location = /end {
    oidc_logout auth0;
    oidc_logout_backchannel_timeout 5s;
}
--- request
GET /flow/silent/-/-
--- error_code: 200
--- no_error_log
status=timeout
the response goes out before
[alert]



=== TEST 9: https to an address named by the certificate a configured CA signed
--- request
GET /flow/tls/-/-
--- error_code: 200
--- grep_error_log_out
oidc_logout: backchannel client=tls status=200 attempt=1



=== TEST 10: without that CA the certificate is refused, and not retried
--- http_extra
server {
    listen 127.0.0.1:1985;
    oidc_logout_backchannel_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
    location ~ ^/flow/(?<a>[^/]+)/(?<b>[^/]+)/(?<c>[^/]+)$ {
        auth_request /hop;
        auth_request_set $sso $upstream_cookie_oidc_session;
        proxy_set_header Cookie oidc_session=$sso;
        proxy_pass http://127.0.0.1:1985/end$is_args$args;
    }
    location = /hop {
        internal;
        proxy_pass http://127.0.0.1:1985/authorize?user=alice&client_id=tls;
    }
    include $TEST_NGINX_CONF_DIR/login_and_join.conf;
    location = /end { oidc_logout auth0; oidc_logout_backchannel_wait 10s; }
}
--- config
location = /t { proxy_pass http://127.0.0.1:1985/flow/tls/-/-; }
--- request
GET /t
--- error_code: 200
--- error_log eval
qr/oidc_logout: backchannel client=tls: certificate of "127\.0\.0\.1": \(\d+:[^)]*\)/
--- grep_error_log_out
oidc_logout: backchannel client=tls status=certificate-refused attempt=1, given up



=== TEST 10b: SNI names the host, whose certificate is then served
--- request
GET /flow/named/-/-
--- error_code: 200
--- grep_error_log_out
oidc_logout: backchannel client=named status=200 attempt=1



=== TEST 10c: without SNI the server's default certificate does not name the host
--- http_extra
oidc_logout_backchannel_ssl_server_name off;
--- request
GET /flow/named/-/-
--- error_code: 200
--- error_log
oidc_logout: backchannel client=named: the certificate does not name "localhost"
--- grep_error_log_out
oidc_logout: backchannel client=named status=certificate-refused attempt=1, given up



=== TEST 11: only the request that ends the session delivers
--- end_config
location = /end {
    # a second logout with the same cookie finds no session
    auth_request /end-first;
    oidc_logout auth0;
    oidc_logout_backchannel_wait 10s;
}
location = /end-first {
    internal;
    proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/end-now;
}
location = /end-now { oidc_logout auth0; oidc_logout_backchannel_wait 10s; }
--- request
GET /flow/ok/empty/-
--- error_code: 200
--- grep_error_log_out eval
qr/\A(?=(?:[^\n]*\n){2}\z)(?=.*^oidc_logout: backchannel client=ok status=200 attempt=1\n)(?=.*^oidc_logout: backchannel client=empty status=204 attempt=1\n)/ms



=== TEST 12: a logout without a session delivers nothing
--- config
location = /end { oidc_logout auth0; oidc_logout_backchannel_wait 10s; }
--- request
GET /end
--- error_code: 200
--- no_error_log
backchannel
[alert]



=== TEST 13: back-channel clients need a private key
--- http_config
oidc_logout_issuer https://sso.example.com;
oidc_logout_keys $TEST_NGINX_BC_DIR/public.json;
oidc_logout_clients $TEST_NGINX_BC_DIR/clients.json;
oidc_logout_zone zone=sso:1m;
oidc_logout_session zone=sso;
--- config
location = /end { oidc_logout auth0; }
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: clients with a backchannel_logout_uri need a private key in "oidc_logout_keys" to sign logout tokens in \S+nginx\.conf:\d+}



=== TEST 14: back-channel clients need the issuer
--- http_config
oidc_logout_keys $TEST_NGINX_BC_DIR/keys.json;
oidc_logout_clients $TEST_NGINX_BC_DIR/clients.json;
--- config
location = /end { oidc_logout auth0; }
--- must_die
--- error_log
is notified with the issuer's name (a back-channel client, or frontchannel_logout_session_required): "oidc_logout_issuer" must be set



=== TEST 15: a client host that does not resolve
--- http_config
oidc_logout_clients ../html/clients.json;
--- user_files
>>> clients.json
[{"client_id": "gone", "backchannel_logout_uri": "http://no-such-host.invalid/bc"}]
--- config
location = /end { oidc_logout auth0; }
--- must_die
--- error_log eval
qr{\[emerg\] .*oidc_logout: client "gone": backchannel_logout_uri "http://no-such-host\.invalid/bc": host not found}



=== TEST 16: timeout, retries and wait take sane values
--- config
location = /end { oidc_logout auth0; oidc_logout_backchannel_timeout 0; }
--- must_die
--- error_log
"oidc_logout_backchannel_timeout" directive must be between 1ms and 60s



=== TEST 17: at most 10 retries
--- config
location = /end { oidc_logout auth0; oidc_logout_backchannel_retries 11; }
--- must_die
--- error_log
"oidc_logout_backchannel_retries" directive must be between 0 and 10



=== TEST 18: a wait of a minute at most
--- config
location = /end { oidc_logout auth0; oidc_logout_backchannel_wait 61s; }
--- must_die
--- error_log
"oidc_logout_backchannel_wait" directive must be 60s at most



=== TEST 19: ssl_verify is on or off
--- config
oidc_logout_backchannel_ssl_verify maybe;
location = /end { oidc_logout auth0; }
--- must_die
--- error_log
invalid value "maybe" in "oidc_logout_backchannel_ssl_verify" directive, it must be "on" or "off"
