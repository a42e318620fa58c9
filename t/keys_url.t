# oidc_logout_keys_url: the provider's JWKS fetched by the workers from a
# location of the same nginx (a file this script rewrites): hints signed
# by a fetched key are accepted; the provider rotates its key and a hint of
# the new kid is accepted without a reload; the keys stay across a reload
# while the provider is down; the JWKS served lists the provider's keys and
# the module's own; before any key is fetched a hint is refused (the user
# confirms) with one line saying why; a dead provider is one line a fetch;
# nginx -t fetches nothing.
#
# A plain Test::More script (rewritten files, reloads, waiting for the
# workers' fetches); it reads TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES
# like the suites.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx;
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::RSA;
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use JSON::PP;
use Test::More;

module_path();    # stops the run at once when the module is not named
my $root   = abs_path(dirname(__FILE__)) . '/servroot-keys-url';
my $t_conf = abs_path(dirname(__FILE__)) . '/conf';
my $issuer = 'https://sso.example.com';
my $port   = 2020;
my $json   = JSON::PP->new->canonical;
my $bye    = 'https://app1.example.com/bye';

my %key;
for my $kid (qw(p1 p2 module)) {
    $key{$kid} = Crypt::PK::RSA->new;
    $key{$kid}->generate_key(256);
}

sub jwk {
    my ($kid, $private) = @_;
    my $jwk = $key{$kid}->export_key_jwk($private ? 'private' : 'public', 1);
    return { %$jwk, kid => $kid, use => 'sig' };
}

sub write_json {
    my ($path, $doc) = @_;
    open my $f, '>', "$path.new" or die "$path.new: $!";
    print $f $json->encode($doc);
    close $f;
    rename "$path.new", $path or die "$path: $!";
}

# The provider publishes the keys of these kids (none: it is down).
sub provider_publishes {
    my @kids = @_;
    my $path = "$root/provider-jwks.json";
    return unlink $path unless @kids;
    write_json($path, { keys => [
        # an encryption key, as Keycloak publishes beside its signing keys
        { %{ jwk('p1') }, kid => 'enc', use => 'enc', alg => 'RSA-OAEP' },
        map { jwk($_) } @kids ] });
}

sub hint {
    my ($kid) = @_;
    return encode_jwt(
        payload => { iss => $issuer, aud => 'app1', sub => 'alice',
                     iat => time - 60, exp => time + 600 },
        alg => 'RS256', key => $key{$kid}, extra_headers => { kid => $kid });
}

sub enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# A signed-in user logs out with a hint of kid: the response.
sub logout_with {
    my ($kid) = @_;
    my $c = login('alice');
    return get('/logout?id_token_hint=' . enc(hint($kid))
               . '&post_logout_redirect_uri=' . enc($bye), $c);
}

# The hint of kid was accepted: no confirmation, straight to the client.
sub accepted {
    my ($res) = @_;
    return $res->{status} == 302 && ($res->{headers}{location} // '') eq $bye;
}

sub confirmation {
    my ($res) = @_;
    return $res->{status} == 200 && $res->{content} =~ /<form method="post"/;
}

sub config {
    my (%o) = @_;
    my $url = $o{url} // "http://127.0.0.1:$port/provider/jwks";
    my $own = $o{own} ? "oidc_logout_keys $root/own-keys.json;" : '';
    return sub {
        my ($root, $port) = @_;
        return main_context($root, 2) . <<"_EOC_";
http {
    access_log off;
    oidc_logout_issuer $issuer;
    $own
    oidc_logout_keys_url $url refresh=10m;
    oidc_logout_clients $root/clients.json;
    oidc_logout_zone zone=sso:1m;
    oidc_logout_session zone=sso secure=off;
    server {
        listen 127.0.0.1:$port;
        include $t_conf/session_steps.conf;
        location = /logout {
            oidc_logout oidc;
            add_header X-Pid \$pid always;
        }
        location = /jwks { oidc_logout_jwks; }
        location = /provider/jwks {
            default_type application/json;
            alias $root/provider-jwks.json;
        }
    }
}
_EOC_
    };
}

sub prepare {
    my ($dir) = @_;
    write_json("$dir/clients.json", { clients => [
        { client_id => 'app1', post_logout_redirect_uris => [$bye] } ] });
    write_json("$dir/own-keys.json", { keys => [ jwk('module', 1) ] });
}

# ---- fetched keys, rotation, reload ----------------------------------------

start_nginx($root, $port, sub {
    my ($dir) = @_;
    prepare($dir);
    # the root is fresh: the provider's document goes in once it exists
    $root = $dir;
    provider_publishes('p1');
    return config(own => 1)->(@_);
});

{
    my $res;
    wait_for(sub { accepted($res = logout_with('p1')) },
             'a hint of the fetched key accepted');
    ok(accepted($res), 'a hint signed by the provider\'s key is accepted');
    like(error_log(),
         qr/\[notice\] .*oidc_logout: oidc_logout_keys_url "http:\/\/127\.0\.0\.1:$port\/provider\/jwks": fetched 1 key\(s\), 1 skipped \(version 1\)/,
         'the fetch is logged, the encryption key skipped');
    ok(accepted(logout_with('module')),
       'a hint signed by the module\'s own key still is');

    my $jwks = $json->decode(get('/jwks')->{content});
    is_deeply([ map { $_->{kid} } @{ $jwks->{keys} } ], [qw(p1 module)],
              'the JWKS served: the provider\'s keys, then the module\'s');
    ok(!grep({ exists $_->{d} } @{ $jwks->{keys} }),
       'and no private member');
}

{
    # the provider rotates: p2 replaces p1
    provider_publishes('p2');
    my $first = logout_with('p2');
    ok(confirmation($first),
       'a hint of a new kid is not verified at once: the user confirms');

    my $res;
    wait_for(sub { accepted($res = logout_with('p2')) },
             'a hint of the rotated key accepted');
    ok(accepted($res), 'the unknown kid made the workers fetch the keys '
                       . 'again: accepted without a reload');
    ok(!accepted(logout_with('p1')), 'the retired key is gone');
    my @fetches = error_log() =~ /fetched \d key\(s\)/g;
    is(scalar @fetches, 2, 'two fetches in all: at start, and on the kid');
}

{
    # the provider is down; a reload: the new workers use the keys kept
    my %old;
    $old{ get('/app', login('alice'))->{headers}{'x-pid'} } = 1 for 1 .. 6;
    provider_publishes();
    is(get('/provider/jwks')->{status}, 404, 'the provider is down');

    reload_nginx();
    my $res;
    wait_for(sub {
        $res = logout_with('p2');
        !$old{ $res->{headers}{'x-pid'} // '' }
    }, 'a worker of the new configuration');
    ok(accepted($res), 'right after a reload, with the provider down, the '
                       . 'hint is accepted: the keys stayed in the zone');
}

stop_nginx();

# ---- nothing fetched yet: a dead provider ---------------------------------

start_nginx("$root-dead", $port, sub {
    my ($dir) = @_;
    prepare($dir);
    return config(url => 'http://127.0.0.1:1/jwks')->(@_);
});

{
    my $line = qr/\[error\] .*oidc_logout: oidc_logout_keys_url "http:\/\/127\.0\.0\.1:1\/jwks": could not fetch the provider's keys: connect-failed \(111: Connection refused\); no keys yet, next attempt in \d+s/;
    wait_for(sub { error_log() =~ $line }, 'the failed fetch logged');
    like(error_log(), $line, 'a failed fetch: one line with the URL and why');
    my @errors = grep { /\[(?:error|crit|alert|emerg)\]/ } split /\n/, error_log();
    is_deeply([ grep { !/could not fetch the provider's keys/ } @errors ], [],
              'and no other line at error level');

    my $res = logout_with('p1');
    ok(confirmation($res), 'no keys yet: a hint is not verified, the user '
                           . 'confirms');
    my @why = error_log() =~ /(oidc_logout: id_token_hint refused: [^\n]*)/g;
    is(scalar @why, 1, 'and one line says why:');
    like($why[0], qr/^\Qoidc_logout: id_token_hint refused: no key of kid "p1" fits RS256; the keys of oidc_logout_keys_url "http:\/\/127.0.0.1:1\/jwks" are not fetched yet\E/,
         'no key yet');
    is(get('/jwks')->{content}, '{"keys":[]}',
       'the JWKS served is empty meanwhile');
}

stop_nginx();

# ---- nginx -t fetches nothing ----------------------------------------------

{
    my $provider = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1', LocalPort => $port + 1, Listen => 5,
        ReuseAddr => 1, Blocking => 0) or die "listen: $!";
    my $dir = "$root-t";
    remove_tree($dir);
    make_path("$dir/logs");
    prepare($dir);
    open my $f, '>', "$dir/nginx.conf" or die;
    print $f config(url => 'http://127.0.0.1:' . ($port + 1) . '/jwks')
        ->($dir, $port);
    close $f;
    my $out = qx{$ENV{TEST_NGINX_BINARY} -t -p $dir/ -c $dir/nginx.conf -e $dir/error.log 2>&1};
    like($out, qr/test is successful/, 'nginx -t accepts the configuration');
    # nginx -t has exited: a connection it made would be waiting here
    ok(!$provider->accept, 'and never fetched the keys');
}

done_testing();
