package Soak::Fuzz;

# Hostile requests at every endpoint and directive path of the soak's
# server, on raw sockets: hostile parameters (huge, repeated, bad
# percent-encoding, NULs, controls, markup), thousands of cookies, hostile
# Host and other headers, HTTP/1.0 without Host, chunked (also empty) and
# truncated bodies, pipelines, malformed id_token_hints, and the
# open-redirect payloads at every parameter that takes a return URL.
# Every response is checked like any other (Soak::Traffic).

use strict;
use warnings;

use Exporter 'import';
use Soak::HTTP qw(header_value);
use Soak::Stats qw(count);
use Soak::Tokens qw(enc hint hostile_hint query);
use Soak::Traffic qw(send_raw send_request session_cookie);
use Time::HiRes qw(time);

our @EXPORT_OK = qw(run_fuzzer);

my $site;

sub pick { $_[int rand @_] }

sub all_paths {
    return (@{ $site->{oidc_endpoints} }, @{ $site->{auth0_endpoints} },
            @{ $site->{other_paths} });
}
sub logout_path { pick(@{ $site->{oidc_endpoints} }, @{ $site->{auth0_endpoints} }) }

my @names = qw(id_token_hint logout_hint client_id post_logout_redirect_uri
               state ui_locales returnTo federated confirm user);

# A hostile value, ready for a query or a form: mostly encoded, sometimes
# raw bytes that a careful client would have encoded.
sub hostile_value {
    my @encoded = (
        sub { 'A' x (1 + rand 70_000) },
        sub { "\"><soakx>" },
        sub { "'><soakx onload=1>" },
        sub { "\r\nX-Soakx-Injected: 1" },
        sub { "\r\nSet-Cookie: soakx=1" },
        sub { join '', map { chr } 0 .. 31, 127 },
        sub { "a\0b" },
        sub { "\xff\xfe\xc0\xaf\xe2\x80\xae" },
        sub { 'javascript:alert(1)' },
        sub { '//evil.example/' },
        sub { 'https://evil.example/' },
        sub { "https://www.whitelisteddomain.tld\@evil.example/" },
        sub { pick(@{ $site->{client_ids} }) },
        sub { pick(@{ $site->{client_ids} }) . "\0" },
        sub { 'app1 ' },
        sub { '' },
        sub { hostile_hint($site) },
        sub { join '', map { chr(rand 256) } 1 .. rand 200 },
    );
    my @raw = ('%', '%G1', '%0', 'abc%', '%%41', '%00', '%0d%0aX-Soakx-Injected:%201',
               '%E9', '+++', '&&', '==', '%2', ';', '%u0041', "\x01\x7f", "\xe9",
               '%3Csoakx%3E', '%252e%252e', '%2e%2e%2f');
    return rand() < 0.7 ? enc($encoded[int rand @encoded]->()) : pick(@raw);
}

sub hostile_params {
    my $n = 1 + int rand 6;
    my @kv;
    for (1 .. $n) {
        my $name = rand() < 0.9 ? pick(@names)
                 : pick('', 'a' x 2000, '%00', 'client_id%00', 'state[]', 'STATE', '%73tate');
        push @kv, "$name=" . hostile_value();
        push @kv, "$name=" . hostile_value() if rand() < 0.1;    # repeated
    }
    push @kv, map { "p$_=v" } 1 .. 5000 if rand() < 0.03;
    return join(pick('&', '&', '&', '&&', ';'), @kv);
}

# raw(method, target, %o): the bytes of one request. Options: http
# (1.1), host (undef: none at all; default this server), headers (array
# of lines), body, chunks (array: the body sent chunked), close (add
# Connection: close, default on).
sub raw {
    my ($method, $target, %o) = @_;
    my $http = $o{http} // '1.1';
    my $req = "$method $target HTTP/$http\r\n";
    $req .= "Host: $o{host}\r\n" if defined $o{host};
    $req .= "Connection: close\r\n" if $o{close} // 1;
    $req .= "$_\r\n" for @{ $o{headers} || [] };
    if ($o{chunks}) {
        $req .= "Transfer-Encoding: chunked\r\n\r\n";
        $req .= sprintf("%x\r\n%s\r\n", length $_, $_) for grep { length } @{ $o{chunks} };
        $req .= "0\r\n\r\n" unless $o{unterminated};
        return $req;
    }
    if (defined $o{body}) {
        $req .= "Content-Type: application/x-www-form-urlencoded\r\n" unless $o{no_type};
        $req .= 'Content-Length: ' . ($o{length} // length $o{body}) . "\r\n";
    }
    return $req . "\r\n" . ($o{body} // '');
}

sub here { "127.0.0.1:$site->{port}" }

# ---- sessions the fuzzer owns (not in the ledger) ---------------------------

my @mine;

sub my_session {
    if (@mine < 3 || rand() < 0.05) {
        my $user = 'fuzz-' . int(rand 1e9);
        my ($res) = send_request($site, 'fuzz session login', 'GET', "/login?user=$user");
        my $cookie = session_cookie($res);
        if ($cookie) {
            for my $id (grep { rand() < 0.4 } @{ $site->{client_ids} }) {
                send_request($site, 'fuzz session join', 'GET', "/authorize?client_id=$id",
                             cookie => "oidc_session=$cookie");
            }
            my ($app) = send_request($site, 'fuzz session require', 'GET', '/app',
                                     cookie => "oidc_session=$cookie");
            push @mine, { cookie => $cookie, user => $user,
                          sid => $app ? header_value($app, 'x-sid') : undef };
            shift @mine if @mine > 8;
        }
    }
    return @mine ? pick(@mine) : { cookie => 'A' x 22, user => 'nobody' };
}

# ---- the hostile requests, by kind -------------------------------------------

my %fuzz = (
    params => sub {
        my $q = hostile_params();
        return rand() < 0.6
            ? raw('GET', logout_path() . "?$q", host => here())
            : raw('POST', logout_path(), host => here(), body => $q);
    },
    # the upstream provider's answers to observe: authorization redirects
    # and form_post pages, token answers; hostile codes and ID tokens, a
    # session cookie or none, the provider's cookies (revoked or not)
    provider => sub {
        my $token = rand() < 0.5 ? fresh_hint() : hostile_hint($site);
        my $code = pick('c' . int(rand 1e6), hostile_value());
        my @h;
        push @h, 'Cookie: oidc_session=' . my_session()->{cookie}
            . (rand() < 0.5 ? '; _session=' . pick('s' . int(rand 20), hostile_value()) : '')
            if rand() < 0.7;
        my $q = pick("code=" . enc($code) . '&state=s',
                     'id_token=' . enc($token) . '&state=s',
                     'code=' . enc($code) . '&id_token=' . enc($token),
                     'error=access_denied', hostile_params())
            . pick('', '&client_id=app1', '&client_id=' . enc(hostile_value()))
            . (rand() < 0.1 ? '&pad=' . ('x' x (60_000 + rand 20_000)) : '');
        if (rand() < 0.1) {
            # a logout that revokes the provider cookie the browser sends
            return raw('GET', pick('/v2/logout', '/alt/logout'), host => here(),
                       headers => ['Cookie: oidc_session=' . my_session()->{cookie}
                                   . '; _session=s' . int(rand 20)]);
        }
        if (rand() < 0.3) {
            my $body = pick('grant_type=authorization_code&code=' . enc($code),
                            'grant_type=refresh_token', hostile_params());
            return raw('POST', '/oauth/token?id_token=' . enc($token)
                           . pick('', '&extra=,"x":' . enc(hostile_value())),
                       host => here(), headers => \@h, body => $body);
        }
        return raw('GET', pick('/oauth/auth', '/oauth/auth-form',
                               '/oauth/auth/resume') . "?$q",
                   host => here(), headers => \@h);
    },
    hint => sub {
        my $q = 'id_token_hint=' . enc(hostile_hint($site));
        $q .= '&' . pick('post_logout_redirect_uri=' . enc("$site->{issuer}/app1/logged-out"),
                         'client_id=app1', 'logout_hint=x', 'state=s');
        my $ep = pick(@{ $site->{oidc_endpoints} });
        my $cookie = rand() < 0.5 ? ['Cookie: oidc_session=' . my_session()->{cookie}] : [];
        return length $q < 60_000 && rand() < 0.6
            ? raw('GET', "$ep?$q", host => here(), headers => $cookie)
            : raw('POST', $ep, host => here(), headers => $cookie, body => $q);
    },
    cookies => sub {
        my @h;
        my $which = int rand 6;
        if ($which == 0) {
            push @h, 'Cookie: ' . join('; ', map { "c$_=v$_" } 1 .. 1000 + rand 4000);
        } elsif ($which == 1) {
            push @h, map { "Cookie: c$_=v" } 1 .. 200 + rand 800;
            push @h, 'Cookie: oidc_session=' . my_session()->{cookie};
        } elsif ($which == 2) {
            my $c = my_session()->{cookie};
            push @h, "Cookie: oidc_session=garbage; oidc_session=$c; oidc_session=$c";
        } elsif ($which == 3) {
            push @h, 'Cookie: oidc_session=' . pick('', 'A' x 21, 'A' x 23, 'A' x 10_000, '!!!!',
                                                   '%00%00', "\x01\x02", '"' . ('A' x 22) . '"',
                                                   join('', map { pick('A' .. 'Z', '-', '_') } 1 .. 22));
        } elsif ($which == 4) {
            push @h, 'Cookie: ' . pick(' oidc_session=x', 'OIDC_SESSION=x', 'oidc_session', ';;;;',
                                       'oidc_session==', '=' x 5000, 'alt_session=' . ('B' x 22));
        } else {
            push @h, 'Cookie: ' . join('; ', map { "oidc_session=" . ('A' x 22) } 1 .. 2000);
        }
        return raw(pick('GET', 'POST'), pick(all_paths()) . '?client_id=app1', host => here(),
                   headers => \@h, rand() < 0.3 ? (body => 'client_id=app1') : ());
    },
    headers => sub {
        my $path = logout_path() . '?' . pick('client_id=app1&', '')
            . 'returnTo=' . enc('https://www.whitelisteddomain.tld/') . pick('&federated', '');
        my $which = int rand 8;
        if ($which == 0) {    # hostile Host: the 303 and the federated return
            my $host = pick('evil.example:1@x', 'evil.example', '127.0.0.1@evil.example',
                            "www.whitelisteddomain.tld", 'x' x 5000, '[::1]:1', 'a..b',
                            '127.0.0.1:99999', 'evil.example:80', '-');
            return rand() < 0.5
                ? raw('POST', pick(@{ $site->{oidc_endpoints} }), host => $host,
                      body => 'client_id=app1&post_logout_redirect_uri='
                              . enc("$site->{issuer}/app1/logged-out"))
                : raw('GET', $path, host => $host);
        } elsif ($which == 1) {    # HTTP/1.0 without Host
            return rand() < 0.5
                ? raw('POST', pick(@{ $site->{oidc_endpoints} }), http => '1.0',
                      body => 'client_id=app1')
                : raw('GET', $path, http => '1.0');
        } elsif ($which == 2) {    # HTTP/1.1 without Host, or twice
            return raw('GET', $path, rand() < 0.5 ? () : (host => here(), headers => ['Host: evil.example']));
        } elsif ($which == 3) {    # a huge header
            return raw('GET', $path, host => here(),
                       headers => ['X-Big: ' . ('b' x (50_000 + rand 150_000))]);
        } elsif ($which == 4) {    # many headers
            return raw('GET', $path, host => here(), headers => [map { "X-H$_: v" } 1 .. 3000]);
        } elsif ($which == 5) {    # what the module must not trust
            return raw('POST', pick(@{ $site->{oidc_endpoints} }), host => here(),
                       headers => ['X-Forwarded-Host: evil.example', 'Forwarded: host=evil.example',
                                   'X-Forwarded-Proto: javascript', 'Origin: https://evil.example',
                                   'Referer: https://evil.example/'],
                       body => 'client_id=app1');
        } elsif ($which == 6) {    # content types
            return raw('POST', logout_path(), host => here(), no_type => 1,
                       headers => ['Content-Type: ' . pick(
                           'application/x-www-form-urlencoded; charset=utf-8',
                           'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencodedX',
                           'application/x-www-form-urlencoded ;', 'multipart/form-data; boundary=x',
                           'text/plain', 'application/json', '', "application/x-www-form-urlencoded\x01")],
                       body => 'client_id=app1&state=x');
        }
        return raw('POST', logout_path(), host => here(),    # framing
                   headers => [pick('Content-Length: 5', 'Content-Length: -1',
                                    'Content-Length: 99999999999999999999999',
                                    'Transfer-Encoding: gzip, chunked',
                                    'Transfer-Encoding: identity',
                                    'Expect: 100-continue')],
                   body => 'client_id=app1');
    },
    bodies => sub {
        my $ep = pick(logout_path(), logout_path(), pick(all_paths()));
        my $form = rand() < 0.5 ? hostile_params() : 'client_id=app1&state=s';
        my $which = int rand 7;
        my @h = rand() < 0.7 ? ('Content-Type: application/x-www-form-urlencoded') : ();
        push @h, 'Cookie: oidc_session=' . my_session()->{cookie} if rand() < 0.4;
        if ($which == 0) {    # chunked, in pieces
            my @chunks;
            while (length $form) { push @chunks, substr($form, 0, 1 + rand 50, '') }
            return raw('POST', $ep, host => here(), headers => \@h, chunks => \@chunks);
        } elsif ($which == 1) {    # an empty chunked body
            return raw('POST', $ep, host => here(), headers => \@h, chunks => []);
        } elsif ($which == 2) {    # chunk extensions, trailers, a bad size
            my $req = raw('POST', $ep, host => here(), headers => [@h, 'Transfer-Encoding: chunked'],
                          body => '', no_type => 1);
            $req =~ s/Content-Length: 0\r\n//;
            return $req . pick("5;ext=1\r\nstate\r\n0\r\n\r\n", "0\r\nX-Trailer: 1\r\n\r\n",
                               "zz\r\nabc\r\n0\r\n\r\n", "ffffffffffffffffff\r\nabc\r\n",
                               "3\r\nabcdef\r\n0\r\n\r\n");
        } elsif ($which == 3) {    # truncated, and the client says so
            return (raw('POST', $ep, host => here(), headers => \@h, no_type => 1, body => $form,
                        length => length($form) + 1 + int rand 1000), half_close => 1);
        } elsif ($which == 4) {    # truncated chunked, then the client goes away
            return (raw('POST', $ep, host => here(), headers => \@h, chunks => [$form],
                        unterminated => 1), rand() < 0.5 ? (half_close => 1) : (no_read => 1));
        } elsif ($which == 5) {    # beyond client_body_buffer_size, and beyond the max
            return raw('POST', $ep, host => here(), headers => \@h, no_type => 1,
                       body => 'state=' . ('s' x pick(140_000, 1_100_000)));
        }
        # a body that never comes: nginx's client_body_timeout ends it
        return (raw('POST', $ep, host => here(), headers => \@h, no_type => 1, body => 'c',
                    length => 100), rand() < 0.1 ? (timeout => 10) : (no_read => 1));
    },
    session_paths => sub {
        my $v = hostile_value();
        my $s = my_session();
        my $cookie = ["Cookie: oidc_session=$s->{cookie}"];
        return pick(
            raw('GET', "/login?user=$v", host => here(), headers => rand() < 0.5 ? $cookie : []),
            raw('GET', '/login?user=' . ('u' x pick(255, 256, 5000)), host => here()),
            raw('GET', "/login-upstream?user=$v", host => here()),
            raw('GET', "/alt/login?user=$v", host => here()),
            raw('GET', "/authorize?client_id=$v", host => here(), headers => $cookie),
            raw('GET', '/authorize?client_id=' . pick(@{ $site->{client_ids} }), host => here(),
                headers => rand() < 0.5 ? $cookie : ['Cookie: oidc_session=' . ('A' x 22)]),
            raw(pick('GET', 'HEAD', 'POST'), pick('/app', '/protected', '/alt/app'), host => here(),
                headers => $cookie),
            raw('GET', pick('/jwks', '/.well-known/openid-configuration') . "?$v", host => here(),
                headers => ['If-Modified-Since: ' . pick('x', 'Thu, 01 Jan 1970 00:00:00 GMT'),
                            'Range: bytes=0-1,5-', 'Accept-Encoding: gzip']),
        );
    },
    methods => sub {
        my $m = pick(qw(PUT DELETE OPTIONS TRACE PATCH CONNECT PROPFIND HEAD),
                     'G' x 200, 'GET GET', "G\x00T");
        return (raw($m, pick(all_paths()) . '?client_id=app1', host => here(),
                    rand() < 0.3 ? (body => 'client_id=app1') : ()),
                $m eq 'HEAD' ? (heads => [1]) : ());
    },
    paths => sub {
        my $p = pick('/logout?', '/logout#x', '//logout', '/logout/../logout', '/%6cogout',
                     '/logout;x', '/logout%00', '/logout%2f', '/LOGOUT', '/v2/logout/',
                     '/v2/../v2/logout', '/' . ('a' x 100_000), '/logout?' . ('a' x 100_000),
                     '/%2e%2e/logout', "/logout\x01", '*', 'http://evil.example/logout',
                     'http://127.0.0.1/v2/logout?returnTo=x');
        return raw(pick('GET', 'POST'), $p, host => here(), body => 'client_id=app1');
    },
    pipeline => sub {
        my $n = 2 + int rand 5;
        my @heads;
        my $bytes = '';
        for my $i (1 .. $n) {
            my $m = pick('GET', 'POST', 'HEAD');
            my $target = pick(all_paths());
            $target .= '?client_id=app1' if $m ne 'POST';
            my %body = $m eq 'POST' ? (rand() < 0.5 ? (chunks => ['client_id=', 'app1']) : (body => 'state=p')) : ();
            $bytes .= raw($m, $target, host => here(), close => $i == $n, %body);
            push @heads, $m eq 'HEAD';
        }
        return ($bytes, heads => \@heads, expect => $n);
    },
    # (the client then closes its side: a request that never ends would
    # wait for client_header_timeout)
    garbage => sub {
        return (pick("GET /\r\n", "\r\n\r\n", "GET /logout HTTP/1.1\r\n\r\n",
                    join('', map { chr rand 256 } 1 .. rand 2000),
                    "GET /logout HTTP/9.9\r\nHost: x\r\n\r\n",
                    "POST /logout HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na=b"
                    . "GET /jwks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                half_close => 1);
    },
);
my @kinds = sort keys %fuzz;

# ---- the open-redirect payloads ----------------------------------------------

my $hint_cache = ['', 0];
sub fresh_hint {
    $hint_cache = [hint($site), time] if time - $hint_cache->[1] > 60;
    return $hint_cache->[0];
}

# Each payload at each parameter that takes a return URL, by turns.
my @payload_modes = (
    sub { raw('GET', "/v2/logout?returnTo=$_[0]", host => here()) },
    sub { raw('GET', "/v2/logout?client_id=app1&returnTo=$_[0]", host => here()) },
    sub { raw('GET', "/alt/logout?returnTo=$_[0]&federated", host => here()) },
    sub { raw('GET', "/logout?client_id=app1&post_logout_redirect_uri=$_[0]&state=x", host => here()) },
    sub { raw('GET', '/logout-wait?id_token_hint=' . fresh_hint() . "&post_logout_redirect_uri=$_[0]",
              host => here()) },
    sub { raw('POST', '/logout-paged', host => here(),
              body => "client_id=app1&post_logout_redirect_uri=$_[0]") },
    sub { raw('POST', '/v2/logout', host => here(), body => "client_id=app1&returnTo=$_[0]") },
    sub {    # a live session with front-channel clients: the page's target
        my $s = my_session();
        my $h = hint($site, sub => $s->{user}, sid => $s->{sid} // 'x');
        @mine = grep { $_ != $s } @mine;    # this logout ends it
        return raw('GET', "/logout?id_token_hint=$h&post_logout_redirect_uri=$_[0]&state=p",
                   host => here(), headers => ["Cookie: oidc_session=$s->{cookie}"]);
    },
);

sub fire_payload {
    my ($i, $pass) = @_;
    my $p = $site->{payloads}[$i];
    my $v = rand() < 0.8 ? enc($p) : $p =~ s/([\s&#%])/sprintf '%%%02X', ord $1/ger;
    my $mode = ($i + $pass) % @payload_modes;
    count('fuzz: open-redirect payloads fired');
    send_raw($site, 'fuzz open-redirect payload', $payload_modes[$mode]->($v));
}

# run_fuzzer(site, k, of, deadline): fuzzer k of "of" until the deadline;
# it fires its share of the payloads (every of-th) by turns with the rest.
sub run_fuzzer {
    my ($k, $of, $deadline);
    ($site, $k, $of, $deadline) = @_;
    my @share = grep { $_ % $of == $k } 0 .. $#{ $site->{payloads} };
    my ($next, $pass) = (0, 0);
    while (time < $deadline) {
        if (@share && rand() < 0.35) {
            fire_payload($share[$next], $pass);
            count('fuzz: distinct payloads fired') if $pass == 0;
            if (++$next == @share) {
                ($next, $pass) = (0, $pass + 1);
            }
            next;
        }
        my $kind = pick(@kinds);
        my ($bytes, %opt) = $fuzz{$kind}->();
        count('fuzz: requests');
        send_raw($site, "fuzz $kind", $bytes, timeout => 10, %opt);
    }
}

1;
