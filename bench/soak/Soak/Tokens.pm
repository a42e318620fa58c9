package Soak::Tokens;

# id_token_hints: valid ones minted with the site's keys, and malformed
# ones (garbage, alg none, HMAC, bad base64, huge, deep JSON, a key the
# JWKS does not have, hostile claims).

use strict;
use warnings;

use Crypt::JWT qw(encode_jwt);
use Exporter 'import';
use JSON::PP;
use MIME::Base64 qw(encode_base64url);

our @EXPORT_OK = qw(hint hostile_hint enc query);

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

1;
