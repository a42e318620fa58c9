# The logout endpoint tried as a user would: log in, join, log out, with
# id_token_hints minted here from keys generated here. The OpenID
# RP-Initiated Logout conformance scenarios, every Auth0-mode rule,
# federated logout, and the JWKS and discovery documents.
#
# A plain Test::More script (sessions need a cookie across requests); it
# reads TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES like the suites.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx;
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use Test::More;

module_path();    # stops the run at once when the module is not named
my $root   = abs_path(dirname(__FILE__)) . '/servroot-logout';
my $t_conf = abs_path(dirname(__FILE__)) . '/conf';
my $issuer = 'https://sso.example.com';
my $json   = JSON::PP->new->canonical;

# ---- keys, clients, tokens -------------------------------------------------

my %key;
$key{rsa} = Crypt::PK::RSA->new;  $key{rsa}->generate_key(256);
$key{old} = Crypt::PK::RSA->new;  $key{old}->generate_key(256);
$key{ec}  = Crypt::PK::ECC->new;  $key{ec}->generate_key('secp256r1');
my $stranger = Crypt::PK::RSA->new; $stranger->generate_key(256);

sub public_jwk {
    my ($name) = @_;
    my $jwk = $key{$name}->export_key_jwk('public', 1);
    return { %$jwk, kid => $name, use => 'sig' };
}

# Mints a hint: claims over the defaults, signed by key (a name of %key).
sub hint {
    my (%o) = @_;
    my $k = delete $o{key} // 'rsa';
    my $alg = delete $o{alg} // ($k eq 'ec' ? 'ES256' : 'RS256');
    my $signer = delete $o{signer} // $key{$k};
    my %claims = (iss => $issuer, aud => 'app1', sub => 'alice',
                  iat => time - 60, exp => time + 600, %o);
    delete $claims{$_} for grep { !defined $claims{$_} } keys %claims;
    return encode_jwt(payload => \%claims, alg => $alg, key => $signer,
                      extra_headers => { kid => $k });
}

sub unsigned {
    my (%claims) = @_;
    return join '.', encode_base64url('{"alg":"none"}'),
        encode_base64url($json->encode({ iss => $issuer, aud => 'app1',
                                         sub => 'alice', iat => time,
                                         %claims })), '';
}

sub enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

sub query { join '&', map { "$_[$_*2]=" . enc($_[$_*2+1]) } 0 .. $#_/2 }

sub config {
    my ($root, $port) = @_;
    return main_context($root, 2) . <<"_EOC_";
http {
    access_log off;
    oidc_logout_issuer $issuer;
    oidc_logout_keys $root/jwks.json;
    oidc_logout_clients $root/clients.json;
    oidc_logout_allowed_urls https://portal.example.com/;
    oidc_logout_federated_url "https://upstream-idp.example.com/v2/logout?returnTo=\$oidc_logout_return_to\$federated_sid";
    map \$uri \$federated_sid {
        /v2/logout-seen "&sid=\$oidc_logout_sid";
        default "";
    }
    oidc_logout_zone zone=sso:1m;
    oidc_logout_session zone=sso secure=off;
    server {
        listen 127.0.0.1:$port;
        include $t_conf/session_steps.conf;
        location = /logout { oidc_logout oidc; }
        location = /v2/logout { oidc_logout auth0; }
        # the session looked up before the logout (rewrite phase)
        location = /v2/logout-seen {
            set \$seen \$oidc_logout_sid;
            oidc_logout auth0;
        }
        location = /jwks { oidc_logout_jwks; }
        location = /.well-known/openid-configuration { oidc_logout_metadata; }
    }
}
_EOC_
}

start_nginx($root, 1992, sub {
    my ($dir) = @_;
    open my $f, '>', "$dir/jwks.json" or die;
    print $f $json->encode({ keys => [ map { public_jwk($_) } qw(rsa old ec) ] });
    close $f;
    open $f, '>', "$dir/clients.json" or die;
    print $f $json->encode({ clients => [
        { client_id => 'app1',
          post_logout_redirect_uris => ['https://app1.example.com/logged-out'],
          allowed_logout_urls => ['https://app1.example.com/bye',
                                  'https://*.app1.example.com/bye'] },
        { client_id => 'app2' },
        { client_id => 'quiet', skip_logout_confirmation => JSON::PP::true,
          post_logout_redirect_uris => ['https://quiet.example.com/out'] },
    ] });
    close $f;
    return config(@_);
});

# A user who has signed in to app1: (cookie, sid).
sub signed_in {
    my $c = login('alice');
    get('/authorize?client_id=app1', $c);
    return ($c, get('/app', $c)->{headers}{'x-sid'});
}

sub alive { get('/app', $_[0])->{status} == 200 }

my $uri = 'https://app1.example.com/logged-out';

# ---- the OpenID conformance scenarios --------------------------------------

{
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(id_token_hint => hint(sid => $sid),
                                     post_logout_redirect_uri => $uri,
                                     state => 'af0ifjsldkj'), $c);
    is($res->{status}, 302, 'hint + URI + state: redirect');
    is($res->{headers}{location}, "$uri?state=af0ifjsldkj",
       'with the same state');
    ok(!alive($c), 'and the session ended');
    like($res->{headers}{'set-cookie'}, qr/Max-Age=0/, 'the cookie cleared');
}
{
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(id_token_hint => hint(sid => $sid),
                                     post_logout_redirect_uri => $uri), $c);
    is($res->{headers}{location}, $uri, 'no state: no state parameter');
}
{
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(id_token_hint => hint(sid => $sid),
        post_logout_redirect_uri => 'https://app1.example.com/elsewhere'), $c);
    is($res->{status}, 200, 'unregistered URI: no redirect');
    like($res->{content}, qr/You have been signed out/, 'the logged-out page');
    ok(!alive($c), 'the session ended');
}
{
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(id_token_hint => hint(sid => $sid),
        post_logout_redirect_uri => "$uri?foo=bar"), $c);
    is($res->{status}, 200, 'registered URI with ?foo=bar: no redirect');
    ok(!exists $res->{headers}{location}, 'no Location');
}
{
    my ($c) = signed_in();
    my $res = get('/logout?' . query(post_logout_redirect_uri => $uri), $c);
    is($res->{status}, 200, 'no hint and no client_id: a page');
    like($res->{content}, qr/<form method="post" action="\/logout">/,
         'that asks to confirm');
    ok(alive($c), 'nothing ended yet');
    $res = logout($c, '?' . query(post_logout_redirect_uri => $uri));
    is($res->{status}, 200, 'once confirmed: no redirect (no known client)');
    ok(!alive($c), 'and the session ended');
}
{
    my ($c) = signed_in();
    my $hs = encode_jwt(payload => { iss => $issuer, aud => 'app1',
                                     sub => 'alice', iat => time },
                        alg => 'HS256', key => 'app1-client-secret');
    my $res = logout($c, '?' . query(id_token_hint => $hs,
                                     post_logout_redirect_uri => $uri));
    is($res->{status}, 200, 'a hint signed HS256 by a client: no redirect');
    like(error_log(), qr/id_token_hint refused: HMAC \("HS256"\)/, 'logged');
}
{
    my ($c, $sid) = signed_in();
    my $res = logout($c, '?' . query(id_token_hint => unsigned(sid => $sid),
                                     post_logout_redirect_uri => $uri));
    is($res->{status}, 200, 'a hint with alg none: no redirect');
    like(error_log(), qr/id_token_hint refused: unsigned \(alg none\)/,
         'logged');
}
{
    my $res = get('/logout');
    is($res->{status}, 200, 'no parameters: the logged-out page');
    like($res->{content}, qr/You have been signed out/, 'says so');
}
{
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(id_token_hint => hint(sid => $sid),
                                     state => 'abc'), $c);
    is($res->{status}, 200, 'hint + state without URI: the logged-out page');
    ok(!alive($c), 'the session ended');
}
{
    my $res = get('/logout?state=abc');
    is($res->{status}, 200, 'only state: the logged-out page');
    ok(!exists $res->{headers}{location}, 'no redirect');
}

# ---- more of OIDC mode -----------------------------------------------------

{
    my ($c, $sid) = signed_in();
    my $res = post_form('/logout', { id_token_hint => hint(sid => $sid),
                                     post_logout_redirect_uri => $uri,
                                     state => 's t' }, $c);
    is($res->{headers}{location}, "$uri?state=s%20t", 'POST works too');
}
{
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(id_token_hint => hint(sid => $sid),
        client_id => 'app2', post_logout_redirect_uri => $uri), $c);
    is($res->{status}, 400, 'a client_id other than the hint\'s: refused');
    ok(alive($c), 'and the session lives');
}
{
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(
        id_token_hint => hint(sid => $sid, iat => time - 86400 * 7,
                              exp => time - 86400 * 6),
        post_logout_redirect_uri => $uri), $c);
    is($res->{status}, 302, 'an expired hint is accepted');
    $res = get('/logout?' . query(id_token_hint => hint(sid => $sid),
                                  post_logout_redirect_uri => $uri), $c);
    is($res->{status}, 302, 'a second logout is not an error');
    is(get('/app', $c)->{status}, 401, 'require_session rejects the cookie');
    get('/authorize?client_id=app1', $c);
    like(error_log(), qr/oidc_logout_join: no live session/,
         'and so does a later join');
}
{
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(id_token_hint => hint(sid => 'another'),
                                     post_logout_redirect_uri => $uri), $c);
    like($res->{content}, qr/name="confirm"/,
         'a hint of another session: confirm first');
    ok(alive($c), 'nothing ended yet');
}
for my $case (['old', 'RS256', 'a rotated key still in the JWKS'],
              ['ec', 'ES256', 'an EC key'], ['rsa', 'PS256', 'RSA-PSS']) {
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(
        id_token_hint => hint(key => $case->[0], alg => $case->[1],
                              sid => $sid),
        post_logout_redirect_uri => $uri), $c);
    is($res->{status}, 302, "$case->[2] ($case->[1]) verifies");
}
{
    my ($c, $sid) = signed_in();
    my $res = get('/logout?' . query(
        id_token_hint => hint(signer => $stranger, sid => $sid),
        post_logout_redirect_uri => $uri), $c);
    like($res->{content}, qr/name="confirm"/, 'a key not in the JWKS: not proof');
    like(error_log(), qr/id_token_hint refused: bad signature/, 'logged');
}
{
    my ($c) = signed_in();
    my $res = get('/logout?' . query(client_id => 'quiet',
        post_logout_redirect_uri => 'https://quiet.example.com/out'), $c);
    like($res->{content}, qr/name="confirm"/,
         'skip_logout_confirmation without a hint: a link is no proof');
    $res = get('/logout?' . query(
        id_token_hint => hint(aud => 'quiet', sid => 'an-older-session'),
        post_logout_redirect_uri => 'https://quiet.example.com/out'), $c);
    is($res->{status}, 302,
       'skip_logout_confirmation: a hint of this user, another session');
    ok(!alive($c), 'the session ended');
}
{
    # an application's form, posted from its own site: the browser sends
    # no SameSite=Lax cookie with it, and the endpoint asks for a GET
    my ($c, $sid) = signed_in();
    my $res = post_form('/logout', { id_token_hint => hint(sid => $sid),
                                     post_logout_redirect_uri => $uri,
                                     state => 'p' });
    is($res->{status}, 303, 'a cross-site POST without the cookie: 303');
    ok(alive($c), 'nothing ended yet');
    my $next = $res->{headers}{location} // '';
    like($next, qr{^/logout\?id_token_hint=}, 'to this endpoint, relative');
    $res = get($next, $c);
    is($res->{headers}{location}, "$uri?state=p",
       'the GET brings the cookie and logs out');
    ok(!alive($c), 'the session ended');
}

# ---- Auth0 mode ------------------------------------------------------------

{
    my ($c) = signed_in();
    get('/authorize?client_id=app2', $c);
    my $res = get('/v2/logout?' . query(client_id => 'app1',
        returnTo => 'https://eu.app1.example.com/bye?x=1'), $c);
    is($res->{headers}{location}, 'https://eu.app1.example.com/bye?x=1',
       'returnTo in the client\'s allowed URLs, query kept');
    ok(!alive($c), 'the SSO session ended for every client');
}
{
    my $res = get('/v2/logout?' . query(returnTo => 'https://portal.example.com/'));
    is($res->{headers}{location}, 'https://portal.example.com/',
       'without client_id, the tenant list');
    $res = get('/v2/logout?' . query(returnTo => 'https://app1.example.com/bye'));
    is($res->{status}, 400, 'an application URL without client_id: refused');
    $res = get('/v2/logout?client_id=app1');
    is($res->{headers}{location}, 'https://app1.example.com/bye',
       'client_id without returnTo: its first allowed URL');
    $res = get('/v2/logout?' . query(client_id => 'app1',
                                     returnTo => 'https://app1.example.com/Bye'));
    is($res->{status}, 400, 'the path is case-sensitive');
    $res = get('/v2/logout?' . query(client_id => 'nobody',
                                     returnTo => 'https://portal.example.com/'));
    is($res->{status}, 400, 'an unknown client_id: refused');
}
{
    my ($c) = signed_in();
    my $res = get('/v2/logout?' . query(returnTo => 'https://portal.example.com/')
                  . '&federated', $c);
    is($res->{status}, 302, 'federated: a redirect');
    my $loc = $res->{headers}{location} // '';
    like($loc, qr{^https://upstream-idp\.example\.com/v2/logout\?returnTo=https%3A%2F%2Fsso\.example\.com%2Fv2%2Flogout%3FreturnTo%3Dhttps%253A%252F%252Fportal\.example\.com%252F$},
         'to the upstream provider, which returns here (the issuer\'s origin)');
    ok(!alive($c), 'the session ended first');
    my ($back) = $loc =~ /returnTo=([^&]+)$/;
    $back =~ s/%([0-9A-F]{2})/chr hex $1/ge;
    $back =~ s{^https://sso\.example\.com}{};
    is(get($back)->{headers}{location}, 'https://portal.example.com/',
       'and from here to returnTo');
}
{
    # the federated URL is made once the session has ended: no sid, even
    # when an earlier phase of the request looked the session up
    my ($c, $sid) = signed_in();
    my $res = get('/v2/logout-seen?federated', $c);
    like($res->{headers}{location} // '', qr{^https://upstream-idp\.example\.com/v2/logout\?returnTo=[^&]+&sid=$},
         'federated: the ended session has no $oidc_logout_sid');
    ok(!alive($c), 'and it ended');
}

# ---- publishing ------------------------------------------------------------

{
    my $res = get('/jwks');
    is($res->{status}, 200, 'the JWKS');
    my $jwks = decode_json($res->{content});
    is_deeply([sort map { $_->{kid} } @{ $jwks->{keys} }], [qw(ec old rsa)],
              'every key');
    ok(!grep({ exists $_->{d} } @{ $jwks->{keys} }), 'no private member');
    $res = get('/.well-known/openid-configuration');
    my $meta = decode_json($res->{content});
    is($meta->{issuer}, $issuer, 'metadata: issuer');
    is($meta->{end_session_endpoint}, "$issuer/logout",
       'metadata: end_session_endpoint');
    is($meta->{jwks_uri}, "$issuer/jwks", 'metadata: jwks_uri');
    ok(JSON::PP::is_bool($meta->{backchannel_logout_supported}),
       'capabilities are JSON booleans');
}

unlike(error_log(), qr/\[(alert|crit|emerg)\]/, 'no alert, crit or emerg');
stop_nginx();
done_testing();
