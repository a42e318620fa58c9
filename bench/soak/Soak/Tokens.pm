package Soak::Tokens;

# id_token_hints: valid ones minted with the site's keys, and malformed
# ones (garbage, alg none, HMAC, bad base64, huge, deep JSON, a key the
# JWKS does not have, hostile claims); the upstream provider's ID tokens
# and back-channel logout tokens, valid ones and hostile ones.

use strict;
use warnings;

use Crypt::JWT qw(encode_jwt);
use Exporter 'import';
use JSON::PP;
use MIME::Base64 qw(encode_base64url);

our @EXPORT_OK = qw(hint hostile_hint enc query provider_id_token logout_token
                    hostile_logout_token);

my $json = JSON::PP->new->canonical;

# Percent-encodes everything but the unreserved characters.
sub enc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# query(name => value, ...): an encoded query string.
sub query {
    my @kv = @_;
    return join '&', map { "$kv[2 * $_]=" . enc($kv[2 * $_ + 1]) } 0 .. $#kv / 2;
}

# hint(site, claims...): a valid hint (over the defaults), signed by one of
# the site's keys; key => 'rsa' | 'ec' | 'signing' | 'stranger', alg.
sub hint {
    my ($site, %o) = @_;
    my $k = delete $o{key} // (rand() < 0.7 ? 'rsa' : 'ec');
    my $alg = delete $o{alg}
        // ($k eq 'ec' ? 'ES256' : (qw(RS256 PS256 RS384))[int rand 3]);
    my $kid = delete $o{kid} // "soak-$k";
    my %claims = (iss => $site->{issuer}, aud => 'app1', sub => 'soak',
                  iat => time - 30, exp => time + 600, %o);
    delete $claims{$_} for grep { !defined $claims{$_} } keys %claims;
    return encode_jwt(payload => \%claims, alg => $alg, key => $site->{key}{$k},
                      extra_headers => { kid => $kid });
}

sub b64 { encode_base64url($_[0]) }

sub deep { my ($n) = @_; ('[' x $n) . (']' x $n) }

# hostile_hint(site): one malformed or hostile hint, at random.
sub hostile_hint {
    my ($site) = @_;
    my $claims = $json->encode({ iss => $site->{issuer}, aud => 'app1', sub => 'x',
                                 iat => time });
    my @makers = (
        sub { join '', map { chr(33 + rand 94) } 1 .. 1 + rand 300 },
        sub { 'a.b.c' },
        sub { '...' },
        sub { '.' x (1 + rand 50) },
        sub { join '.', b64('{"alg":"none"}'), b64($claims), '' },
        sub { join '.', b64('{"alg":"none","kid":"soak-rsa"}'), b64($claims), 'AAAA' },
        sub { join '.', b64('{"alg":"RS256","kid":"soak-rsa"}'), '!!!@@@', '###' },
        sub { join '.', b64('{"alg":"RS256","kid":"soak-rsa"}'), b64($claims),
                   'A' x (100_000 + rand 200_000) },
        sub { join '.', b64('{"alg":"RS256","kid":"soak-rsa","x":' . deep(5000 + rand 50_000) . '}'),
                   b64($claims), 'AAAA' },
        sub { join '.', b64('{"alg":"RS256"}'), b64('{"aud":' . deep(20_000) . '}'), 'AAAA' },
        sub { join '.', b64('{"alg":"RS256","kid":"soak-rsa"}'),
                   b64('{"sub":"' . ('\u0000' x 50) . '","iss":"' . $site->{issuer} . '"}'), 'AAAA' },
        sub { join '.', b64('{"alg":"RS256","kid":"soak-rsa","crit":["exp"]}'), b64($claims), 'AAAA' },
        sub { join '.', b64('{"alg":"RS256","kid":"soak-rsa","alg":"none"}'), b64($claims), '' },
        sub { join '.', b64('{"alg":"RSA-OAEP","enc":"A256GCM"}'), 'a', 'b', 'c', 'd' },
        sub { join '.', b64('{"alg":"RS256","kid":"' . ('k' x 70_000) . '"}'), b64($claims), 'AAAA' },
        sub { join '.', b64('{"alg":1e999,"kid":null}'), b64('{"iat":1e999,"exp":-1e999}'), 'AAAA' },
        sub { join '.', b64("\xff\xfe\x00{"), b64("\x00\x01"), b64("\x80") },
        sub { join '.', 'eyJ' x 1000, 'eyJ', '=' x 10 },
        sub { hint($site, key => 'stranger', kid => 'soak-rsa') },
        sub { hint($site, key => 'rsa', alg => 'RS256', kid => 'nobody') },
        sub { hint($site, iss => 'https://evil.example') },
        sub { hint($site, aud => [map { "aud$_" } 1 .. 2000]) },
        sub { hint($site, aud => 'nobody', azp => 'nobody') },
        sub { hint($site, sid => 's' x 20_000, sub => "\"><soakx>") },
        sub { hint($site, iat => time + 86400) },
        sub { hint($site, iat => '1', exp => 'never', sid => { a => [1] }) },
        sub { hint($site, nested => { map { ("k$_" => [1 .. 50]) } 1 .. 200 }) },
        sub { my $t = hint($site); $t =~ s/\.([^.]*)$/.${\ scalar reverse $1}/; $t },
        sub { my $t = hint($site); substr($t, 0, length($t) - 3) },
        sub { my $t = hint($site); "$t.$t" },
        sub { encode_jwt(payload => $claims, alg => 'HS256', key => 'secret') },
        sub { encode_jwt(payload => $claims, alg => 'HS256',
                         key => $site->{key}{rsa}->export_key_pem('public')) },
    );
    return $makers[int rand @makers]->();
}

# provider_id_token(site, claims...): an ID token of the upstream provider
# (signed with its published key) for app1, over the defaults.
sub provider_id_token {
    my ($site, %claims) = @_;
    return hint($site, key => 'rsa', alg => 'RS256', kid => $site->{upstream}{kid},
                %claims);
}

my $jti = 0;

# logout_token(site, claims...): a back-channel logout token of the
# upstream provider that its receiver accepts (claims over the defaults;
# undef drops one). Options: key, alg, kid, typ (undef: none).
sub logout_token {
    my ($site, %o) = @_;
    my $up = $site->{upstream};
    my $key = delete $o{key} // 'rsa';
    my $alg = delete $o{alg} // 'RS256';
    my $kid = exists $o{kid} ? delete $o{kid} : $up->{kid};
    my $typ = exists $o{typ} ? delete $o{typ} : (rand() < 0.5 ? 'logout+jwt' : undef);
    my %claims = (iss => $up->{issuer}, aud => $up->{audiences}[int rand @{ $up->{audiences} }],
                  iat => time, jti => join('-', 'soak', $$, ++$jti, int rand 1e9),
                  events => { 'http://schemas.openid.net/event/backchannel-logout' => {} },
                  %o);
    delete $claims{$_} for grep { !defined $claims{$_} } keys %claims;
    my %h;
    $h{kid} = $kid if defined $kid;
    $h{typ} = $typ if defined $typ;
    return encode_jwt(payload => \%claims, alg => $alg, key => $site->{key}{$key},
                      extra_headers => \%h);
}

# hostile_logout_token(site): a logout token the receiver must refuse, at
# random: garbage, a hint's forgeries, unsigned, HMAC, signed by a key the
# provider does not publish, or signed by the provider with claims that
# break Back-Channel Logout 1.0 section 2.6. Returns (token, what).
sub hostile_logout_token {
    my ($site) = @_;
    my $up = $site->{upstream};
    my $ev = { 'http://schemas.openid.net/event/backchannel-logout' => {} };
    my %ok = (iss => $up->{issuer}, aud => $up->{audiences}[0], iat => time,
              jti => 'j' . int(rand 1e12), events => $ev, sub => 'nobody-' . int(rand 1e6));
    my $claims = $json->encode(\%ok);
    my @makers = (
        ['garbage or a forged hint', sub { hostile_hint($site) }],
        ['alg none', sub { join '.', b64('{"alg":"none","typ":"logout+jwt"}'), b64($claims), '' }],
        ['alg none, the provider kid',
         sub { join '.', b64(qq({"alg":"none","kid":"$up->{kid}"})), b64($claims), '' }],
        ['HMAC with a guessed secret',
         sub { encode_jwt(payload => \%ok, alg => 'HS256', key => 'secret',
                          extra_headers => { kid => $up->{kid} }) }],
        ['HMAC keyed with the provider public key',
         sub { encode_jwt(payload => \%ok, alg => 'HS256',
                          key => $site->{key}{rsa}->export_key_pem('public'),
                          extra_headers => { kid => $up->{kid} }) }],
        ['signed by the soak module key',
         sub { logout_token($site, key => 'signing', kid => 'soak-signing') }],
        ['signed by a key of oidc_logout_keys',
         sub { logout_token($site, key => 'ec', alg => 'ES256', kid => 'soak-ec') }],
        ['another key under the provider kid', sub { logout_token($site, key => 'stranger') }],
        ['the EC key under the provider kid',
         sub { logout_token($site, key => 'ec', alg => 'ES256') }],
        ['no kid, a stranger key', sub { logout_token($site, key => 'stranger', kid => undef) }],
        ['another issuer', sub { logout_token($site, iss => 'https://evil.example', sub => 'x') }],
        ['no issuer', sub { logout_token($site, iss => undef, sub => 'x') }],
        ['another audience', sub { logout_token($site, aud => 'app1', sub => 'x') }],
        ['audiences not ours', sub { logout_token($site, aud => [map { "aud$_" } 1 .. 50], sub => 'x') }],
        ['no audience', sub { logout_token($site, aud => undef, sub => 'x') }],
        ['issued 11 minutes ago', sub { logout_token($site, iat => time - 660, sub => 'x') }],
        ['issued in an hour', sub { logout_token($site, iat => time + 3600, sub => 'x') }],
        ['no iat', sub { logout_token($site, iat => undef, sub => 'x') }],
        ['iat a string', sub { logout_token($site, iat => 'now', sub => 'x') }],
        ['expired', sub { logout_token($site, exp => time - 300, sub => 'x') }],
        ['exp a string', sub { logout_token($site, exp => 'soon', sub => 'x') }],
        ['no jti', sub { logout_token($site, jti => undef, sub => 'x') }],
        ['jti a number', sub { logout_token($site, jti => 12345, sub => 'x') }],
        ['no events', sub { logout_token($site, events => undef, sub => 'x') }],
        ['events without the logout event',
         sub { logout_token($site, events => { 'http://example.com/other' => {} }, sub => 'x') }],
        ['the logout event not an object',
         sub { logout_token($site, events => { 'http://schemas.openid.net/event/backchannel-logout' => 'x' },
                            sub => 'x') }],
        ['events an array', sub { logout_token($site, events => [1], sub => 'x') }],
        ['a nonce', sub { logout_token($site, nonce => 'n', sub => 'x') }],
        ['neither sid nor sub', sub { logout_token($site) }],
        ['sid not a string', sub { logout_token($site, sid => { a => 1 }) }],
        ['sub not a string', sub { logout_token($site, sub => 42) }],
        ['sub too long', sub { logout_token($site, sub => 's' x 300) }],
        ['typ JWT (an ID token)', sub { logout_token($site, typ => 'JWT', sub => 'x') }],
        ['an ID token of the provider', sub { provider_id_token($site, sub => 'x', sid => 'y') }],
        ['a huge token', sub { logout_token($site, sub => 'x', pad => 'p' x (50_000 + rand 40_000)) }],
        ['deep JSON claims, another key',
         sub { my $d = []; $d = [$d] for 1 .. 400;
               logout_token($site, key => 'stranger', sub => 'x', deep => $d) }],
        ['a tampered signature',
         sub { my $t = logout_token($site, sub => 'x'); $t =~ s/\.([^.]{4})([^.]*)$/.$2$1/; $t }],
        ['a tampered payload',
         sub { my ($h, $p, $sig) = split /\./, logout_token($site, sub => 'x');
               join '.', $h, b64($json->encode({ %ok, sub => 'someone-else' })), $sig }],
    );
    my $m = $makers[int rand @makers];
    return ($m->[1]->(), $m->[0]);
}

1;
