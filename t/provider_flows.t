# In front of a provider that cooperates in nothing: the module learns the
# session from the provider's own responses. nginx plays the provider
# here (its answers are locations under /fake/, the ID tokens minted by
# this script); t/provider_e2e.t does the same with node-oidc-provider.
#
#   authorization responses: a redirect with code, a redirect with an
#   id_token in the fragment, a form_post page (headers held for it), a
#   login page and an oversized page passed on untouched;
#   token responses: the code's session gets the subject and the
#   provider's sid; a logout with a hint of that sid needs no
#   confirmation, and the logout token carries it;
#   oidc_logout_provider_cookies: expired at the logout, and never passed
#   to the provider again; and the configuration errors.
#
# A plain Test::More script (a session needs its cookie across requests);
# it reads TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES like the suites.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx;
use Crypt::JWT qw(encode_jwt decode_jwt);
use Crypt::PK::ECC;
use JSON::PP;
use Test::More;

module_path();
my $root   = abs_path(dirname(__FILE__)) . '/servroot-provider';
my $issuer = 'http://127.0.0.1:2016';
my $json   = JSON::PP->new->canonical;

my $provider_key = Crypt::PK::ECC->new;
$provider_key->generate_key('secp256r1');
my $module_key = Crypt::PK::ECC->new;
$module_key->generate_key('secp256r1');

# An ID token of the provider.
sub id_token {
    my (%claims) = @_;
    return encode_jwt(
        payload => { iss => $issuer, iat => time, exp => time + 600,
                     %claims },
        alg => 'ES256', key => $provider_key,
        extra_headers => { kid => 'provider-1' });
}

# A form_post page beyond the size observed, marked (SSI) after its form.
sub big_page {
    my ($mark) = @_;
    return '<form method="post" action="https://b.example/cb">'
        . '<input type="hidden" name="code" value="BIG"/></form>'
        . $mark . ('<!-- padding -->' x 5000);
}

sub config {
    my ($root, $port) = @_;
    return main_context($root, 2) . <<"_EOC_";
http {
    access_log off;
    log_format token '\$request_body';
    oidc_logout_issuer $issuer;
    oidc_logout_keys $root/keys.json;
    oidc_logout_clients $root/clients.json;
    oidc_logout_zone zone=sso:1m;
    oidc_logout_session zone=sso secure=off;
    oidc_logout_provider_cookies _session remember=1h path=/sso/;
    server {
        listen 127.0.0.1:$port;
        location /auth/ {
            oidc_logout_authorization_endpoint;
            proxy_pass http://127.0.0.1:$port/fake/;
        }
        location = /token {
            oidc_logout_token_endpoint;
            proxy_pass http://127.0.0.1:$port/fake/token;
        }
        location = /session/end { oidc_logout oidc; }
        location = /whoami {
            oidc_logout_require_session on;
            proxy_pass http://127.0.0.1:$port/fake/whoami;
            proxy_set_header X-Sub \$oidc_logout_sub;
        }
        location = /echo { proxy_pass http://127.0.0.1:$port/fake/echo; }
        location = /bc-a {
            access_log $root/tokens.log token;
            proxy_pass http://127.0.0.1:$port/fake/ok;
        }

        location = /fake/code {
            return 303 "https://a.example/cb?code=\$arg_code&state=s";
        }
        location = /fake/implicit {
            return 302 "https://a.example/cb#id_token=\$arg_id_token&state=s";
        }
        location = /fake/form {
            default_type "text/html; charset=utf-8";
            return 200 '<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" action="https://b.example/cb"><input type="hidden" name="id_token" value="\$arg_id_token"/><input type="hidden" name="state" value="s"/></form></body></html>';
        }
        location = /fake/login {
            default_type text/html;
            return 200 '<form method="post" action="/interaction/1"><input name="login"/></form>';
        }
        # SSI (built into every nginx) drops Content-Length: the size
        # shows only as the page comes
        location = /fake/big.html {
            alias $root/big.html;
            default_type text/html;
            ssi on;
            set \$marker '<!-- PADDING -->';
        }
        location = /fake/token {
            default_type application/json;
            return 200 '{"access_token":"x","token_type":"Bearer","id_token":"\$arg_id_token"}';
        }
        location = /fake/echo { return 200 "cookie=\$http_cookie\\n"; }
        location = /fake/ok { return 200; }
        location = /fake/whoami { return 200 "sub=\$http_x_sub\\n"; }
    }
}
_EOC_
}

start_nginx($root, 2016, sub {
    my ($dir) = @_;
    my $provider = $provider_key->export_key_jwk('public', 1);
    my $module   = $module_key->export_key_jwk('private', 1);
    open my $f, '>', "$dir/keys.json" or die;
    print $f $json->encode({ keys => [
        { %$module, kid => 'module-1', use => 'sig' },
        { %$provider, kid => 'provider-1', use => 'sig' } ] });
    close $f;
    open $f, '>', "$dir/clients.json" or die;
    print $f $json->encode({ clients => [
        { client_id => 'appA', redirect_uris => ['https://a.example/cb'],
          post_logout_redirect_uris => ['https://a.example/bye'],
          backchannel_logout_uri => "http://127.0.0.1:2016/bc-a" },
        { client_id => 'appB', redirect_uris => ['https://b.example/cb'] },
    ] });
    close $f;
    open $f, '>', "$dir/big.html" or die;
    print $f big_page('<!--# echo var="marker" encoding="none" -->');
    close $f;
    return config(@_);
});

sub request {
    my ($method, $path, %o) = @_;
    my %h = %{ $o{headers} // {} };
    return FlowNginx::client()->request($method,
        "http://127.0.0.1:2016$path",
        { headers => \%h, (defined $o{body} ? (content => $o{body}) : ()) });
    # (a code reference as the body is sent chunked)
}

sub with_cookie { (headers => { Cookie => $_[0] }) }

sub whoami {
    my ($c) = @_;
    my $res = request(GET => '/whoami', with_cookie("oidc_session=$c"));
    return $res->{status} == 200 ? $res->{content} : $res->{status};
}

# ---- the code flow -------------------------------------------------------

my $cookie;
{
    # a resumed authorization: no client_id in the request
    my $res = request(GET => '/auth/code?code=C1');
    is($res->{status}, 303, 'the redirect passes');
    is($res->{headers}{location}, 'https://a.example/cb?code=C1&state=s',
       'its Location unchanged');
    $cookie = session_cookie($res);
    ok($cookie, 'a session starts on the authorization response');
    is(whoami($cookie), "sub=\n", 'it is live before its subject is known');

    my $token = id_token(aud => 'appA', sub => 'alice', sid => 'PS-A');
    $res = request(POST => "/token?id_token=$token",
                   headers => { 'Content-Type' =>
                                'application/x-www-form-urlencoded' },
                   body => 'grant_type=authorization_code&code=C1'
                           . '&redirect_uri=https%3A%2F%2Fa.example%2Fcb');
    is($res->{status}, 200, 'the token response passes');
    like($res->{content}, qr/"id_token":"\Q$token\E"/, 'unchanged');
    is(whoami($cookie), "sub=alice\n", 'the ID token bound the subject');

    # the provider's sid is the session's: no confirmation
    $res = request(GET => '/session/end?id_token_hint=' . $token
                   . '&post_logout_redirect_uri=https%3A%2F%2Fa.example%2Fbye',
                   with_cookie("oidc_session=$cookie; _session=p1; t=1"));
    is($res->{status}, 302, 'a hint with the provider sid logs out at once');
    is($res->{headers}{location}, 'https://a.example/bye', 'to the client');
    my @set = @{ ref $res->{headers}{'set-cookie'}
                 ? $res->{headers}{'set-cookie'}
                 : [ $res->{headers}{'set-cookie'} ] };
    ok((grep { /^_session=; Path=\/sso\/; Max-Age=0/ } @set),
       "the provider's session cookie is expired, on its path");
    is(whoami($cookie), 401, 'the session has ended');

    wait_for(sub { -s "$root/tokens.log" }, 'the logout token');
    open my $f, '<', "$root/tokens.log" or die;
    my ($jwt) = <$f> =~ /logout_token=([\w.-]+)/;
    my $claims = decode_jwt(token => $jwt, key => $module_key);
    is($claims->{sid}, 'PS-A', "the logout token carries the client's sid");
    is($claims->{sub}, 'alice', 'and the subject');

    # the revoked value never reaches the provider again
    $res = request(GET => '/echo', with_cookie('_session=p1; t=1'));
    is($res->{content}, "cookie=t=1\n", 'a revoked provider cookie is dropped');
    $res = request(GET => '/echo', with_cookie('_session=p2; t=1'));
    is($res->{content}, "cookie=_session=p2; t=1\n", 'another value passes');
}

# ---- ID tokens in the authorization response ----------------------------

{
    my $ta = id_token(aud => 'appA', sub => 'bob', sid => 'PS-BA');
    my $res = request(GET => "/auth/implicit?id_token=$ta");
    my $c = session_cookie($res);
    ok($c, 'an implicit response starts a session');
    is(whoami($c), "sub=bob\n", 'bound at once');

    my $tb = id_token(aud => 'appB', sub => 'bob', sid => 'PS-BB');
    $res = request(GET => "/auth/form?id_token=$tb",
                   with_cookie("oidc_session=$c"));
    is($res->{status}, 200, 'a form_post page passes');
    like($res->{content}, qr/^<!DOCTYPE html>.*value="\Q$tb\E"/s,
         'the whole page, unchanged');
    my $c2 = session_cookie($res);
    ok($c2 && $c2 ne $c, 'the session was found, under a fresh handle');
    is(whoami($c), 401, 'the old handle names it no more (no fixation)');
    is(whoami($c2), "sub=bob\n", 'the new one does');
    $c = $c2;

    # the hint of the second client is of the same session
    $res = request(GET => '/session/end?id_token_hint=' . $tb,
                   with_cookie("oidc_session=$c"));
    is($res->{status}, 200, 'a hint with the sid of appB ends it');
    unlike($res->{content}, qr/<form method="post"/, 'without confirmation');
    is(whoami($c), 401, 'the session has ended');

    $res = request(GET => '/auth/login');
    is($res->{status}, 200, 'a login page passes');
    like($res->{content}, qr/action="\/interaction\/1"/, 'unchanged');
    ok(!$res->{headers}{'set-cookie'}, 'and starts no session');

    $res = request(GET => '/auth/big.html');
    ok(!defined $res->{headers}{'content-length'}, 'of unknown size');
    ok($res->{content} eq big_page('<!-- PADDING -->'),
       'a page beyond the observed size passes whole, in order');
    ok(!$res->{headers}{'set-cookie'}, 'unobserved');
}

# ---- a chunked token request ----------------------------------------------

{
    my $res = request(GET => '/auth/code?code=C9');
    my $c = session_cookie($res);
    my $token = id_token(aud => 'appA', sub => 'carol', sid => 'PS-C');
    my @parts = ('grant_type=authorization_code', '&code=C9');
    $res = request(POST => "/token?id_token=$token",
                   headers => { 'Content-Type' =>
                                'application/x-www-form-urlencoded' },
                   body => sub { shift @parts });
    is($res->{status}, 200, 'a chunked token request passes');
    is(whoami($c), "sub=carol\n", 'and is observed');
}

# ---- the configuration ----------------------------------------------------

for my $case (
    [ 'location / { oidc_logout_authorization_endpoint; }',
      'nosession', qr/"oidc_logout_authorization_endpoint" needs "oidc_logout_session"/ ],
    [ 'oidc_logout_session zone=sso; location / { oidc_logout_token_endpoint; }',
      'noclients', qr/"oidc_logout_token_endpoint" needs "oidc_logout_clients" and "oidc_logout_issuer"/ ],
    [ 'oidc_logout_provider_cookies "a;b";', 'badname',
      qr/invalid parameter "a;b" in "oidc_logout_provider_cookies"/ ],
    [ 'oidc_logout_provider_cookies _s remember=forever;', 'badtime',
      qr/invalid parameter "remember=forever"/ ],
    [ 'oidc_logout_provider_cookies _s path=sso;', 'badpath',
      qr/invalid parameter "path=sso"/ ],
) {
    my ($directives, $name, $want) = @$case;
    my $file = "$root/$name.conf";
    open my $f, '>', $file or die;
    print $f "load_module " . module_path() . ";\nevents {}\nhttp {\n"
        . "oidc_logout_zone zone=sso:1m;\nserver {\nlisten 127.0.0.1:2017;\n"
        . "$directives\n}\n}\n";
    close $f;
    my $nginx = $ENV{TEST_NGINX_BINARY} || 'nginx';
    my $out = `$nginx -t -p $root/ -c $file -e $root/t.log 2>&1`;
    isnt($?, 0, "nginx -t refuses $name");
    like($out, qr/\[emerg\].*$want.* in \Q$file\E:\d+/, "and says why ($name)");
}

unlike(error_log(), qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');

done_testing();
