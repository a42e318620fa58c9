package Soak::Check;

# What every response of the soak must satisfy, whoever sent the request:
# it redirects (Location, or the front-channel page's link, refresh and
# script target) only to a registered URL or to one of this server's
# endpoints; it has no header the module and nginx do not send (a header
# injected through a parameter), no cookie but the session cookies, and no
# markup a request smuggled in.

use strict;
use warnings;

use Exporter 'import';
use Soak::HTTP qw(header_values);
use Soak::Stats qw(count violation);

our @EXPORT_OK = qw(check_response html_unescape uri_unescape url_key);

# Marker the fuzzer puts in values: the body must never carry it as markup.
our $MARKER = 'soakx';

my %allowed_header = map { $_ => 1 } qw(
    server date content-type content-length connection keep-alive
    transfer-encoding location cache-control content-security-policy
    x-content-type-options referrer-policy set-cookie last-modified etag
    accept-ranges content-range expires pragma vary allow www-authenticate
    x-sid x-sub x-client x-authenticated-user);

# url_key(url): (scheme, host, port, path) of an absolute URL written the
# way a browser could only read one way, with escapes of unreserved
# characters decoded; nothing for anything else (userinfo, backslash,
# spaces or controls, non-ASCII, a fragment, an odd host).
sub url_key {
    my ($u) = @_;
    return if $u =~ /[^\x21-\x7e]/ || $u =~ /\\/;
    my ($scheme, $host, $port, $path) =
        $u =~ m{^([A-Za-z][A-Za-z0-9+.-]*)://(\*?[A-Za-z0-9.-]+)(?::(\d{1,5}))?(/[^?#]*)?(?:\?[^#]*)?$}
        or return;
    ($scheme, $host) = (lc $scheme, lc $host);
    $port //= { http => 80, https => 443 }->{$scheme} // return;
    $path //= '/';
    $path =~ s{%([0-9A-Fa-f]{2})}{
        my $c = chr hex $1;
        $c =~ /[A-Za-z0-9._~-]/ ? $c : '%' . uc $1
    }ge;
    return ($scheme, $host, $port, $path);
}

# The registered targets of a site, by key, computed once per process.
my %registered;
my @wildcards;
my %endpoint;

sub load_site {
    my ($site) = @_;
    return if %registered;
    for my $u (@{ $site->{registered} }) {
        my ($scheme, $host, $port, $path) = url_key($u) or die "bad registered URL $u\n";
        if ($host =~ s/^\*\.//) {
            push @wildcards, [$scheme, $host, $port, $path];
        } else {
            $registered{"$scheme $host $port $path"} = 1;
        }
    }
    $endpoint{$_} = 1 for @{ $site->{oidc_endpoints} }, @{ $site->{auth0_endpoints} };
}

# Where a response may send the browser back to this server: one of its
# endpoints, by a relative path or under the issuer's origin.
sub is_own_endpoint {
    my ($site, $t) = @_;
    if ($t =~ m{^/(?![/\\])([^?#]*)}) {
        return 0 if $t =~ /[^\x21-\x7e]/;
        return $endpoint{"/$1"} ? 1 : 0;
    }
    my ($scheme, $host, $port, $path) = url_key($t) or return 0;
    my ($is, $ih, $ip) = url_key($site->{issuer});
    return $scheme eq $is && $host eq $ih && $port == $ip && $endpoint{$path} ? 1 : 0;
}

sub is_registered {
    my ($site, $t) = @_;
    return 1 if is_own_endpoint($site, $t);
    my ($scheme, $host, $port, $path) = url_key($t) or return 0;
    return 1 if $registered{"$scheme $host $port $path"};
    for my $w (@wildcards) {
        my ($ws, $wh, $wp, $wpath) = @$w;
        return 1 if $scheme eq $ws && $port == $wp && $path eq $wpath
            && $host =~ /^[a-z0-9-]+\.\Q$wh\E$/;
    }
    return 0;
}

sub html_unescape {
    my ($s) = @_;
    $s =~ s/&quot;/"/g;
    $s =~ s/&#39;/'/g;
    $s =~ s/&lt;/</g;
    $s =~ s/&gt;/>/g;
    $s =~ s/&#(\d+);/chr $1/ge;
    $s =~ s/&amp;/&/g;
    return $s;
}

sub uri_unescape { my ($s) = @_; $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $s }

# check_response(site, what, response): counts the redirects it checked;
# every breach is a violation that names the request (what).
sub check_response {
    my ($site, $what, $res) = @_;
    load_site($site);

    for my $h (@{ $res->{headers} }) {
        my ($name, $value) = @$h;
        if (!defined $value || !$allowed_header{ lc $name }) {
            violation('header', "$what: unexpected header line \"$name"
                      . (defined $value ? ": $value" : '') . '"');
        } elsif (lc $name eq 'set-cookie'
                 && $value !~ /^(?:oidc_session|alt_session|short_session)=/
                 && $value !~ /^_session(?:\.sig)?=; Path=\/; Max-Age=0; /) {
            violation('header', "$what: unexpected cookie \"$value\"");
        }
    }
    # an upstream provider's answer, passed through (its redirect and page
    # reflect the fuzzers' parameters, as the peer was told to)
    return if $what =~ m{\(\S+ /oauth/};

    my $body = $res->{body} // '';
    violation('markup', "$what: the body carries <$MARKER as markup")
        if $body =~ /<\Q$MARKER\E/i;

    my @targets;
    my @locations = header_values($res, 'location');
    violation('header', "$what: " . @locations . ' Location headers') if @locations > 1;
    push @targets, map { ['Location', $_] } @locations;
    if ($body =~ /<html/i) {
        push @targets, map { ['data-next', html_unescape($_)] } $body =~ /\bdata-next="([^"]*)"/g;
        push @targets, map { ['refresh', html_unescape($_)] }
            $body =~ /<meta http-equiv="refresh" content="\d+; ?url=([^"]*)"/gi;
        push @targets, map { ['href', html_unescape($_)] } $body =~ /<a [^>]*\bhref="([^"]*)"/gi;
        push @targets, map { ['form action', html_unescape($_)] } $body =~ /<form [^>]*\baction="([^"]*)"/gi;
        push @targets, map { ['iframe', html_unescape($_)] } $body =~ /<iframe [^>]*\bsrc="([^"]*)"/gi;
    }
    for my $t (@targets) {
        my ($where, $url) = @$t;
        count('redirects checked');
        if (!is_registered($site, $url)) {
            violation('redirect', "$what: $where \"$url\" is not registered");
            next;
        }
        # the federated logout's way back comes here, never elsewhere
        my ($scheme, $host, $port, $path) = url_key($url);
        my ($fs, $fh, $fp, $fpath) = url_key($site->{federated});
        next unless defined $scheme && "$scheme $host $port $path" eq "$fs $fh $fp $fpath";
        for my $back (map { uri_unescape($_) } $url =~ /[?&]returnTo=([^&]*)/g) {
            count('redirects checked');
            violation('redirect', "$what: the federated returnTo \"$back\" is not this server's")
                unless is_own_endpoint($site, $back);
        }
    }
}

1;
