package ProviderPeers;

# The setup of the suites in front of the real provider (t/provider_e2e.t,
# t/provider_receiver.t): an unmodified node-oidc-provider from npm
# (t/interop/provider), app A on express-openid-connect
# (t/interop/express-rp), app B on Apache with mod_auth_openidc
# (t/interop/apache_rp.conf) and a real browser (Debian's Chromium through
# playwright-core, t/interop/provider_browser.mjs), around an nginx that is
# the provider's public origin (its issuer). Every one of them is
# installed by build.sh: a missing one stops the run.
#
# Ports: nginx's, then the provider, A, B and the browser's control port,
# one after the other. Under the suite's root: the provider's signing keys
# (provider-1, provider-2: the first given to start_provider signs), the
# module's own (module-keys.json, kid module-1, which signs the logout
# tokens), the registrations, the peers' logs and the screenshots.

use strict;
use warnings;

use Cwd qw(abs_path);
use Crypt::PK::RSA;
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use JSON::PP;
use Peers qw(spawn stop_peer wait_listening listening write_file);
use Test::More;

my $interop  = abs_path(dirname(__FILE__) . '/../interop');
my $node     = $ENV{NODE_BINARY} // 'node';
my $chromium = $ENV{CHROMIUM} // '/usr/bin/chromium';
my $json     = JSON::PP->new->canonical->pretty;

# node-oidc-provider's session cookie, signed (t/interop/provider/provider.mjs)
our $provider_cookies = '_session _session.sig';

sub private_jwk {
    my ($kid) = @_;
    my $pk = Crypt::PK::RSA->new;
    $pk->generate_key(256);
    return { %{ $pk->export_key_jwk('private', 1) }, kid => $kid, use => 'sig',
             alg => 'RS256' };
}

# ProviderPeers->new(root => DIR, nginx_port => N): checks that everything
# is installed and that the ports are free, empties root and writes the
# keys there.
sub new {
    my ($class, %o) = @_;
    -x $chromium
        or BAIL_OUT("$chromium is missing: run ./build.sh test, which installs it");
    for (['provider/node_modules/oidc-provider', 'oidc-provider'],
         ['express-rp/node_modules/express-openid-connect', 'express-openid-connect'],
         ['node_modules/playwright-core', 'playwright-core']) {
        -d "$interop/$_->[0]"
            or BAIL_OUT("$_->[1] is missing: run ./build.sh test, which installs it");
    }
    my $n = $o{nginx_port};
    my %port = (provider => $n + 1, a => $n + 2, b => $n + 3, browser => $n + 4);
    for my $p (sort values %port) {
        BAIL_OUT("port $p is in use: stop whatever listens there") if listening($p);
    }
    my $root = $o{root};
    remove_tree($root);
    make_path("$root/screenshots");
    chmod 0755, $root;
    my $self = bless {
        root => $root, port => \%port,
        issuer   => "http://127.0.0.1:$n",
        provider => "http://127.0.0.1:$port{provider}",
        A => "http://127.0.0.1:$port{a}",
        B => "http://127.0.0.1:$port{b}",
        provider_key => { map { $_ => private_jwk($_) } qw(provider-1 provider-2) },
        module_key => private_jwk('module-1'),
    }, $class;
    write_file("$root/module-keys.json", $json->encode({ keys => [$self->{module_key}] }),
               0600);
    return $self;
}

sub root     { $_[0]{root} }
sub port     { $_[0]{port}{ $_[1] } }
sub issuer   { $_[0]{issuer} }      # nginx, the provider's public origin
sub provider { $_[0]{provider} }    # the provider's own origin
sub A        { $_[0]{A} }
sub B        { $_[0]{B} }
sub module_key { $_[0]{module_key} }    # a private JWK

# ---- the registrations --------------------------------------------------

# Logout metadata: told by the back (front) channel at uri, with the sid.
sub backchannel_at {
    my ($uri) = @_;
    return { backchannel_logout_uri => $uri,
             backchannel_logout_session_required => JSON::PP::true };
}

sub frontchannel_at {
    my ($uri) = @_;
    return { frontchannel_logout_uri => $uri,
             frontchannel_logout_session_required => JSON::PP::true };
}

# The applications' own logout endpoints.
sub a_backchannel  { "$_[0]{A}/backchannel-logout" }
sub b_backchannel  { "$_[0]{B}/protected/redirect_uri?logout=backchannel" }
sub b_frontchannel { "$_[0]{B}/protected/redirect_uri?logout=get" }

# Writes the registration file name of A and B under root, each with its
# logout metadata (A => {...}, B => {...}); returns its path. The provider
# and the module read the same format (the provider ignores the metadata
# it does not know, frontchannel_logout_uri).
sub write_registrations {
    my ($self, $name, %logout) = @_;
    my ($A, $B) = @$self{qw(A B)};
    my $file = "$self->{root}/$name";
    write_file($file, $json->encode({ clients => [
        { client_id => 'express-rp', client_secret => 'express-rp-secret',
          redirect_uris => ["$A/callback"],
          post_logout_redirect_uris => ["$A/goodbye", "$B/goodbye.html"],
          %{ $logout{A} } },
        { client_id => 'apache-rp', client_secret => 'apache-rp-secret',
          redirect_uris => ["$B/protected/redirect_uri"],
          post_logout_redirect_uris => ["$B/goodbye.html"], %{ $logout{B} } },
    ] }));
    return $file;
}

# ---- the peers ----------------------------------------------------------

# (Re)starts the provider with the registrations of clients and these
# signing keys, the first one signing.
sub start_provider {
    my ($self, $clients, @kids) = @_;
    my $root = $self->{root};
    stop_peer('provider');
    write_file("$root/provider-keys.json",
               $json->encode({ keys => [ @{ $self->{provider_key} }{@kids} ] }), 0600);
    spawn('provider', "$root/provider.log",
          { PORT => $self->{port}{provider}, ISSUER => $self->{issuer},
            CLIENTS => $clients, JWKS => "$root/provider-keys.json" },
          $node, "$interop/provider/provider.mjs");
    wait_listening('provider', $self->{port}{provider}, "$root/provider.log");
}

# A fetches the discovery document and the keys when it first needs them
# (nginx need not be up yet), the keys again for an unknown kid, but at
# most once a minute (openid-client).
sub start_express_rp {
    my ($self) = @_;
    my $log = "$self->{root}/express-rp.log";
    stop_peer('express-rp');
    spawn('express-rp', $log,
          { PORT => $self->{port}{a}, ISSUER => $self->{issuer}, CLIENT_ID => 'express-rp' },
          $node, "$interop/express-rp/app.cjs");
    wait_listening('express-rp', $self->{port}{a}, $log);
}

sub start_apache_rp {
    my ($self) = @_;
    Peers::start_apache_rp(
        name => 'apache-rp', root => "$self->{root}/apache", interop => $interop,
        port => $self->{port}{b}, issuer => $self->{issuer}, client_id => 'apache-rp',
        pages => { 'protected/index.html' => "apache-rp: protected\n",
                   'goodbye.html' => "apache-rp: goodbye\n" });
}

sub start_browser {
    my ($self) = @_;
    my $root = $self->{root};
    spawn('browser', "$root/browser.log",
          { PORT => $self->{port}{browser}, ISSUER => $self->{issuer},
            PROVIDER => $self->{provider}, APP_A => $self->{A}, APP_B => $self->{B},
            PROVIDER_COOKIES => $provider_cookies, MODULE_KIDS => 'module-1',
            SCREENSHOTS => "$root/screenshots", CHROMIUM => $chromium },
          $node, "$interop/provider_browser.mjs");
    wait_listening('browser', $self->{port}{browser}, "$root/browser.log");
}

# ---- nginx --------------------------------------------------------------

# nginx's http-level directives, with the module's registry clients (a
# file under root).
sub http_directives {
    my ($self, $clients) = @_;
    my ($root, $provider_port) = ($self->{root}, $self->{port}{provider});
    return <<"_EOC_";
    oidc_logout_zone zone=sso:4m;
    oidc_logout_session zone=sso secure=off;
    oidc_logout_issuer $self->{issuer};
    oidc_logout_clients $root/$clients;
    oidc_logout_keys $root/module-keys.json;
    oidc_logout_keys_url http://127.0.0.1:$provider_port/jwks refresh=2s;
    oidc_logout_provider_cookies $provider_cookies;
_EOC_
}

# The server's directives that make nginx the provider's public origin: it
# proxies the provider, watches its authorization and token endpoints,
# answers its end_session path and its jwks_uri path itself.
sub origin_locations {
    my ($self) = @_;
    my $provider = "http://127.0.0.1:$self->{port}{provider}";
    return <<"_EOC_";
    proxy_set_header Host \$http_host;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header X-Forwarded-Host \$http_host;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    # the module reads the authorization and token responses: plain ones
    proxy_set_header Accept-Encoding "";

    location / {
        proxy_pass $provider;
    }
    location /auth {        # /auth and the resume URLs /auth/<uid>
        oidc_logout_authorization_endpoint;
        proxy_pass $provider;
    }
    location = /token {
        oidc_logout_token_endpoint;
        proxy_pass $provider;
    }
    location = /session/end {
        oidc_logout oidc;
        oidc_logout_backchannel_wait 10s;   # the redirect waits for the tokens
    }
    location = /jwks {
        oidc_logout_jwks;
    }
_EOC_
}

1;
