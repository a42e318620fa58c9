package Soak::Setup;

# What the soak's nginx serves: keys, clients, page templates, a private
# CA for the https back-channel peer, and the configuration, all written
# under the run's directory. The site hash it returns is what the rest of
# the soak knows of them: ports, endpoints, keys, registered URLs.

use strict;
use warnings;

use Crypt::PK::ECC;
use Crypt::PK::RSA;
use Exporter 'import';
use File::Path qw(make_path);
use JSON::PP;

our @EXPORT_OK = qw(make_site write_site);

my $json = JSON::PP->new->canonical;

# make_site(dir, base_port, payloads_file): the site's description; the
# ports are base .. base+4: the soak's server, a peer server (back-channel
# receivers, front-channel pages, a stand-in upstream provider), the https
# peer, a port where nothing listens, and one whose connections are never
# accepted (the driver listens there).
sub make_site {
    my ($dir, $base, $payloads_file) = @_;
    my %s = (dir => $dir, port => $base, peer => $base + 1, tls => $base + 2,
             dead => $base + 3, hole => $base + 4);
    my ($p, $peer) = ("http://127.0.0.1:$s{port}", "http://127.0.0.1:$s{peer}");
    $s{issuer} = $p;
    $s{federated} = "$p/upstream-idp/logout";
    $s{tenant_urls} = ["$p/goodbye", 'https://www.whitelisteddomain.tld/',
                       'https://*.whitelisteddomain.tld/'];
    $s{cookie_names} = [qw(oidc_session alt_session short_session)];
    # a second zone whose sessions expire within seconds (its sweep ends
    # them and notifies under the chaos): its own locations under /short/
    $s{short} = { idle => 4, lifetime => 12, prefix => '/short' };
    # the upstream provider's back-channel logout: what the receiver
    # accepts (its keys are the peer's provider-jwks, key "provider")
    $s{upstream} = { issuer => $p, audiences => ['soak-rp', 'soak-rp2'],
                     kid => 'soak-provider' };
    # deliveries that still fail are given up this long after the end
    $s{give_up} = 20;
    # every location: the logout endpoints by mode, and the others
    $s{oidc_endpoints} = ['/logout', '/logout-wait', '/logout-paged'];
    $s{auth0_endpoints} = ['/v2/logout', '/alt/logout'];
    $s{other_paths} = ['/login', '/login-upstream', '/authorize', '/app',
                       '/protected', '/jwks', '/.well-known/openid-configuration',
                       '/alt/login', '/alt/app', '/', '/nowhere',
                       '/oauth/auth', '/oauth/auth-form',
                       '/oauth/token', '/admin/sessions', '/admin/deliveries',
                       '/metrics', '/bc-receiver', '/short/login', '/short/app',
                       '/short/authorize', '/short/metrics', '/short/admin/deliveries'];

    my $wl = 'https://www.whitelisteddomain.tld/';
    $s{clients} = [
        { client_id => 'app1', redirect_uris => ["$p/app1/cb", "$p/oauth/cb"],
          post_logout_redirect_uris => ["$p/app1/logged-out", $wl],
          allowed_logout_urls => ["$p/app1/goodbye", $wl,
                                  'https://*.whitelisteddomain.tld/'] },
        { client_id => 'fc1', redirect_uris => ["$peer/fc1/cb"],
          post_logout_redirect_uris => ["$p/fc1/logged-out"],
          allowed_logout_urls => ["$p/fc1/goodbye"],
          frontchannel_logout_uri => "$peer/fc1/logout",
          frontchannel_logout_session_required => JSON::PP::true },
        { client_id => 'fc2', redirect_uris => ["$peer/fc2/cb"],
          frontchannel_logout_uri => "$peer/fc2/logout?from=sso" },
        { client_id => 'bc-ok', redirect_uris => ["$peer/bc/cb"],
          post_logout_redirect_uris => ["$p/bc/logged-out"],
          backchannel_logout_uri => "$peer/bc/ok",
          backchannel_logout_session_required => JSON::PP::true },
        { client_id => 'bc-fail', redirect_uris => ["$peer/bc/cb"],
          backchannel_logout_uri => "$peer/bc/fail" },
        { client_id => 'bc-refused', redirect_uris => ["$peer/bc/cb"],
          backchannel_logout_uri => "http://127.0.0.1:$s{dead}/bc" },
        { client_id => 'bc-silent', redirect_uris => ["$peer/bc/cb"],
          backchannel_logout_uri => "http://127.0.0.1:$s{hole}/bc" },
        { client_id => 'bc-tls', redirect_uris => ["$peer/bc/cb"],
          backchannel_logout_uri => "https://127.0.0.1:$s{tls}/bc" },
        { client_id => 'both', redirect_uris => ["$peer/both/cb"],
          frontchannel_logout_uri => "$peer/both/fc",
          frontchannel_logout_session_required => JSON::PP::true,
          backchannel_logout_uri => "$peer/bc/ok?client=both" },
        { client_id => 'quiet', redirect_uris => ["$p/quiet/cb"],
          post_logout_redirect_uris => ["$p/quiet/out"],
          skip_logout_confirmation => JSON::PP::true },
        # applications that log the tokens they get and answer 204, 503,
        # slowly or not at all, by chance (the peer's /app-bc/)
        { client_id => 'app-a', redirect_uris => ["$peer/app-a/cb"],
          backchannel_logout_uri => "$peer/app-bc/app-a",
          backchannel_logout_session_required => JSON::PP::true },
        { client_id => 'app-b', redirect_uris => ["$peer/app-b/cb"],
          backchannel_logout_uri => "$peer/app-bc/app-b" },
    ];
    $s{client_ids} = [map { $_->{client_id} } @{ $s{clients} }];

    # every URL a response may send the browser to
    $s{registered} = [
        @{ $s{tenant_urls} }, $s{federated},
        (map { @{ $_->{post_logout_redirect_uris} || [] },
               @{ $_->{allowed_logout_urls} || [] },
               $_->{frontchannel_logout_uri} // () } @{ $s{clients} }),
        # the upstream provider's authorization answers (passed through),
        # to app1's redirect URI
        "$p/oauth/cb",
        # this server's own endpoints (the 303 of a cross-site POST, the
        # federated way back), under the issuer's origin
        map { "$p$_" } @{ $s{oidc_endpoints} }, @{ $s{auth0_endpoints} },
    ];

    # keys: the first private key signs logout tokens; the public ones
    # verify hints; the stranger's is in no JWKS; the provider's (its
    # published JWKS, oidc_logout_keys_url) is rsa under another kid
    $s{key}{signing} = Crypt::PK::RSA->new; $s{key}{signing}->generate_key(256);
    $s{key}{rsa} = Crypt::PK::RSA->new;     $s{key}{rsa}->generate_key(256);
    $s{key}{ec} = Crypt::PK::ECC->new;      $s{key}{ec}->generate_key('secp256r1');
    $s{key}{stranger} = Crypt::PK::RSA->new; $s{key}{stranger}->generate_key(256);

    open my $f, '<', $payloads_file or die "$payloads_file: $!\n";
    $s{payloads} = [grep { length } map { s/\r?\n\z//r } <$f>];
    close $f;
    return \%s;
}

sub write_file {
    my ($path, $text, $mode) = @_;
    open my $f, '>', $path or die "$path: $!\n";
    print $f $text;
    close $f;
    chmod $mode // 0644, $path;
}

# write_site(site, module, rlimit_core): the files and nginx.conf.
sub write_site {
    my ($s, $module, $rlimit_core) = @_;
    my $d = $s->{dir};
    make_path("$d/logs", "$d/html", "$d/pages", "$d/tls", "$d/tmp");
    make_path("$d/cores", { mode => 01777 });
    chmod 01777, "$d/cores";    # the workers' user writes its cores there

    my %k = %{ $s->{key} };
    write_file("$d/keys.json", $json->encode({ keys => [
        { %{ $k{signing}->export_key_jwk('private', 1) }, kid => 'soak-signing',
          use => 'sig' },
        { %{ $k{rsa}->export_key_jwk('public', 1) }, kid => 'soak-rsa' },
        { %{ $k{ec}->export_key_jwk('public', 1) }, kid => 'soak-ec' },
    ] }), 0600);
    # the provider's published keys (oidc_logout_keys_url), from the peer
    write_file("$d/provider-jwks.json", $json->encode({ keys => [
        { %{ $k{rsa}->export_key_jwk('public', 1) }, kid => $s->{upstream}{kid} },
    ] }));
    write_file("$d/clients.json", $json->encode({ clients => $s->{clients} }));
    write_file("$d/html/ok.txt", "ok\n");
    write_file("$d/pages/logged_out.html",
               "<!DOCTYPE html><title>{{title}}</title><h1>soak</h1><p>{{message}}</p>\n");
    write_file("$d/pages/error.html",
               "<!DOCTYPE html><title>{{title}}</title><p>{{message}}</p>\n");
    write_file("$d/pages/confirm.html",
               "<!DOCTYPE html><title>{{title}}</title><p>{{message}}</p>{{form}}\n");

    # a private CA and the https peer's certificate for 127.0.0.1
    system("(cd $d/tls && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key"
           . " -out ca.pem -days 2 -subj '/CN=oidc_logout soak CA'"
           . " && openssl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr"
           . " -subj '/CN=oidc_logout soak peer'"
           . " && printf 'subjectAltName=IP:127.0.0.1\\n' > tls.ext"
           . " && openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key"
           . " -CAcreateserial -out tls.pem -days 2 -extfile tls.ext"
           . ") >$d/tls/openssl.log 2>&1") == 0
        or die "openssl could not make the peer's certificate (see $d/tls/openssl.log)\n";

    my ($port, $peer, $tls) = @$s{qw(port peer tls)};
    my $ok = "$d/html/ok.txt";
    my $tenant = join ' ', @{ $s->{tenant_urls} };
    my ($idle, $lifetime) = @{ $s->{short} }{qw(idle lifetime)};
    my $audiences = join ' ', @{ $s->{upstream}{audiences} };
    write_file("$d/nginx.conf", <<"_EOC_");
# written by bench/soak.pl
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_core $rlimit_core;
working_directory $d/cores;
pid $d/nginx.pid;
error_log $d/error.log warn;
load_module $module;
events { worker_connections 1024; }

http {
    access_log off;
    default_type text/plain;
    client_header_timeout 5s;
    client_body_timeout 5s;
    send_timeout 5s;
    keepalive_timeout 5s;
    large_client_header_buffers 4 128k;
    client_body_buffer_size 128k;
    client_max_body_size 1m;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;

    oidc_logout_clients $d/clients.json;
    oidc_logout_keys $d/keys.json;
    oidc_logout_keys_url http://127.0.0.1:$peer/provider-jwks refresh=2s;
    oidc_logout_issuer $s->{issuer};
    oidc_logout_allowed_urls $tenant;
    oidc_logout_federated_url "$s->{federated}?returnTo=\$oidc_logout_return_to";
    oidc_logout_zone zone=soak:256m idle=1d lifetime=2d notify=on;
    oidc_logout_zone zone=short:16m idle=${idle}s lifetime=${lifetime}s notify=on;
    oidc_logout_session zone=soak secure=off;
    oidc_logout_backchannel_timeout 2s;
    oidc_logout_backchannel_retries 2;
    oidc_logout_backchannel_give_up $s->{give_up}s;
    oidc_logout_upstream_client_id $audiences;
    oidc_logout_upstream_issuer $s->{upstream}{issuer};
    oidc_logout_backchannel_ssl_trusted_certificate $d/tls/ca.pem;
    oidc_logout_provider_cookies _session _session.sig remember=1h;

    server {
        listen 127.0.0.1:$port backlog=1024;

        location = /login { oidc_logout_login \$arg_user; alias $ok; }
        location = /login-upstream {
            oidc_logout_login \$upstream_http_x_authenticated_user;
            proxy_pass http://127.0.0.1:$peer/idp-login;
        }
        location = /authorize {
            oidc_logout_join \$arg_client_id;
            add_header X-Client \$oidc_logout_client_id;
            alias $ok;
        }
        location = /app {
            oidc_logout_require_session on;
            add_header X-Sid \$oidc_logout_sid;
            add_header X-Sub \$oidc_logout_sub;
            alias $ok;
        }
        location = /protected { auth_request /session-check; alias $ok; }
        location = /session-check {
            internal;
            oidc_logout_require_session on;
            alias $ok;
        }
        location = /logout {
            oidc_logout oidc;
            oidc_logout_frontchannel_timeout 2s;
        }
        location = /logout-wait {
            oidc_logout oidc;
            oidc_logout_backchannel_wait 1s;
        }
        location = /logout-paged {
            oidc_logout oidc;
            oidc_logout_page logged_out $d/pages/logged_out.html;
            oidc_logout_page error $d/pages/error.html;
            oidc_logout_page confirm $d/pages/confirm.html;
        }
        location = /v2/logout { oidc_logout auth0; }
        location = /jwks { oidc_logout_jwks; }
        location = /.well-known/openid-configuration { oidc_logout_metadata; }
        location /alt/ {
            oidc_logout_session zone=soak cookie=alt_session path=/alt/ secure=off samesite=strict;
            location = /alt/login { oidc_logout_login \$arg_user; alias $ok; }
            location = /alt/app { oidc_logout_require_session on; alias $ok; }
            location = /alt/logout { oidc_logout auth0; }
        }
        location = /upstream-idp/logout { return 200 "upstream provider: signed out\\n"; }
        # an upstream provider's authorization and token endpoints, whose
        # answers (played by the peer) reflect the fuzzers' parameters
        location /oauth/auth {
            oidc_logout_authorization_endpoint;
            proxy_pass http://127.0.0.1:$peer/fake-auth;
        }
        location = /oauth/token {
            oidc_logout_token_endpoint;
            proxy_pass http://127.0.0.1:$peer/fake-token;
        }
        # the operators' locations; the closed one refuses everyone
        location /admin/ { oidc_logout_admin; allow 127.0.0.1; deny all; }
        location /admin-closed/ { oidc_logout_admin; deny all; }
        location = /metrics { oidc_logout_metrics; }
        location = /bc-receiver { oidc_logout_backchannel_receiver; }
        # the zone whose sessions expire within seconds
        location /short/ {
            oidc_logout_session zone=short cookie=short_session path=/short/ secure=off;
            location = /short/login { oidc_logout_login \$arg_user; alias $ok; }
            location = /short/authorize {
                oidc_logout_join \$arg_client_id;
                add_header X-Client \$oidc_logout_client_id;
                alias $ok;
            }
            location = /short/app {
                oidc_logout_require_session on;
                add_header X-Sid \$oidc_logout_sid;
                alias $ok;
            }
            location /short/admin/ { oidc_logout_admin; allow 127.0.0.1; deny all; }
            location = /short/metrics { oidc_logout_metrics; }
        }
        location / { return 404; }
    }

    # the applications' back-channel receivers log each token they read
    log_format soak_token '\$status \$request_uri \$request_body';
    split_clients "\$request_id" \$soak_app_answer {
        50% ok;
        20% unavailable;
        15% close;
        *   slow;
    }

    # the peers: back-channel receivers, front-channel pages, the upstream
    # provider's login
    server {
        listen 127.0.0.1:$peer backlog=1024;
        # a receiver that always takes the token, and those that answer
        # by chance (their requests read the body: proxied to /answer/)
        location = /bc/ok {
            access_log $d/received.log soak_token;
            rewrite ^ /answer/ok break;
            proxy_pass http://127.0.0.1:$peer;
            proxy_read_timeout 3s;
        }
        location /app-bc/ {
            if (\$soak_app_answer = close) { return 444; }
            access_log $d/received.log soak_token;
            rewrite ^ /answer/\$soak_app_answer break;
            proxy_pass http://127.0.0.1:$peer;
            proxy_read_timeout 3s;
        }
        location = /answer/ok { return 204; }
        location = /answer/unavailable { return 503; }
        location = /answer/slow {
            # about a second for the headers and this line
            limit_rate 150;
            return 200 "a slow application: its answer takes a second or so\n";
        }
        location = /provider-jwks {
            default_type application/json;
            alias $d/provider-jwks.json;
        }
        location = /bc/fail { return 500; }
        location = /fake-auth { return 303 "http://127.0.0.1:$port/oauth/cb?\$args"; }
        location = /fake-auth-form {
            default_type text/html;
            return 200 '<form method="post" action="http://127.0.0.1:$port/oauth/cb"><input type="hidden" name="id_token" value="\$arg_id_token"><input type="hidden" name="code" value="\$arg_code"></form>\$arg_pad';
        }
        location = /fake-token {
            default_type application/json;
            return 200 '{"access_token":"a","id_token":"\$arg_id_token"\$arg_extra}';
        }
        location /fc1/ { return 200 "fc1\\n"; }
        location /fc2/ { return 200 "fc2\\n"; }
        location /both/ { return 200 "both\\n"; }
        location = /idp-login {
            add_header X-Authenticated-User \$arg_user;
            return 200 "signed in\\n";
        }
    }
    server {
        listen 127.0.0.1:$tls ssl;
        ssl_certificate $d/tls/tls.pem;
        ssl_certificate_key $d/tls/tls.key;
        location = /bc { return 200; }
    }
}
_EOC_
}

1;
