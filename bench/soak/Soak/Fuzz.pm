package Soak::Fuzz;

# Hostile requests at every endpoint and directive path of the soak's
# server, on raw sockets: hostile parameters (huge, repeated, bad
# percent-encoding, NULs, controls, markup), thousands of cookies, hostile
# Host and other headers, HTTP/1.0 without Host, chunked (also empty) and
# truncated bodies, pipelines, malformed id_token_hints, and the
# open-redirect payloads at every parameter that takes a return URL.
# Every response is checked like any other (Soak::Traffic).
#
# The operators' locations get their own kinds, whose answers are checked
# one by one: the admin API (any method, paths under /admin/, hostile
# queries, the ledger's sessions listed, near misses of them deleted:
# nothing may end), the metrics page (its text format, line by line) and
# the back-channel receiver (forged and broken logout tokens, wrong
# bodies: never a 2xx; valid ones that end the fuzzer's own sessions, and
# their replays: refused).

use strict;
use warnings;

use Exporter 'import';
use Soak::HTTP qw(header_value);
use Soak::Operators qw(api_json check_page keys_not_ready note_tag post_logout_token tag);
use Soak::Stats qw(count stats_name violation);
use Soak::Tokens qw(enc hint hostile_hint hostile_logout_token logout_token query);
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
# ---- the operators' locations: each answer checked ------------------------

# sends the bytes of a request tagged with tag (nothing: not checked in
# the log) and returns its one response
sub operator_raw {
    my ($kind, $tag, $bytes, %opt) = @_;
    my ($responses) = send_raw($site, $kind, $bytes, timeout => 10, %opt);
    my $res = $responses->[0] or return;
    note_tag($tag, $res, $kind) if $tag;
    return $res;
}

# (user, sid) of a live session of the ledger, from its files now and then
my (@known, $known_at);
sub ledger_session {
    if (!$known_at || time - $known_at > 5) {
        $known_at = time;
        my %last;
        for my $file (glob "$site->{dir}/ledger/client-*") {
            open my $f, '<', $file or next;
            my $size = -s $f;
            if ($size > 65536) {
                seek $f, $size - 65536, 0;
                <$f>;    # a part of a line
            }
            while (<$f>) {
                my (undef, $state, $user, $sid) = split ' ';
                $last{$sid} = [$user, $sid, $state] if $sid && $sid ne '-';
            }
        }
        @known = grep { $_->[2] =~ /^(?:live|seen)$/ } values %last;
    }
    return @known ? @{ pick(@known) } : ('soak-nobody', 'A' x 22);
}

# another subject or sid that is near the session's: it names no session
sub near_sub { my ($u) = @_; pick("${u}x", "$u%00", "$u%20", "%20$u", uc $u, "$u-z", "$u%0A", "$u%2F") }
sub near_sid {
    my ($sid) = @_;
    my $case = $sid ne uc $sid ? uc $sid : $sid ne lc $sid ? lc $sid : "B$sid";
    (my $first = $sid) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
    return pick($first, "${sid}A", substr($sid, 0, -1), "$sid%00", "%20$sid", $case, "$sid,$sid");
}

sub is_2xx { $_[0]{status} =~ /^2/ }

sub fuzz_admin {
    my ($user, $sid) = ledger_session();
    my $own = my_session();
    my $prefix = pick('/admin', '/admin', '/admin', '/short/admin', '/admin-closed');
    my $resource = pick('sessions', 'sessions', 'sessions', 'sessions', 'deliveries', 'deliveries',
                        '', 'nothing', 'SESSIONS', 'sessions/', '%73essions', 'sessions;x', '..',
                        'x/../sessions', 'sessions/deliveries', 'deliveries/sessions', 'a' x 3000);
    my $method = pick(qw(GET GET GET HEAD DELETE DELETE DELETE PUT POST PATCH OPTIONS), 'G' x 40);
    my ($query, $aim);
    my $r = rand;
    if ($r < 0.25) {    # a session of the ledger: listed, never ended
        $method = pick('GET', 'GET', 'HEAD') if $method eq 'DELETE';
        ($query, $aim) = (pick("sid=$sid", 'sub=' . enc($user)), 'listing');
    } elsif ($r < 0.5) {    # near misses of a session of the ledger: nothing ends
        ($query, $aim) = (pick('sid=' . near_sid($sid), 'sub=' . near_sub($user)), 'near');
    } elsif ($r < 0.6) {    # the fuzzer's own sessions
        ($query, $aim) = (pick('sid=' . ($own->{sid} // 'x'), "sub=$own->{user}"), 'own');
    } else {
        $query = pick(hostile_params(), 'sub=' . hostile_value(), 'sid=' . hostile_value(),
                      'sub=a&sub=b', "sid=$sid&sub=$user", '', 'sub=', 'sid=', 'sub=%', 'sid=%zz',
                      'sub=' . ('s' x (5000 + rand 70_000)), 'sid=' . ('A' x 22), '&&&',
                      'sub=%00', 'sid=' . ('A' x 10_000), "sub=$user&sub=$user");
        $aim = 'hostile';
    }
    my $tag = length $resource < 100 ? tag() : undef;
    my $target = "$prefix/$resource" . '?' . join '&', grep { defined && length } $tag, $query;
    my $res = operator_raw('fuzz admin', $tag, raw($method, $target, host => here()),
                           $method eq 'HEAD' ? (heads => [1]) : ()) or return;
    count('fuzz: operators requests');
    my $what = "fuzz admin ($method $prefix/$resource?" . substr($query // '', 0, 100) . ')';
    if ($res->{status} =~ /^5/) {
        violation('admin', "$what answered $res->{status}");
        return;
    }
    if ($prefix eq '/admin-closed' || $method !~ /^(?:GET|HEAD|DELETE)$/) {
        violation('admin', "$what answered $res->{status}") if is_2xx($res);
        count('admin: refused by nginx (deny, method)') unless is_2xx($res);
        return;
    }
    my $doc = api_json($what, $res);
    return unless is_2xx($res) && $doc;
    if ($aim eq 'listing' && ref $doc->{sessions} eq 'ARRAY') {
        my ($k, $v) = $query =~ /^(sid|sub)=(.*)$/;
        $v = $user if $k eq 'sub';
        for my $listed (@{ $doc->{sessions} }) {
            violation('admin', "$what lists a session with $k " . ($listed->{$k} // 'none'))
                if ($listed->{$k} // '') ne $v;
        }
        count('admin: ledger sessions listed') if @{ $doc->{sessions} };
    } elsif (defined $doc->{ended}) {
        if ($aim eq 'near' && $doc->{ended} != 0) {
            violation('admin', "$what, a near miss of the ledger session $sid of $user, "
                      . "ended $doc->{ended} session(s)");
        }
        count('admin: near misses that ended nothing') if $aim eq 'near';
        if ($prefix eq '/admin' && $doc->{ended} > 0) {
            count('admin: sessions ended (seen)', $doc->{ended});
            if ($aim eq 'own') {
                @mine = grep { $_ != $own } @mine;
                my ($app) = send_request($site, 'fuzz admin check', 'GET', '/app',
                                         cookie => "oidc_session=$own->{cookie}");
                violation('admin', "$what ended the fuzzer's session; /app answered $app->{status}")
                    if $app && $app->{status} != 401 && $query =~ /^sid=/;
            }
        }
    }
}

sub fuzz_metrics {
    my $zone = rand() < 0.6 ? 'soak' : 'short';
    my $path = $zone eq 'soak' ? '/metrics' : '/short/metrics';
    my $method = pick(qw(GET GET GET GET GET HEAD POST PUT DELETE OPTIONS), 'M' x 30);
    my $tag = tag();
    my $q = pick('', '', 'name[]=oidc_logout_sessions', 'x=' . ('y' x 5000), hostile_params());
    my $h = pick([], ['Accept: application/openmetrics-text; version=1.0.0'],
                 ['Accept-Encoding: gzip, deflate'], ['Accept: */*'], ['If-Modified-Since: x']);
    my $res = operator_raw('fuzz metrics', $tag,
                           raw($method, "$path?$tag" . (length $q ? "&$q" : ''), host => here(),
                               headers => $h, $method eq 'POST' ? (body => 'a=b') : ()),
                           $method eq 'HEAD' ? (heads => [1]) : ()) or return;
    count('fuzz: operators requests');
    my $what = "fuzz metrics ($method $path)";
    if ($res->{status} =~ /^5/ || ($method !~ /^(?:GET|HEAD)$/ && is_2xx($res))) {
        violation('metrics', "$what answered $res->{status}");
        return;
    }
    my $samples = check_page($what, $zone, $res, $method eq 'HEAD') or return;
    # the last page of each zone, for the parser at the end
    my $name = stats_name() =~ s/\W//gr;
    if (open my $f, '>', "$site->{dir}/metrics/$zone-$name.txt") {
        print $f $res->{body};
        close $f;
    }
}

# requests to the receiver that are wrong in themselves, and some that are
# right though unusual (a chunked body): (bytes, valid, options)
sub receiver_request {
    my ($tag) = @_;
    my $token = logout_token($site, sub => 'nobody-' . int(rand 1e6));
    my $form = 'logout_token=' . $token;
    my $target = "/bc-receiver?$tag";
    my $which = int rand 9;
    if ($which == 0) {    # another content type
        return (raw('POST', $target, host => here(), no_type => 1, body => $form,
                   headers => ['Content-Type: ' . pick('text/plain', 'application/json',
                       'multipart/form-data; boundary=x', 'application/x-www-form-urlencodedX',
                       'application/jwt', '', 'application/logout+jwt')]), 0);
    } elsif ($which == 1) {    # no content type
        return (raw('POST', $target, host => here(), no_type => 1, body => $form), 0);
    } elsif ($which == 2) {    # bodies without a token
        return (raw('POST', $target, host => here(),
                    body => pick('', 'logout_token=', 'logout_token', 'token=' . $token, '&&&',
                                 'logout_token=%', 'logout_token=%zz' . $token, "%00=$token",
                                 "$form&logout_token=$token", hostile_params())), 0);
    } elsif ($which == 3) {    # beyond client_body_buffer_size, beyond the max
        return (raw('POST', $target, host => here(),
                    body => "$form&pad=" . ('p' x pick(140_000, 1_100_000))), 0);
    } elsif ($which == 4) {    # other methods
        my $m = pick(qw(GET PUT DELETE PATCH OPTIONS));
        return (raw($m, "$target&$form", host => here(), $m eq 'GET' ? () : (body => $form)), 0);
    } elsif ($which == 5) {    # a valid token, chunked, with a charset
        my @chunks;
        while (length $form) { push @chunks, substr($form, 0, 1 + rand 200, '') }
        return (raw('POST', $target, host => here(), chunks => \@chunks,
                    headers => ['Content-Type: application/x-www-form-urlencoded; charset=UTF-8']), 1);
    } elsif ($which == 6) {    # truncated: the client says so
        return (raw('POST', $target, host => here(), body => $form, length => length($form) + 10),
                0, half_close => 1);
    } elsif ($which == 7) {    # HEAD
        return (raw('HEAD', $target, host => here()), 0, heads => [1]);
    }
    # a token in the query, not the body
    return (raw('POST', "$target&$form", host => here(), body => 'a=b'), 0);
}

sub fuzz_receiver {
    my $r = rand;
    count('fuzz: operators requests');
    if ($r < 0.55) {    # forged and broken tokens, in a well-formed POST
        my ($token, $what) = hostile_logout_token($site);
        my ($res) = post_logout_token($site, 'fuzz receiver forged', $token) or return;
        if (is_2xx($res)) {
            violation('upstream', "a forged logout token was accepted ($what): $res->{status}");
        } elsif ($res->{status} == 400) {
            count('upstream: forged tokens refused');
            count('upstream: refused by the module');
        } else {
            violation('upstream', "a forged logout token ($what) answered $res->{status}");
        }
        return;
    }
    if ($r < 0.75) {    # requests wrong in themselves
        my $tag = tag();
        my ($bytes, $valid, %opt) = receiver_request($tag);
        my $res = operator_raw('fuzz receiver request', $tag, $bytes, %opt) or return;
        my $first = substr($bytes, 0, 60) =~ s/\r\n.*//sr;
        my $doc = api_json("fuzz receiver request ($first)", $res);
        if ($valid) {
            return count('upstream: valid tokens before the keys were fetched')
                if keys_not_ready($res, $doc);
            violation('upstream', "a valid chunked logout token ($first) answered $res->{status}")
                unless $res->{status} == 200;
            count('upstream: valid tokens accepted') if $res->{status} == 200;
        } elsif (is_2xx($res) || $res->{status} =~ /^5/) {
            violation('upstream', "a broken request to the receiver ($first) answered $res->{status}");
        }
        return;
    }
    # valid tokens: for the fuzzer's own session, for nobody, for a sid
    # nobody holds; then, sometimes, the same token again
    my $own = my_session();
    my $how = pick('own', 'own', 'nobody', 'sid', 'large', 'deep');
    my $deep = [];
    $deep = [$deep] for 1 .. 400;
    my %claims = $how eq 'own' ? (sub => $own->{user})
               : $how eq 'nobody' ? (sub => 'nobody-' . int(rand 1e9))
               : $how eq 'large' ? (sub => 'nobody', pad => 'p' x (2_000 + rand 9_000))
               : $how eq 'deep' ? (sub => 'nobody', deep => $deep)
               : (sid => 'psid-nobody-' . int(rand 1e9), rand() < 0.5 ? (sub => $own->{user}) : ());
    my $token = logout_token($site, %claims);
    my ($res, $doc) = post_logout_token($site, "fuzz receiver valid", $token) or return;
    if (keys_not_ready($res, $doc)) {
        count('upstream: valid tokens before the keys were fetched');
        return;
    }
    if ($res->{status} != 200) {
        violation('upstream', "a valid logout token ($how) answered $res->{status} $res->{body}");
        return;
    }
    count('upstream: valid tokens accepted');
    if ($how eq 'own') {
        @mine = grep { $_ != $own } @mine;
        my ($app) = send_request($site, 'fuzz receiver check', 'GET', '/app',
                                 cookie => "oidc_session=$own->{cookie}");
        violation('upstream', "the fuzzer's session of $own->{user} lives on after a logout token "
                  . "naming its subject was accepted") if $app && $app->{status} == 200;
    }
    if (rand() < 0.4) {
        ($res, $doc) = post_logout_token($site, 'fuzz receiver replay', $token) or return;
        if ($res->{status} != 400 || ($doc->{error_description} // '') !~ /received before/) {
            violation('upstream', "a replayed logout token answered $res->{status} $res->{body}");
        } else {
            count('upstream: replays refused');
            count('upstream: refused by the module');
        }
    }
}

# kinds that send and check their own requests
my %checked = (admin => \&fuzz_admin, metrics => \&fuzz_metrics, receiver => \&fuzz_receiver);

my @kinds = sort keys %fuzz, keys %checked;

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
        if ($checked{$kind}) {
            count('fuzz: requests');
            $checked{$kind}->();
            next;
        }
        my ($bytes, %opt) = $fuzz{$kind}->();
        count('fuzz: requests');
        send_raw($site, "fuzz $kind", $bytes, timeout => 10, %opt);
    }
}

1;
