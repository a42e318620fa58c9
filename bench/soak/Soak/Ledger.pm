package Soak::Ledger;

# Users who log in, join clients, use their session and log out every way
# the module offers, while workers are killed and nginx reloads; each
# client keeps a ledger of the sessions it knows to be live or ended.
#
#  - a session whose login answered with a cookie, and that no logout has
#    touched, must be accepted (200) by oidc_logout_require_session;
#  - a session whose logout was answered must be refused (401), then and
#    ever after;
#  - a session one of whose requests got no answer (its worker was killed)
#    is "unknown" from then on: neither counted as a violation nor used.
#
# Besides the logouts, sessions end by the admin API (DELETE by sid or by
# subject, after a listing that must show them as they are) and by the
# upstream provider's back-channel logout (a token naming the subject, or
# the provider's sid the module learned from the provider's authorization
# and token answers, or both); a token that names the subject with another
# sid ends nothing, and a replayed one is refused.
#
# The ledger file has one line per change: "cookie state user sid time",
# where state is live, ended or unknown (the last line of a cookie is its
# state), and a line "cookie seen user sid time" for each time
# require_session accepted the session (time: when the request was sent),
# which the check of the applications' tokens reads: no token may name a
# session that was accepted after the token was made.

use strict;
use warnings;

use Exporter 'import';
use IO::Handle;
use JSON::PP;
use Soak::Check qw(html_unescape uri_unescape);
use Soak::HTTP qw(header_value);
use Soak::Operators qw(keys_not_ready operator post_logout_token);
use Soak::Stats qw(count violation);
use Soak::Tokens qw(enc hint logout_token provider_id_token query);
use Soak::Traffic qw(send_request session_cookie);
use Time::HiRes qw(time);

our @EXPORT_OK = qw(run_client read_ledger final_check logout_answered);

# Sessions a client keeps live at most; beyond, it logs out the oldest.
my $LIVE_CAP = 1000;

my ($site, $ledger);

sub record {
    my ($s, $state, $at) = @_;
    $s->{state} = $state unless $state eq 'seen';
    printf $ledger "%s %s %s %s %.3f\n", $s->{cookie}, $state, $s->{user}, $s->{sid} // '-',
        $at // time;
    count('ledger: sessions unknown') if $state eq 'unknown';
}

# A request of session s; with no answer, s becomes unknown.
sub call {
    my ($s, $kind, $method, $target, %opt) = @_;
    my ($res) = send_request($site, "ledger $kind", $method, $target,
                             cookie => "oidc_session=$s->{cookie}", %opt);
    record($s, 'unknown') unless $res;
    return $res;
}

# check_session(where, s, path): require_session (at path, or at /app or
# /protected) agrees with the ledger; where is "during" or "final".
# Returns the response, or nothing when there was none.
sub check_session {
    my ($where, $s, $path) = @_;
    $path //= rand() < 0.8 ? '/app' : '/protected';
    my $sent = time;
    my $res = call($s, 'require', 'GET', $path) or return;
    my $want = $s->{state} eq 'live' ? 200 : 401;
    $s->{sid} //= header_value($res, 'x-sid') if $res->{status} == 200;
    record($s, 'seen', $sent) if $res->{status} == 200;
    if ($res->{status} == $want) {
        count("ledger: $s->{state} checked" . ($where eq 'final' ? ' (final)' : ''));
    } else {
        violation('ledger', "$where: $s->{state} session of $s->{user} (cookie $s->{cookie}): "
                  . "$path answered $res->{status}, not $want");
    }
    return $res;
}

sub login {
    my ($user) = @_;
    my ($res) = send_request($site, 'ledger login', 'GET', '/login?user=' . enc($user));
    if (!$res) {
        count('ledger: logins without response');
        return;
    }
    my $cookie = session_cookie($res);
    if ($res->{status} != 200 || !$cookie) {
        violation('ledger', "login of $user answered $res->{status}"
                  . ($cookie ? '' : ' without a session cookie'));
        return;
    }
    my $s = { cookie => $cookie, user => $user, clients => [] };
    record($s, 'live');
    return $s;
}

# A new login of the same subject with the cookie: the session stays, the
# handle changes, and the old handle must be refused from then on.
sub relogin {
    my ($s) = @_;
    my $res = call($s, 'relogin', 'GET', '/login?user=' . enc($s->{user})) or return $s;
    my $cookie = session_cookie($res);
    if ($res->{status} != 200 || !$cookie || $cookie eq $s->{cookie}) {
        violation('ledger', "a new login of $s->{user} answered $res->{status} "
                  . ($cookie ? "with cookie $cookie" : 'without a cookie'));
        return $s;
    }
    my $renewed = { %$s, cookie => $cookie };
    record($s, 'ended');
    record($renewed, 'live');
    check_session('during', $s);
    return $renewed;
}

sub join_clients {
    my ($s) = @_;
    my @ids = @{ $site->{client_ids} };
    for (1 .. int rand 4) {
        my $id = $ids[int rand @ids];
        my $res = call($s, 'join', 'GET', "/authorize?client_id=$id") or return;
        if ($res->{status} != 200 || (header_value($res, 'x-client') // '') ne $id) {
            violation('ledger', "join of $id by $s->{user} answered $res->{status}");
        }
        push @{ $s->{clients} }, $id;
    }
    return 1;
}

# The session's sid, from a request that also checks it is live.
sub sid_of {
    my ($s) = @_;
    my $res = check_session('during', $s, '/app') or return;
    return header_value($res, 'x-sid');
}

# A request of the operator (no cookie) about session s; with no answer,
# s becomes unknown (a DELETE may or may not have ended it).
sub operate {
    my ($s, $kind, $method, $path, $query, %opt) = @_;
    my ($res, $doc) = operator($site, "ledger $kind", $method, $path, $query, %opt);
    return ($res, $doc) if $res;
    record($s, 'unknown');
    return;
}

# The admin API's listing of s (by sid or subject): exactly s, with its
# subject and the clients it joined.
sub check_listing {
    my ($s, $query) = @_;
    my ($res, $doc) = operate($s, 'admin listing', 'GET', '/admin/sessions', $query) or return;
    my $list = $doc && ref $doc->{sessions} eq 'ARRAY' ? $doc->{sessions} : undef;
    if ($res->{status} != 200 || !$list) {
        violation('admin', "listing $query answered $res->{status}: " . substr($res->{body}, 0, 200));
        return;
    }
    if (@$list != 1 || ($list->[0]{sid} // '') ne $s->{sid} || ($list->[0]{sub} // '') ne $s->{user}) {
        violation('admin', "listing $query of the live session $s->{sid} of $s->{user} shows "
                  . scalar(@$list) . " sessions: $res->{body}");
        return;
    }
    my %want = map { $_ => 1 } @{ $s->{clients} };
    my %got = map { ($_->{client_id} // '?') => 1 } @{ $list->[0]{clients} || [] };
    my $w = join ',', sort keys %want;
    my $g = join ',', sort keys %got;
    violation('admin', "listing $query of $s->{user}: clients $g, not $w") if $g ne $w;
    count('ledger: admin listings checked');
    return $list->[0];
}

# Sends the provider's sign-in of s to app1 through the module, which
# learns the provider's sid: an authorization answer (a code, to app1's
# redirect URI; the session's cookie is renewed) and the token answer
# (an ID token with the subject and the provider's sid). Returns the
# renewed session and the provider's sid, or nothing.
sub provider_sign_in {
    my ($s) = @_;
    my $code = 'soak-code-' . int(rand 1e12);
    my $res = call($s, 'provider authorization', 'GET',
                   '/oauth/auth?' . query(code => $code, state => 's', client_id => 'app1')) or return;
    # 502: the stand-in provider's worker (the same nginx) was killed under
    # it; nothing was observed, the session stays as it was
    return if $res->{status} == 502;
    my $cookie = session_cookie($res);
    if ($res->{status} != 303 || !$cookie || $cookie eq $s->{cookie}) {
        violation('ledger', "the provider's authorization answer for $s->{user} came back as "
                  . "$res->{status} " . ($cookie ? "with cookie $cookie" : 'without a new cookie'));
        return;
    }
    my $renewed = { %$s, cookie => $cookie, clients => [@{ $s->{clients} }, 'app1'] };
    record($s, 'ended');
    record($renewed, 'live');
    check_session('during', $s) or return;    # the old handle is refused
    my $psid = 'psid-' . int(rand 1e12);
    my $id_token = provider_id_token($site, sub => $s->{user}, sid => $psid, aud => 'app1');
    $res = call($renewed, 'provider token', 'POST', '/oauth/token?id_token=' . enc($id_token),
                body => query(grant_type => 'authorization_code', code => $code)) or return;
    return if $res->{status} == 502;    # as above: the renewed session lives
    if ($res->{status} != 200) {
        violation('ledger', "the provider's token answer for $s->{user} came back as $res->{status}");
        return;
    }
    my $listed = check_listing($renewed, "sid=$renewed->{sid}") or return;
    my ($app1) = grep { ($_->{client_id} // '') eq 'app1' } @{ $listed->{clients} || [] };
    if (!$app1 || ($app1->{provider_sid} // '') ne $psid) {
        violation('ledger', "the provider's sid $psid of $s->{user} for app1 was not learned: "
                  . JSON::PP->new->canonical->encode($listed));
        return;
    }
    return ($renewed, $psid);
}

# Parses the confirmation form of a page: (action, {name => value}).
sub form_of {
    my ($body) = @_;
    my ($action) = $body =~ /<form method="post" action="([^"]*)"/ or return;
    my %form = map { html_unescape($_) } $body =~ /name="([^"]+)" value="([^"]*)"/g;
    return (html_unescape($action), \%form);
}

sub is_form { ($_[0]{body} // '') =~ /<form method="post"/ }

# Whether the answer of a logout endpoint says the session ended: a
# redirect, or a page that is no confirmation form.
sub logout_answered { $_[0]{status} == 302 || ($_[0]{status} == 200 && !is_form($_[0])) }

# A logout that must end the session: a redirect, or a page that is no
# confirmation form.
sub ended_by {
    my ($s, $how, $res) = @_;
    return unless $res;
    if (logout_answered($res)) {
        record($s, 'ended');
        count("ledger: logouts by $how");
        check_session('during', $s);
        return 1;
    }
    violation('ledger', "logout of $s->{user} by $how answered $res->{status}"
              . (is_form($res) ? ' (a confirmation form)' : '') . '; the session is kept as live');
    return;
}

# The state a redirect carries back, exactly as sent.
sub check_state {
    my ($res, $state) = @_;
    my $target = header_value($res, 'location');
    ($target) = ($res->{body} // '') =~ /data-next="([^"]*)"/ unless defined $target;
    if (!defined $target) {
        violation('ledger', "a logout with a valid hint and a registered URI answered "
                  . "$res->{status} without redirecting");
        return;
    }
    my ($got) = html_unescape($target) =~ /[?&]state=([^&]*)/;
    $got = uri_unescape($got) if defined $got;
    count('ledger: states checked');
    violation('ledger', "state \"$state\" came back as \"" . ($got // '(none)') . '"')
        unless defined $got && $got eq $state;
}

sub random_state {
    my @pool = ('af0ifjsldkj', 's t', 'a&b=c', "\"><soakx>", 'é', '%41', '');
    my $s = $pool[int rand @pool];
    $s .= chr(33 + rand 94) for 1 .. rand 20;
    return $s;
}

my %plru = (app1 => '/app1/logged-out', fc1 => '/fc1/logged-out', 'bc-ok' => '/bc/logged-out');

sub oidc_endpoint { $site->{oidc_endpoints}[int rand @{ $site->{oidc_endpoints} }] }

# The ways to end a session, each (s) -> ended or not.
my %logout = (
    # no proof: a confirmation form, possibly a forged post of it first,
    # then the posted form
    confirm => sub {
        my ($s) = @_;
        my $ep = oidc_endpoint();
        my @q = rand() < 0.5 ? () : (client_id => 'app1',
            post_logout_redirect_uri => "$site->{issuer}/app1/logged-out", state => random_state());
        my $res = call($s, 'logout confirm page', 'GET', $ep . (@q ? '?' . query(@q) : '')) or return;
        my ($action, $form) = form_of($res->{body} // '');
        if ($res->{status} != 200 || !$action) {
            violation('ledger', "logout without proof of $s->{user} at $ep answered "
                      . "$res->{status} without a confirmation form");
            return;
        }
        check_session('during', $s) or return;
        if (rand() < 0.3) {
            my %forged = (%$form, confirm => rand() < 0.5 ? 'A' x 22 : 'forged');
            $res = call($s, 'logout forged confirmation', 'POST', $action,
                        body => query(%forged)) or return;
            check_session('during', $s) or return;    # must still be live
        }
        $res = call($s, 'logout confirmed', 'POST', $action, body => query(%$form));
        return ended_by($s, 'confirmation', $res);
    },
    # a hint of the session: ends at once, GET or POST
    hint => sub {
        my ($s) = @_;
        my $sid = sid_of($s) or return;
        my @with_uri = grep { $plru{$_} } @{ $s->{clients} }, 'app1';
        my $client = $with_uri[int rand @with_uri];
        my $state = random_state();
        my $q = query(id_token_hint => hint($site, sub => $s->{user}, sid => $sid, aud => $client),
                      post_logout_redirect_uri => "$site->{issuer}$plru{$client}",
                      state => $state);
        my $ep = oidc_endpoint();
        my $res = rand() < 0.5
            ? call($s, 'logout hint', 'GET', "$ep?$q")
            : call($s, 'logout hint', 'POST', $ep, body => $q);
        my $ok = ended_by($s, 'hint', $res);
        check_state($res, $state) if $ok && length $state;
        return $ok;
    },
    # an application's form posted cross-site (no cookie): 303 to a GET of
    # the endpoint, which the browser sends with the cookie
    crosssite => sub {
        my ($s) = @_;
        my $sid = sid_of($s) or return;
        my $ep = oidc_endpoint();
        my ($res) = send_request($site, 'ledger logout cross-site post', 'POST', $ep,
            body => query(id_token_hint => hint($site, sub => $s->{user}, sid => $sid),
                          post_logout_redirect_uri => "$site->{issuer}/app1/logged-out"));
        return unless $res;    # nothing happened to the session
        my $next = header_value($res, 'location') // '';
        $next =~ s{^\Q$site->{issuer}\E(?=/)}{};
        if ($res->{status} != 303 || $next !~ m{^/}) {
            violation('ledger', "cross-site logout post answered $res->{status} "
                      . "with Location \"$next\", not a 303 to this endpoint");
            return;
        }
        check_session('during', $s) or return;    # nothing ended yet
        return ended_by($s, 'cross-site post', call($s, 'logout after 303', 'GET', $next));
    },
    # skip_logout_confirmation: a hint of "quiet" for the same user, of
    # another session, ends this one
    quiet => sub {
        my ($s) = @_;
        my $q = query(id_token_hint => hint($site, sub => $s->{user}, aud => 'quiet',
                                            sid => 'an-older-session'),
                      post_logout_redirect_uri => "$site->{issuer}/quiet/out");
        return ended_by($s, 'skip_logout_confirmation', call($s, 'logout quiet', 'GET', "/logout?$q"));
    },
    auth0 => sub {
        my ($s) = @_;
        my @q = @{ (
            [returnTo => "$site->{issuer}/goodbye"],
            [client_id => 'app1', returnTo => 'https://eu.whitelisteddomain.tld/?from=soak'],
            [client_id => 'app1'],
            [],
        )[int rand 4] };
        return ended_by($s, 'auth0', call($s, 'logout auth0', 'GET',
                                          '/v2/logout' . (@q ? '?' . query(@q) : '')));
    },
    # federated: through the upstream provider, then back here
    federated => sub {
        my ($s) = @_;
        my $res = call($s, 'logout federated', 'GET',
                       '/v2/logout?' . query(returnTo => "$site->{issuer}/goodbye") . '&federated')
            or return;
        ended_by($s, 'federated', $res) or return;
        my $via = header_value($res, 'location');
        ($via) = ($res->{body} // '') =~ /data-next="([^"]*)"/ unless defined $via;
        my ($back) = ($via // '') =~ /[?&](?:amp;)?returnTo=([^&]*)/;
        return 1 unless defined $back;
        $back = uri_unescape($back);
        $back =~ s{^\Q$site->{issuer}\E(?=/)}{};
        return 1 unless $back =~ m{^/};
        my ($r2) = send_request($site, 'ledger federated return', 'GET', $back);
        return 1 unless $r2;
        my $to = header_value($r2, 'location') // '(none)';
        violation('ledger', "the federated return $back answered $r2->{status} to $to")
            if $r2->{status} != 302 || $to ne "$site->{issuer}/goodbye";
        return 1;
    },
);
# by the admin API: by sid (sometimes percent-encoded in full) or by
# subject; listed before, gone after
$logout{admin} = sub {
    my ($s) = @_;
    $s->{sid} //= sid_of($s) or return;
    my $by_sid = rand() < 0.5;
    my $query = $by_sid
        ? 'sid=' . (rand() < 0.3 ? join('', map { sprintf '%%%02X', ord } split //, $s->{sid}) : $s->{sid})
        : 'sub=' . enc($s->{user});
    check_listing($s, $query) or return;
    my ($res, $doc) = operate($s, 'admin end', 'DELETE', '/admin/sessions', $query) or return;
    if ($res->{status} != 200 || !$doc || ($doc->{ended} // -1) != 1) {
        violation('admin', "DELETE $query of the live session of $s->{user} answered "
                  . "$res->{status} $res->{body}, not {\"ended\":1}");
        return;
    }
    count('admin: sessions ended (seen)');
    record($s, 'ended');
    count('ledger: logouts by admin ' . ($by_sid ? 'sid' : 'sub'));
    check_session('during', $s) or return;
    ($res, $doc) = operate($s, 'admin listing', 'GET', '/admin/sessions', $query) or return;
    violation('admin', "listing $query after its DELETE: $res->{status} $res->{body}")
        unless $res->{status} == 200 && $doc && ref $doc->{sessions} eq 'ARRAY' && !@{ $doc->{sessions} };
    return 1;
};

# by the upstream provider's back-channel logout: a token naming the
# subject, the provider's sid, or both
$logout{upstream} = sub {
    my ($s) = @_;
    $s->{sid} //= sid_of($s) or return;
    my $how = (qw(sub sid sid+sub))[int rand 3];
    my %claims = (sub => $s->{user});
    if ($how ne 'sub') {
        (my $renewed, my $psid) = provider_sign_in($s) or return;
        $s = $renewed;
        %claims = (sid => $psid, $how eq 'sid+sub' ? (sub => $s->{user}) : ());
        if ($how eq 'sid+sub' && rand() < 0.4) {
            # the subject with another of the provider's sids: nothing ends
            my ($res, $doc) = post_logout_token($site, 'ledger upstream other sid',
                logout_token($site, sub => $s->{user}, sid => "$psid-other"));
            return record($s, 'unknown') unless $res;
            return if keys_not_ready($res, $doc);
            violation('upstream', "a logout token of $s->{user} for another sid answered "
                      . "$res->{status} $res->{body}") if $res->{status} != 200;
            check_session('during', $s) or return;    # still live
        }
    }
    my $token = logout_token($site, %claims);
    my ($res, $doc) = post_logout_token($site, 'ledger upstream logout', $token);
    return record($s, 'unknown') unless $res;
    if (keys_not_ready($res, $doc)) {
        count('upstream: valid tokens before the keys were fetched');
        return;
    }
    if ($res->{status} != 200) {
        violation('upstream', "a valid logout token ($how) of $s->{user} answered $res->{status} "
                  . $res->{body});
        return;
    }
    count('upstream: sessions ended (seen)');
    record($s, 'ended');
    count("ledger: logouts by upstream $how");
    check_session('during', $s) or return;
    if (rand() < 0.5) {
        ($res, $doc) = post_logout_token($site, 'ledger upstream replay', $token);
        if ($res && ($res->{status} != 400 || ($doc->{error_description} // '') !~ /received before/)) {
            violation('upstream', "a replayed logout token of $s->{user} answered $res->{status} "
                      . $res->{body});
        }
        count('upstream: replays refused') if $res && $res->{status} == 400;
    }
    return 1;
};

my @ways = sort keys %logout;

sub end_session {
    my ($s) = @_;
    $logout{ $ways[int rand @ways] }->($s);
}

# run_client(site, k, deadline, ledger_file): one user agent until the
# deadline.
sub run_client {
    my ($k, $deadline, $file);
    ($site, $k, $deadline, $file) = @_;
    open $ledger, '>>', $file or die "$file: $!";
    $ledger->autoflush(1);
    my (@live, @ended);
    my $n = 0;
    while (time < $deadline) {
        @live = grep { $_->{state} eq 'live' } @live;
        @ended = grep { $_->{state} eq 'ended' } @ended;
        my $r = rand;
        if (@live > $LIVE_CAP || (@live && $r < 0.15)) {
            my $s = splice(@live, @live > $LIVE_CAP ? 0 : int rand @live, 1);
            end_session($s);
            push @ended, $s;
        } elsif (@live && $r < 0.30) {
            check_session('during', $live[int rand @live]);
        } elsif (@ended && $r < 0.40) {
            check_session('during', $ended[int rand @ended]);
        } else {
            my $s = login('soak-' . $k . '-' . $n++ . ('-x' x rand 3)) or next;
            check_session('during', $s, '/app') or next;    # and its sid
            join_clients($s) or next;
            if (rand() < 0.1) {
                push @ended, $s;
                $s = relogin($s);
                next if $s->{state} ne 'live';
            }
            if (rand() < 0.6) {
                end_session($s);
                push @ended, $s;
            } else {
                push @live, $s;
            }
        }
        splice(@ended, 0, @ended - 500) if @ended > 500;
    }
    close $ledger;
}

# read_ledger(files): the last state of every cookie: ({cookie, state,
# user, sid, node}, ...); node: where it changed, in a cluster's ledger.
sub read_ledger {
    my (%last, @order);
    for my $file (@_) {
        open my $f, '<', $file or die "$file: $!";
        while (<$f>) {
            my ($cookie, $state, $user, $sid, undef, $node) = split ' ';
            next if $state eq 'seen';
            push @order, $cookie unless $last{$cookie};
            $last{$cookie} = { cookie => $cookie, state => $state, user => $user,
                               sid => $sid && $sid ne '-' ? $sid : undef, node => $node };
        }
    }
    return map { $last{$_} } @order;
}

# final_check(site, sessions, deadline, ledger_file): the check once more,
# for each session, after the chaos; the driver runs several at once.
sub final_check {
    my ($s_site, $sessions, $deadline, $ledger_file) = @_;
    $site = $s_site;
    open $ledger, '>>', $ledger_file or die "$ledger_file: $!";
    for my $s (@$sessions) {
        last if time > $deadline;
        check_session('final', $s);
        count('ledger: final checks');
    }
    close $ledger;
}

1;
