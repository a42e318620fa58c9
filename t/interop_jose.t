# Interoperability with an independent JOSE implementation (Node's jose,
# installed by build.sh under t/interop): jose verifies tokens against
# the JWKS the module serves, and the module accepts hints jose mints.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx;
use JSON::PP;
use Test::More;

module_path();    # stops the run at once when the module is not named
my $here    = abs_path(dirname(__FILE__));
my $interop = "$here/interop";
my $root    = "$here/servroot-interop";
my $port    = 1993;

-d "$interop/node_modules/jose"
    or BAIL_OUT("Node's jose is missing: run ./build.sh test, which installs it");

start_nginx($root, $port, sub {
    my ($dir) = @_;
    system('node', "$interop/jose.mjs", 'keys', $dir) == 0
        or BAIL_OUT('node jose.mjs keys failed');
    open my $f, '>', "$dir/clients.json" or die;
    print $f encode_json([{ client_id => 'app1',
        post_logout_redirect_uris => ['https://app1.example.com/logged-out'] }]);
    close $f;
    return main_context($dir, 1) . <<"_EOC_";
http {
    access_log off;
    oidc_logout_issuer https://sso.example.com;
    oidc_logout_keys $dir/jwks.json;
    oidc_logout_clients $dir/clients.json;
    server {
        listen 127.0.0.1:$port;
        location = /jwks { oidc_logout_jwks; }
        location = /logout { oidc_logout oidc; }
    }
}
_EOC_
});

my $out = `node $interop/jose.mjs check $root http://127.0.0.1:$port`;
is($?, 0, 'node jose.mjs check ran');
my $results = eval { decode_json($out) } || [];
cmp_ok(scalar @$results, '>=', 9, 'every check reported');
for my $r (@$results) {
    ok($r->{ok}, $r->{test})
        or diag(JSON::PP->new->canonical->encode($r));
}

stop_nginx();
done_testing();
