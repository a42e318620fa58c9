package Soak::Expiry;

# Sessions of the short zone (idle and lifetime of seconds), whose ends
# come from expiry: the sweep of each worker ends them, under the kills
# and reloads, and their clients (the logging applications among them)
# get their logout tokens. A user agent signs in under /short/, joins
# clients, and either leaves the session alone or keeps using it until
# its lifetime is over; its ledger says, with margins of two seconds for
# the zone's whole-second clock:
#
#  - a session whose idle time or lifetime is surely over is refused
#    (401), and once refused it is refused ever after;
#  - a session is not refused before its idle time or lifetime can be over.
#
# Its ledger file has the lines of Soak::Ledger ("cookie state user sid
# time", and "seen" lines): the check of the applications' tokens reads it.

use strict;
use warnings;

use Exporter 'import';
use IO::Handle;
use List::Util qw(min);
use Soak::HTTP qw(header_value);
use Soak::Stats qw(count violation);
use Soak::Traffic qw(send_request session_cookie);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(run_expiry final_expiry read_expiry);

# the margin of the checks: the zone's clock counts whole seconds
my $MARGIN = 2;
# sessions a user agent keeps at once
my $POOL = 24;
# the clients a short session joins, those that log their tokens first
my @JOINABLE = qw(app-a app-b bc-ok both bc-fail bc-silent bc-refused);

my ($site, $ledger, $idle, $lifetime);

sub record {
    my ($s, $state, $at) = @_;
    $s->{state} = $state unless $state eq 'seen';
    printf $ledger "%s %s %s %s %.3f\n", $s->{cookie}, $state, $s->{user}, $s->{sid} // '-',
        $at // time;
}

sub get {
    my ($s, $kind, $target) = @_;
    my $sent = time;
    my ($res) = send_request($site, "expiry $kind", 'GET', $target,
                             cookie => "short_session=$s->{cookie}");
    return ($res, $sent, time);
}

# The earliest and the latest moment s can end, by what the ledger saw.
sub earliest { min($_[0]{touch_sent} + $idle, $_[0]{login_sent} + $lifetime) - $MARGIN }
sub latest { min($_[0]{touch_answered} + $idle, $_[0]{login_answered} + $lifetime) + $MARGIN }

# check(s, where): require_session at /short/app against the ledger.
sub check {
    my ($s, $where) = @_;
    my ($res, $sent, $answered) = get($s, 'require', '/short/app');
    if (!$res) {
        record($s, 'unknown');
        count('expiry: sessions unknown');
        return;
    }
    if ($res->{status} == 200) {
        if ($s->{state} eq 'ended') {
            violation('expiry', "$where: the ended session $s->{sid} of $s->{user} came back");
        } elsif ($sent > latest($s)) {
            violation('expiry', sprintf '%s: the session %s of %s is still live %.1f s after '
                      . 'its idle time or lifetime was over', $where, $s->{sid}, $s->{user},
                      $sent - latest($s) + $MARGIN);
        }
        @$s{qw(touch_sent touch_answered)} = ($sent, $answered);
        record($s, 'seen', $sent);
        count("expiry: live checked ($where)");
    } elsif ($res->{status} == 401) {
        if ($s->{state} eq 'live') {
            if ($answered < earliest($s)) {
                violation('expiry', sprintf '%s: the session %s of %s ended %.1f s before its '
                          . 'idle time or lifetime could be over', $where, $s->{sid}, $s->{user},
                          earliest($s) + $MARGIN - $answered);
            }
            record($s, 'ended', $sent);
            count('expiry: sessions seen expired ('
                  . ($s->{keep} ? 'kept in use: lifetime' : 'left alone: idle') . ')');
        }
        count("expiry: ended checked ($where)");
    } else {
        violation('expiry', "$where: /short/app answered $res->{status} for $s->{user}");
    }
    return $res;
}

sub sign_in {
    my ($user) = @_;
    my $sent = time;
    my ($res) = send_request($site, 'expiry login', 'GET', "/short/login?user=$user");
    my $answered = time;
    return unless $res;
    my $cookie = session_cookie($res, 'short_session');
    if ($res->{status} != 200 || !$cookie) {
        violation('expiry', "login of $user answered $res->{status}" . ($cookie ? '' : ' without a cookie'));
        return;
    }
    my $s = { cookie => $cookie, user => $user, login_sent => $sent, login_answered => $answered,
              touch_sent => $sent, touch_answered => $answered, keep => rand() < 0.3 };
    record($s, 'live', $sent);
    count('expiry: logins');
    my ($app, $s2, $a2) = get($s, 'require', '/short/app');
    return record($s, 'unknown') unless $app;
    if ($app->{status} != 200 || !($s->{sid} = header_value($app, 'x-sid'))) {
        violation('expiry', "a fresh short session of $user answered $app->{status} at /short/app");
        return;
    }
    @$s{qw(touch_sent touch_answered)} = ($s2, $a2);
    record($s, 'seen', $s2);
    my @ids = @JOINABLE[0, 1];    # both logging applications, and others by chance
    push @ids, grep { rand() < 0.3 } @JOINABLE[2 .. $#JOINABLE];
    for my $id (@ids) {
        my ($res, $sent, $answered) = get($s, 'join', "/short/authorize?client_id=$id");
        return record($s, 'unknown') unless $res;
        if ($res->{status} != 200 || (header_value($res, 'x-client') // '') ne $id) {
            violation('expiry', "join of $id by $user answered $res->{status}");
            return;
        }
        @$s{qw(touch_sent touch_answered)} = ($sent, $answered);
    }
    return $s;
}

# When s is looked at next: one in use every second or so; one left
# alone once its idle time is surely over.
sub next_look {
    my ($s) = @_;
    return $s->{touch_answered} + 0.5 + rand 1 if $s->{keep};
    return $s->{touch_answered} + $idle + $MARGIN + 0.2 + rand 2;
}

# run_expiry(site, k, deadline, ledger_file): one user agent of the short
# zone until the deadline.
sub run_expiry {
    my ($k, $deadline, $file);
    ($site, $k, $deadline, $file) = @_;
    ($idle, $lifetime) = @{ $site->{short} }{qw(idle lifetime)};
    open $ledger, '>>', $file or die "$file: $!";
    $ledger->autoflush(1);
    my @pool;
    my $n = 0;
    while (time < $deadline) {
        @pool = grep { $_->{state} eq 'live' || ($_->{state} eq 'ended' && $_->{looks}) } @pool;
        if (@pool < $POOL) {
            my $s = sign_in("short-$k-" . $n++) or next;
            $s->{next} = next_look($s);
            push @pool, $s;
        }
        my ($due) = sort { $a->{next} <=> $b->{next} } @pool;
        next unless $due;
        if ($due->{next} > time) {
            sleep min($due->{next} - time, 0.2);    # pacing only
            next;
        }
        check($due, 'during') or next;
        # an ended one is looked at once more a bit later: it stays ended
        $due->{looks} = ($due->{looks} // 2) - 1 if $due->{state} eq 'ended';
        $due->{next} = $due->{state} eq 'ended' ? time + 1 + rand 3 : next_look($due);
    }
    close $ledger;
}

# read_expiry(files): the sessions of the ledger files: ({cookie, state,
# user, sid}, ...), unknown ones left out.
sub read_expiry {
    my %last;
    for my $file (@_) {
        open my $f, '<', $file or die "$file: $!";
        while (<$f>) {
            my ($cookie, $state, $user, $sid) = split ' ';
            next if $state eq 'seen';
            $last{$cookie} = { cookie => $cookie, state => $state, user => $user,
                               sid => $sid ne '-' ? $sid : undef };
        }
    }
    return grep { $_->{state} ne 'unknown' } values %last;
}

# final_expiry(site, sessions, ledger_file): after the drain, every
# session of the short zone is refused.
sub final_expiry {
    my ($s_site, $sessions, $file) = @_;
    $site = $s_site;
    ($idle, $lifetime) = @{ $site->{short} }{qw(idle lifetime)};
    open $ledger, '>>', $file or die "$file: $!";
    for my $s (@$sessions) {
        my ($res) = get($s, 'require', '/short/app');
        next unless $res;
        count('expiry: final checks');
        if ($res->{status} != 401) {
            violation('expiry', "final: the session $s->{cookie} of $s->{user} answered "
                      . "$res->{status}, not 401, after the drain");
            record($s, 'seen') if $res->{status} == 200;
        }
    }
    close $ledger;
}

1;
