# Front-channel logout in a real browser (Debian's Chromium through
# playwright-core, both installed by build.sh): an SSO server and three
# client applications on their own ports, each application with a
# front-channel endpoint that records the call and clears its own cookie.
# The browser signs in, joins the applications, signs out, and must end on
# the post-logout URI with the exact state; with JavaScript disabled too;
# and, when no application of the session has a front-channel endpoint,
# through the plain redirect that answers the confirmation.
# Screenshots go to t/servroot-browser/screenshots.
#
# A plain Test::More script (the browser carries the cookies); it reads
# TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES like the suites.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use FindBin;
use lib "$FindBin::Bin/support";
use FlowNginx;
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use URI::Escape qw(uri_unescape);

module_path();    # stops the run at once when the module is not named
my $here    = abs_path(dirname(__FILE__));
my $interop = "$here/interop";
my $root    = "$here/servroot-browser";
my $shots   = "$root/screenshots";
my $chromium = $ENV{CHROMIUM} // '/usr/bin/chromium';

-x $chromium
    or BAIL_OUT("$chromium is missing: run ./build.sh test, which installs it");
-d "$interop/node_modules/playwright-core"
    or BAIL_OUT('playwright-core is missing: run ./build.sh test, which installs it');

my $sso = 1995;
my %app = (app1 => 1996, app2 => 1997, app3 => 1998);
my $silent_port = 1999;
my $issuer = "http://127.0.0.1:$sso";

# app4's front-channel endpoint accepts connections and never answers
my $silent = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$silent_port",
                                   Listen => 16, ReuseAddr => 1)
    or BAIL_OUT("cannot listen on $silent_port: $!");

my @clients = map {
    my $base = "http://127.0.0.1:$app{$_}";
    { client_id => $_, redirect_uris => ["$base/cb"],
      post_logout_redirect_uris => ["$base/bye"],
      frontchannel_logout_uri => "$base/fc" . ($_ eq 'app1' ? '?v=1' : ''),
      frontchannel_logout_session_required =>
          $_ eq 'app2' ? JSON::PP::false : JSON::PP::true }
} sort keys %app;
push @clients, { client_id => 'app4',
    redirect_uris => ["http://127.0.0.1:$silent_port/cb"],
    frontchannel_logout_uri => "http://127.0.0.1:$silent_port/fc",
    frontchannel_logout_session_required => JSON::PP::true };

start_nginx($root, $sso, sub {
    my ($dir) = @_;
    open my $f, '>', "$dir/clients.json" or die;
    print $f encode_json(\@clients);
    close $f;
    my $apps = '';
    for my $id (sort keys %app) {
        # app3 answers slowly: 3,000 bytes at 1,000 a second, so that its
        # iframe loads about two seconds after the others
        my $slow = $id eq 'app3'
            ? "limit_rate 1000;\n            limit_rate_after 0;\n            "
            : '';
        my $text = $id eq 'app3' ? 'x' x 3000 : "$id: signed out";
        $apps .= <<"_EOC_";
    server {
        listen 127.0.0.1:$app{$id};
        location = /cb {
            add_header Set-Cookie "${id}_session=signed-in; Path=/; SameSite=Lax";
            return 200 "$id: signed in\\n";
        }
        location = /fc {
            access_log $dir/fc-$id.log frontchannel;
            add_header Set-Cookie "${id}_session=; Max-Age=0; Path=/";
            ${slow}return 200 "$text\\n";
        }
        location = /bye { return 200 "$id: goodbye\\n"; }
    }
_EOC_
    }
    return main_context($dir, 1) . <<"_EOC_";
http {
    access_log off;
    log_format frontchannel '\$request_uri cookie=[\$http_cookie]';
    oidc_logout_issuer $issuer;
    oidc_logout_clients $dir/clients.json;
    oidc_logout_zone zone=sso:1m;
    map \$arg_client_id \$client_home {
        app1 http://127.0.0.1:$app{app1}/cb;
        app2 http://127.0.0.1:$app{app2}/cb;
        app3 http://127.0.0.1:$app{app3}/cb;
        default http://127.0.0.1:$sso/joined;
    }
    server {
        listen 127.0.0.1:$sso;
        oidc_logout_session zone=sso secure=off;
        location = /login {
            oidc_logout_login \$arg_user;
            proxy_pass http://127.0.0.1:$sso/backend/signed-in;
        }
        location = /authorize {
            oidc_logout_require_session on;
            oidc_logout_join \$arg_client_id;
            proxy_pass http://127.0.0.1:$sso/backend/authorize?client_id=\$arg_client_id;
        }
        location = /backend/signed-in { return 200 "signed in\\n"; }
        location = /backend/authorize { return 302 \$client_home; }
        location = /joined { return 200 "joined\\n"; }
        location = /whoami { return 200 "\$oidc_logout_sid\\n"; }
        location = /logout {
            oidc_logout oidc;
            oidc_logout_frontchannel_timeout 10s;
        }
        location = /logout-fast {
            oidc_logout oidc;
            oidc_logout_frontchannel_timeout 2s;
        }
    }
$apps}
_EOC_
});
make_path($shots);

# front-channel calls recorded so far, by application
my %calls_seen;
sub new_calls {
    my ($id) = @_;
    open my $f, '<', "$root/fc-$id.log" or return ();
    my @lines = <$f>;
    chomp @lines;
    my @new = @lines[($calls_seen{$id} // 0) .. $#lines];
    $calls_seen{$id} = @lines;
    return @new;
}

sub browse {
    my (%cfg) = @_;
    my $out = `node $interop/frontchannel_browser.mjs $cfg{name} '@{[
        encode_json({ sso => "http://127.0.0.1:$sso", out => $shots, %cfg }) ]}'`;
    my $seen = eval { decode_json($out) } // { error => "no JSON: $out" };
    ok(!$seen->{error}, "$cfg{name}: the browser went through")
        or diag($seen->{error});
    return $seen;
}

my $state = q{s p&a=c/e"<x>'%25é};
my $query = 'client_id=app1&post_logout_redirect_uri='
    . "http%3A%2F%2F127.0.0.1%3A$app{app1}%2Fbye&state="
    . join('', map { sprintf '%%%02X', $_ } unpack 'C*', $state);
my $landing_re = qr{^http://127\.0\.0\.1:$app{app1}/bye\?state=([^&#]*)$};

sub check_landing {
    my ($name, $seen) = @_;
    my ($got) = ($seen->{landing} // '') =~ $landing_re;
    ok(defined $got, "$name: ends on app1's post-logout URI")
        or diag("landed on " . ($seen->{landing} // 'nothing'));
    is(uri_unescape($got // ''), $state, "$name: with the exact state");
    is($seen->{landing_text}, 'app1: goodbye', "$name: the landing page shows");
}

sub check_calls {
    my ($name, $seen, @ids) = @_;
    for my $id (@ids) {
        my @calls = new_calls($id);
        is(scalar @calls, 1, "$name: ${id}'s front-channel endpoint called once");
        my $expect = $id eq 'app2' ? '/fc'
            : ($id eq 'app1' ? '/fc?v=1&' : '/fc?')
              . "iss=http%3A%2F%2F127.0.0.1%3A$sso&sid=$seen->{sid}";
        like($calls[0] // '', qr/^\Q$expect\E cookie=\[.*\b${id}_session=signed-in\b/,
             "$name: $id called " . ($id eq 'app2' ? 'without iss and sid'
                                                   : 'with iss and sid')
             . ', with its own cookie');
    }
    my %after = map { $_ => 1 } @{ $seen->{cookies_after} // [] };
    ok(!$after{"${_}_session"}, "$name: ${_}'s own cookie is gone") for @ids;
    ok(!$after{oidc_session}, "$name: the SSO cookie is gone");
}

# ---- JavaScript on: every application answers ----------------------------

my $seen = browse(name => 'scripted', clients => [qw(app1 app2 app3)],
                  logout => '/logout', query => $query);
like($seen->{sid}, qr/^[A-Za-z0-9_-]{22}$/, 'scripted: a session id');
is_deeply($seen->{cookies_before},
          [qw(app1_session app2_session app3_session oidc_session)],
          'scripted: each application set its own cookie');
is($seen->{page_status}, 200, 'scripted: the front-channel page');
like($seen->{page_csp} // '',
     qr{frame-src http://127\.0\.0\.1:1996 http://127\.0\.0\.1:1997 http://127\.0\.0\.1:1998;},
     'scripted: its CSP frames exactly the three applications');
check_calls('scripted', $seen, qw(app1 app2 app3));
check_landing('scripted', $seen);
note("scripted: the page redirected after $seen->{waited_ms} ms");
cmp_ok($seen->{waited_ms} // 0, '>=', 1000,
       'scripted: the redirect waits for the slow iframe (app3)');
cmp_ok($seen->{waited_ms} // 1e9, '<', 8000,
       'scripted: the redirect follows the loads, not the 10 s timeout');
is(scalar @{ $seen->{frame_requests} }, 3, 'scripted: each iframe loaded once');

# ---- an application that never answers -----------------------------------

$seen = browse(name => 'silent', clients => [qw(app1 app4)],
               logout => '/logout-fast', query => $query,
               screenshot_page => JSON::PP::true);
check_calls('silent', $seen, 'app1');
check_landing('silent', $seen);
note("silent: the page redirected after $seen->{waited_ms} ms (timeout 2 s)");
# the driver notes the answer when its own event loop gets to it, which on
# a loaded machine is later than the page's timer starts: a margin, far
# above the few milliseconds of a redirect that does not wait
cmp_ok($seen->{waited_ms} // 0, '>=', 1500,
       'silent: the silent application delays the redirect by the timeout');
cmp_ok($seen->{waited_ms} // 1e9, '<', 4000, 'silent: and no more');
is($seen->{page_heading}, 'Signing out', 'silent: the page shows while it waits');
ok(-s "$shots/silent-page.png", 'silent: a screenshot of the page');
ok(-s "$shots/silent-landing.png", 'silent: a screenshot of the landing page');

# ---- no front-channel client: the confirmation's own redirect -----------

# the confirmed POST is answered by a 302 to app1 (another origin): the
# confirmation page's form-action must let the browser follow it
$seen = browse(name => 'redirect', clients => [],
               logout => '/logout', query => $query);
is_deeply($seen->{cookies_before}, ['oidc_session'],
          'redirect: signed in at the SSO server only');
like($seen->{confirm_csp} // '',
     qr{(?:^|; )form-action 'self' http://127\.0\.0\.1:$app{app1}(?:;|$)},
     "redirect: the confirmation's form may lead to app1's origin, and only there");
is($seen->{page_status}, 302, 'redirect: the confirmation is answered by a redirect');
check_landing('redirect', $seen);
is_deeply([map { new_calls($_) } sort keys %app], [],
          'redirect: no front-channel call');
ok(!{ map { $_ => 1 } @{ $seen->{cookies_after} // [] } }->{oidc_session},
   'redirect: the SSO cookie is gone');

# ---- JavaScript off: the noscript path -----------------------------------

$seen = browse(name => 'noscript', clients => [qw(app1 app2 app3)],
               logout => '/logout', query => $query,
               javascript => JSON::PP::false);
check_calls('noscript', $seen, qw(app1 app2 app3));
check_landing('noscript', $seen);
note("noscript: the page redirected after $seen->{waited_ms} ms");
cmp_ok($seen->{waited_ms} // 0, '>=', 1000,
       'noscript: the refresh waits for the slow iframe (app3) to load');
ok(-s "$shots/noscript-landing.png", 'noscript: a screenshot of the landing page');

unlike(error_log(), qr/\[(alert|crit|emerg)\]/, 'no alert in the error log');

stop_nginx();
close $silent;
done_testing();
