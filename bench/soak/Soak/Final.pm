package Soak::Final;

# The checks once the load has stopped and the outbox has drained:
#
#  - the counters of the metrics pages agree with what the soak saw (the
#    module counts at least what the soak counted: a request whose answer
#    a kill lost may have counted too), and with themselves: every session
#    started has ended or is live, nothing is pending;
#  - the error log has one "oidc_logout:" line for each refusal of the
#    operators' locations (Soak::Operators tags their requests);
#  - every logout token the applications logged verifies with the module's
#    key, is made for that application, and names a session the ledgers
#    know ended, or one they do not know (the fuzzers'): never one they
#    saw live after the token was made.

use strict;
use warnings;

use Crypt::JWT qw(decode_jwt);
use Crypt::PK::RSA;
use Exporter 'import';
use Soak::Metrics qw(metric_sum);
use Soak::Stats qw(count violation);

our @EXPORT_OK = qw(check_counters check_tags check_tokens);

my $EVENT = 'http://schemas.openid.net/event/backchannel-logout';

# check_counters(pages, counts): pages {soak => samples, short => samples}
# of the end; counts those of the soak. Returns lines to print.
sub check_counters {
    my ($pages, $c) = @_;
    my $n = sub { $c->{ $_[0] } // 0 };
    my @lines;
    my $at_least = sub {
        my ($what, $module, $soak) = @_;
        push @lines, [$what, "$module (soak: $soak)"];
        violation('counters', "$what: the metrics say $module, the soak saw $soak")
            if $module < $soak;
    };
    for my $zone (qw(soak short)) {
        my $m = $pages->{$zone};
        if (!$m) {
            violation('counters', "no metrics page of the zone $zone at the end");
            next;
        }
        my $live = metric_sum($m, 'oidc_logout_sessions');
        my $logins = metric_sum($m, 'oidc_logout_logins_total');
        my $ends = metric_sum($m, 'oidc_logout_session_ends_total');
        push @lines, ["$zone: sessions started, ended, live", "$logins, $ends, $live"];
        violation('counters', "$zone: $logins sessions started, $ends ended, $live live")
            if $logins != $ends + $live;
        my $pending = metric_sum($m, 'oidc_logout_backchannel_pending_deliveries');
        my $by_client = metric_sum($m, 'oidc_logout_backchannel_client_pending_deliveries');
        violation('counters', "$zone: $pending deliveries pending ($by_client by client) after the drain")
            if $pending || $by_client;
        my $free = metric_sum($m, 'oidc_logout_zone_free_bytes');
        my $size = metric_sum($m, 'oidc_logout_zone_size_bytes');
        violation('counters', "$zone: $free bytes free of $size") if $free > $size || !$size;
        push @lines, ["$zone: deliveries $_", metric_sum($m, 'oidc_logout_backchannel_deliveries_total',
                                                         outcome => $_)]
            for qw(delivered retried failed given_up dropped);
        push @lines, ["$zone: session ends by $_", metric_sum($m, 'oidc_logout_session_ends_total',
                                                             cause => $_)]
            for qw(logout idle lifetime evicted admin upstream replaced);
    }
    my ($soak, $short) = @$pages{qw(soak short)};
    if ($soak) {
        $at_least->('soak: ends by admin', metric_sum($soak, 'oidc_logout_session_ends_total',
                                                      cause => 'admin'),
                    $n->('admin: sessions ended (seen)'));
        $at_least->('soak: ends by upstream', metric_sum($soak, 'oidc_logout_session_ends_total',
                                                         cause => 'upstream'),
                    $n->('upstream: sessions ended (seen)'));
        $at_least->('upstream tokens accepted',
                    metric_sum($soak, 'oidc_logout_upstream_logout_tokens_total', result => 'accepted'),
                    $n->('upstream: valid tokens accepted') + $n->('upstream: sessions ended (seen)'));
        $at_least->('upstream tokens refused',
                    metric_sum($soak, 'oidc_logout_upstream_logout_tokens_total', result => 'refused'),
                    $n->('upstream: refused by the module'));
        $at_least->('soak: logins', metric_sum($soak, 'oidc_logout_logins_total'),
                    $n->('requests: ledger login') - $n->('ledger: logins without response')
                    - $n->('violations: ledger'));
    }
    if ($short) {
        my $expired = 0;
        $expired += $c->{$_} for grep { /^expiry: sessions seen expired/ } keys %$c;
        $at_least->('short: ends by idle, lifetime',
                    metric_sum($short, 'oidc_logout_session_ends_total', cause => 'idle')
                    + metric_sum($short, 'oidc_logout_session_ends_total', cause => 'lifetime'),
                    $expired);
        $at_least->('short: logins', metric_sum($short, 'oidc_logout_logins_total'),
                    $n->('expiry: logins'));
    }
    return @lines;
}

# check_tags(tags_file, tagged): tagged {tag => [level, ...]}, the levels
# of the error log's "oidc_logout:" lines that carry each tag.
sub check_tags {
    my ($file, $tagged) = @_;
    open my $f, '<', $file or return;
    while (<$f>) {
        my ($tag, $status, $json, $kind) = split ' ';
        next unless $tag;
        my @levels = @{ $tagged->{$tag} || [] };
        my $serious = grep { /^(?:error|crit|alert|emerg)$/ } @levels;
        count('log: tagged answers checked');
        if ($status =~ /^4/ && $json) {
            if (@levels != 1 || $levels[0] ne 'error') {
                violation('log', "$kind ($tag): $status from the module with "
                          . (@levels ? join(', ', map { "[$_]" } @levels) : 'no') . ' oidc_logout lines, '
                          . 'not one [error]');
            }
        } elsif ($status =~ /^4/) {
            violation('log', "$kind ($tag): $status from nginx with " . @levels . ' oidc_logout lines')
                if @levels;
        } elsif ($serious) {
            violation('log', "$kind ($tag): $status with an [error] oidc_logout line");
        }
    }
}

# The sessions of the ledgers, by sid: {state, user, seen (the last time
# require_session accepted it), zone}.
sub ledger_sids {
    my (%sid, %by_user);
    for my $file (@_) {
        my $zone = $file =~ m{/expiry-[^/]*$} ? 'short' : 'soak';
        open my $f, '<', $file or next;
        while (<$f>) {
            my ($cookie, $state, $user, $sid, $at) = split ' ';
            next unless $sid && $sid ne '-';
            my $s = $sid{$sid} //= { user => $user, zone => $zone, seen => 0 };
            $by_user{$user} = $sid;
            if ($state eq 'seen') {
                $s->{seen} = $at if $at > $s->{seen};
            } else {
                $s->{state} = $state;
            }
        }
    }
    return (\%sid, \%by_user);
}

# check_tokens(site, received_log, ledger_files): the tokens the
# applications logged ("status uri body" lines).
sub check_tokens {
    my ($site, $log, @ledgers) = @_;
    my ($sids, $by_user) = ledger_sids(@ledgers);
    my $key = Crypt::PK::RSA->new(\$site->{key}{signing}->export_key_der('public'));
    my %required = map { $_->{client_id} => $_->{backchannel_logout_session_required} ? 1 : 0 }
                   @{ $site->{clients} };
    my (%answered, %noticed);
    open my $f, '<', $log or return;
    while (my $line = <$f>) {
        chomp $line;
        my ($status, $uri, $body) = split / /, $line, 3;
        my $client = $uri =~ m{^/app-bc/([\w-]+)$} ? $1
                   : $uri =~ m{^/bc/ok\?client=([\w-]+)$} ? $1
                   : $uri eq '/bc/ok' ? 'bc-ok' : undef;
        if (!defined $client) {
            violation('tokens', "a request to an application at $uri");
            next;
        }
        if (($body // '-') eq '-') {
            count('tokens: connections the applications closed unread');
            next;
        }
        my ($token) = $body =~ /^logout_token=([A-Za-z0-9_.-]+)$/;
        if (!$token) {
            violation('tokens', "$client got a body that is no logout token: " . substr($body, 0, 100));
            next;
        }
        count("tokens: received, answered $status");
        my ($header, $claims) = eval {
            decode_jwt(token => $token, key => $key, decode_header => 1, verify_exp => 0,
                       verify_iat => 0, accepted_alg => qr/^(?:RS|PS)\d+$/)
        };
        if (!$claims) {
            violation('tokens', "a token for $client does not verify with the module's key: "
                      . ($@ =~ s/ at .*//sr));
            next;
        }
        my @problems;
        push @problems, 'typ ' . ($header->{typ} // 'none') if ($header->{typ} // '') ne 'logout+jwt';
        push @problems, 'kid ' . ($header->{kid} // 'none') if ($header->{kid} // '') ne 'soak-signing';
        push @problems, 'iss ' . ($claims->{iss} // 'none') if ($claims->{iss} // '') ne $site->{issuer};
        my @aud = ref $claims->{aud} eq 'ARRAY' ? @{ $claims->{aud} } : ($claims->{aud} // ());
        push @problems, "aud @aud" unless grep { $_ eq $client } @aud;
        push @problems, 'no logout event'
            unless ref $claims->{events} eq 'HASH' && ref $claims->{events}{$EVENT} eq 'HASH';
        push @problems, 'a nonce' if exists $claims->{nonce};
        push @problems, 'no jti' unless length($claims->{jti} // '');
        push @problems, 'no iat' unless ($claims->{iat} // '') =~ /^\d+$/;
        push @problems, 'no sid, which the client requires' if $required{$client} && !$claims->{sid};
        push @problems, 'neither sid nor sub' unless $claims->{sid} || $claims->{sub};
        if (@problems) {
            violation('tokens', "a token for $client: " . join(', ', @problems));
            next;
        }
        count('tokens: verified');
        my $sid = $claims->{sid} // $by_user->{ $claims->{sub} // '' } // '';
        my $s = $sids->{$sid};
        if (!$s) {
            count('tokens: for sessions outside the ledgers');
            next;
        }
        count("tokens: for sessions of the ledgers ($s->{zone})");
        $noticed{$sid}{$client} = 1;
        $answered{"$sid $client"}++ if $status =~ /^2/;
        if (($s->{state} // '') eq 'live') {
            violation('tokens', "$client got a token for the session $sid of $s->{user}, "
                      . 'which the ledger knows live');
        } elsif ($claims->{iat} < $s->{seen} - 2) {
            violation('tokens', sprintf '%s got a token made at %d for the session %s of %s, '
                      . 'which require_session accepted at %.1f', $client, $claims->{iat}, $sid,
                      $s->{user}, $s->{seen});
        }
    }
    count('tokens: (session, client) answered 2xx more than once', scalar grep { $_ > 1 } values %answered);
    # how many of the short zone's ended sessions reached the logging
    # applications they all joined
    for my $sid (grep { $sids->{$_}{zone} eq 'short' && ($sids->{$_}{state} // '') eq 'ended' } keys %$sids) {
        count('tokens: short sessions ended');
        count("tokens: short sessions ended, token at $_") for grep { $noticed{$sid}{$_} } qw(app-a app-b);
    }
}

1;
