package Soak::Cluster;

# The soak's cluster: two nginx nodes whose zone "soak" is in the soak's
# own Redis (Soak::Redis), the same site on both (Soak::Setup; the peers
# on the first node only). Users log in, join, use and end sessions on
# either node, keeping a ledger like Soak::Ledger's; each session's state
# is strict on the node where it last changed (that node answered the
# login or the logout), and only counted on the other one while the load
# runs (a login is written to Redis, an end reaches the other node's
# cache, within milliseconds; not at all while Redis is down). Once the
# load stops and Redis is back, both nodes must agree with the ledger
# within a few seconds of polling, and Redis's keys must agree with
# themselves and with the ledger.

use strict;
use warnings;

use Exporter 'import';
use IO::Handle;
use MIME::Base64 qw(encode_base64url);
use Soak::HTTP qw(header_value);
use Soak::Ledger qw(logout_answered);
use Soak::Nginx qw(kill_worker signal_nginx use_nginx_node);
use Soak::Operators qw(keys_not_ready operator post_logout_token);
use Soak::Redis qw(kill_redis redis_alive redis_command redis_keys start_redis);
use Soak::Stats qw(count sample violation);
use Soak::Tokens qw(enc hint logout_token query);
use Soak::Traffic qw(send_request session_cookie);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(write_nodes run_cluster_client run_cluster_chaos final_cluster
                    check_redis_keys);

my ($site, $ledger);

# write_nodes(site, redis_port): node1/nginx.conf and node2/nginx.conf
# from the site's nginx.conf (Soak::Setup::write_site): the zone "soak"
# in Redis; node 2 listens on the second of site->{nodes} and has no
# peers.
sub write_nodes {
    my ($s, $redis_port) = @_;
    my $d = $s->{dir};
    open my $f, '<', "$d/nginx.conf" or die "$d/nginx.conf: $!\n";
    my $conf = do { local $/; <$f> };
    close $f;
    my $zone = 'oidc_logout_zone zone=soak:256m idle=1d lifetime=2d notify=on';
    $conf =~ s/\Q$zone;\E/$zone redis=127.0.0.1:$redis_port;/ or die "no zone soak in $d/nginx.conf\n";
    for my $n (1, 2) {
        my $node = "$d/node$n";
        mkdir $node;
        mkdir "$node/tmp";
        my $text = $conf;
        $text =~ s{\b(pid|error_log) \Q$d\E/}{$1 $node/}g;
        $text =~ s{\Q$d\E/tmp/}{$node/tmp/}g;
        if ($n == 2) {
            $text =~ s/listen 127\.0\.0\.1:$s->{port} backlog/listen 127.0.0.1:$s->{nodes}[1] backlog/
                or die "no listen $s->{port} in $d/nginx.conf\n";
            $text =~ s/\n    # the peers:.*\z/\n}\n/s or die "no peers in $d/nginx.conf\n";
        }
        open my $o, '>', "$node/nginx.conf" or die "$node/nginx.conf: $!\n";
        print $o $text;
        close $o;
    }
}

sub node_name { $_[0] == $site->{nodes}[0] ? 'node1' : 'node2' }
sub any_node { $site->{nodes}[int rand 2] }
sub other_node { $_[0] == $site->{nodes}[0] ? $site->{nodes}[1] : $site->{nodes}[0] }

# A request to the node at port; the response or nothing.
sub on {
    my ($port, $kind, $method, $target, %opt) = @_;
    local $site->{port} = $port;
    my ($res) = send_request($site, "cluster $kind", $method, $target, %opt);
    return $res;
}

sub cookie_of { (cookie => "oidc_session=$_[0]{cookie}") }

# Ledger lines as Soak::Ledger's, with the node where the state changed.
sub record {
    my ($s, $state, $at) = @_;
    ($s->{state}, $s->{changed}) = ($state, time) unless $state eq 'seen';
    printf $ledger "%s %s %s %s %.3f %s\n", $s->{cookie}, $state, $s->{user}, $s->{sid} // '-',
        $at // time, node_name($s->{node});
    count('ledger: sessions unknown') if $state eq 'unknown';
}

# What happened to Redis since a time: '' (up all along), or why the
# nodes may disagree (the chaos keeps the state in files).
sub redis_since {
    my ($t) = @_;
    return 'Redis down' if -e "$site->{dir}/redis-down";
    open my $f, '<', "$site->{dir}/redis-back" or return '';
    my $back = <$f> // 0;
    return 'Redis killed since the change' if $back > $t;
    return 'Redis back less than 1 s ago' if time - $back < 1;
    return '';
}

# check(s, port): require_session on that node; a violation when it is the
# node where the session's state last changed and it disagrees, a count
# otherwise. Returns the response.
sub check {
    my ($s, $port) = @_;
    my $sent = time;
    my $res = on($port, 'require', 'GET', '/app', cookie_of($s)) or return;
    record($s, 'seen', $sent) if $res->{status} == 200;
    my $want = $s->{state} eq 'live' ? 200 : 401;
    my $where = $port == $s->{node} ? 'its node' : 'the other node';
    if ($res->{status} == $want) {
        count("cluster: $s->{state} checked on $where");
    } elsif ($port == $s->{node} || $res->{status} !~ /^(?:200|401)$/) {
        violation('ledger', "during: $s->{state} session of $s->{user} (cookie $s->{cookie}), "
                  . 'whose state changed on ' . node_name($s->{node}) . ': /app on '
                  . node_name($port) . " answered $res->{status}, not $want");
    } else {
        my $after = $sent - $s->{changed};
        my $redis = redis_since($s->{changed});
        count("cluster: $s->{state} session answered $res->{status} by the other node, "
              . ($redis ? "$redis"
                 : 'Redis up, ' . ($after < 0.1 ? 'within 0.1 s' : $after < 1 ? 'within 1 s' : '1 s or more')
                   . ' of the change'));
        sample('cross-node', sprintf '%.3f %s %s answered %s, %.3f s after the change on %s (%s)',
               $sent, node_name($port), $s->{state}, $res->{status}, $after,
               node_name($s->{node}), $s->{cookie});
    }
    return $res;
}

sub login {
    my ($user) = @_;
    my $node = any_node();
    my $res = on($node, 'login', 'GET', '/login?user=' . enc($user));
    if (!$res) {
        count('ledger: logins without response');
        return;
    }
    my $cookie = session_cookie($res);
    if ($res->{status} != 200 || !$cookie) {
        violation('ledger', "login of $user on " . node_name($node) . " answered $res->{status}"
                  . ($cookie ? '' : ' without a session cookie'));
        return;
    }
    my $s = { cookie => $cookie, user => $user, node => $node };
    record($s, 'live');
    $res = check($s, $node) or return $s;
    $s->{sid} = header_value($res, 'x-sid') if $res->{status} == 200;
    return $s;
}

# Joins on either node: checked on the node of the login; on the other
# one the session may not be in Redis yet (counted).
sub join_clients {
    my ($s) = @_;
    for (1 .. int rand 3) {
        my $id = (qw(app-a app-b bc-ok fc1 app1))[int rand 5];
        my $node = any_node();
        my $res = on($node, 'join', 'GET', "/authorize?client_id=$id", cookie_of($s)) or next;
        my $joined = $res->{status} == 200 && (header_value($res, 'x-client') // '') eq $id;
        if ($node == $s->{node}) {
            violation('ledger', "join of $id by $s->{user} on its node answered $res->{status}")
                unless $joined;
        } else {
            count('cluster: joins on the other node ' . ($joined ? 'that joined' : 'that found no session'));
        }
    }
}

# The ways to end a session on a node that knows it: each (s, node) ->
# whether the answer says it ended, undef when there was none.
my %logout = (
    auth0 => sub {
        my ($s, $node) = @_;
        my $res = on($node, 'logout auth0', 'GET',
                     '/v2/logout?' . query(returnTo => "$site->{issuer}/goodbye"), cookie_of($s))
            or return;
        return 1 if logout_answered($res);
        violation('ledger', "auth0 logout of $s->{user} on " . node_name($node) . " answered $res->{status}");
        return 0;
    },
    hint => sub {
        my ($s, $node) = @_;
        my $q = query(id_token_hint => hint($site, sub => $s->{user}, sid => $s->{sid}, aud => 'app1'),
                      post_logout_redirect_uri => "$site->{issuer}/app1/logged-out");
        my $res = on($node, 'logout hint', 'GET', "/logout?$q", cookie_of($s)) or return;
        return 1 if logout_answered($res);
        violation('ledger', "logout with a hint of $s->{user} on " . node_name($node)
                  . " answered $res->{status}: " . substr($res->{body} // '', 0, 200));
        return 0;
    },
    admin => sub {
        my ($s, $node) = @_;
        local $site->{port} = $node;
        my ($res, $doc) = operator($site, 'cluster admin end', 'DELETE', '/admin/sessions',
                                   "sid=$s->{sid}") or return;
        return 1 if $res->{status} == 200 && $doc && ($doc->{ended} // -1) == 1;
        violation('admin', "DELETE sid=$s->{sid} of a session " . node_name($node)
                  . " had just accepted answered $res->{status} $res->{body}, not {\"ended\":1}");
        return 0;
    },
    upstream => sub {
        my ($s, $node) = @_;
        local $site->{port} = $node;
        my ($res, $doc) = post_logout_token($site, 'cluster upstream logout',
                                            logout_token($site, sub => $s->{user})) or return;
        return 0 if keys_not_ready($res, $doc);
        return 1 if $res->{status} == 200;
        violation('upstream', "a valid logout token of $s->{user} on " . node_name($node)
                  . " answered $res->{status} $res->{body}");
        return 0;
    },
);
my @ways = sort keys %logout;

# Ends s on a node chosen by chance when that node accepts it at once, or
# on its own node.
sub end_session {
    my ($s) = @_;
    return unless $s->{sid};
    my $node = any_node();
    if ($node != $s->{node}) {
        my $res = check($s, $node);
        $node = $s->{node} unless $res && $res->{status} == 200;
    }
    my $way = $ways[int rand @ways];
    my $ended = $logout{$way}->($s, $node);
    if (!defined $ended) {
        record($s, 'unknown');
        return;
    }
    return unless $ended;
    my $same = $node == $s->{node} ? 'its login node' : 'the other node';
    $s->{node} = $node;
    record($s, 'ended');
    count("cluster: logouts by $way on $same");
    check($s, $node);
    check($s, other_node($node));
}

# run_cluster_client(site, k, deadline, ledger_file): one user agent.
sub run_cluster_client {
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
        if (@live && $r < 0.25) {
            my $s = splice(@live, int rand @live, 1);
            end_session($s);
            push @ended, $s;
        } elsif (@live && $r < 0.45) {
            check($live[int rand @live], any_node());
        } elsif (@ended && $r < 0.55) {
            check($ended[int rand @ended], any_node());
        } else {
            my $s = login("csoak-$k-" . $n++) or next;
            next unless $s->{sid};
            join_clients($s);
            check($s, other_node($s->{node}));
            push @live, $s;
        }
        splice(@ended, 0, @ended - 500) if @ended > 500;
    }
    close $ledger;
}

# run_cluster_chaos(deadline, start, nodes, kill_every, outages, dir):
# kill -9 of a random worker of a random node every 0 .. 2 * kill_every
# seconds, a reload of each node (at 35% and 70% of the run), and the
# outages: Redis killed with -9 at those fractions of the run, started
# again 1 to 3 s later on its data. Its pid is in dir/redis.pid.
sub run_cluster_chaos {
    my ($deadline, $start, $nodes, $kill_every, $outages, $dir) = @_;
    open my $killed, '>>', "$dir/killed" or die "$dir/killed: $!";
    $killed->autoflush(1);
    my $span = $deadline - $start;
    my @reloads = map { [$start + $span * $_->[0], $_->[1]] } [0.35, $nodes->[0]], [0.7, $nodes->[1]];
    my @kills = map { $start + $span * $_ } @$outages;
    my $back;
    my $next_kill = time + rand 2 * $kill_every;
    while (time < $deadline || $back) {
        my $now = time;
        if ($now >= $next_kill && $now < $deadline) {
            use_nginx_node($nodes->[int rand @$nodes]);
            kill_worker($killed);
            $next_kill = $now + rand 2 * $kill_every;
        }
        if (@reloads && $now >= $reloads[0][0]) {
            my (undef, $node) = @{ shift @reloads };
            use_nginx_node($node);
            if (signal_nginx('reload')) {
                count('chaos: reloads');
            } else {
                violation('nginx', "nginx -s reload of $node->{dir} failed");
            }
        }
        if (@kills && $now >= $kills[0] && !$back) {
            shift @kills;
            open my $down, '>', "$dir/redis-down" or die "$dir/redis-down: $!";
            close $down;
            kill_redis();
            count('chaos: redis killed (kill -9)');
            sample('cross-node', sprintf '%.3f redis killed', time);
            $back = $now + 1 + rand 2;
        }
        if ($back && $now >= $back) {
            my $pid = start_redis();
            open my $p, '>', "$dir/redis.pid" or die "$dir/redis.pid: $!";
            print $p "$pid\n";
            close $p;
            open my $b, '>', "$dir/redis-back.new" or die "$dir/redis-back.new: $!";
            printf $b "%.3f\n", time;
            close $b;
            rename "$dir/redis-back.new", "$dir/redis-back";
            unlink "$dir/redis-down";
            count('chaos: redis restarts');
            sample('cross-node', sprintf '%.3f redis started again', time);
            $back = undef;
        }
        sleep 0.05;    # pacing only
    }
    close $killed;
}

# final_cluster(site, sessions, bound, ledger_file): each session on both
# nodes, again and again until both agree with the ledger or the bound
# passes; what still disagrees then is a violation.
sub final_cluster {
    my ($s_site, $sessions, $bound, $file) = @_;
    $site = $s_site;
    open $ledger, '>>', $file or die "$file: $!";
    my $start = time;
    my @pending = map { my $s = $_; map { [$s, $_] } @{ $site->{nodes} } } @$sessions;
    my ($round, %last) = (0);
    while (@pending) {
        my @left;
        for my $p (@pending) {
            my ($s, $node) = @$p;
            my $res = on($node, 'final require', 'GET', '/app', cookie_of($s));
            my $want = $s->{state} eq 'live' ? 200 : 401;
            my $got = $res ? $res->{status} : 'no answer';
            if ($got eq $want) {
                count("ledger: $s->{state} checked (final)");
                count($round ? 'cluster: final checks that agreed after polling'
                             : 'cluster: final checks that agreed at once');
            } else {
                push @left, $p;
                $last{"$s->{cookie} $node"} = $got;
            }
        }
        @pending = @left;
        last if !@pending || time > $bound;
        $round++;
        sleep 0.5;    # pacing of the polls
    }
    count('cluster: final polling (ms)', int(1000 * (time - $start))) if $round;
    for my $p (@pending) {
        my ($s, $node) = @$p;
        violation('cluster', sprintf 'final: the %s session of %s (cookie %s, sid %s, its state '
                  . 'changed on %s): %s answered %s, not %s, %.0f s after the load stopped',
                  $s->{state}, $s->{user}, $s->{cookie}, $s->{sid} // '-', node_name($s->{node}),
                  node_name($node), $last{"$s->{cookie} $node"}, $s->{state} eq 'live' ? 200 : 401,
                  time - $start);
    }
    count('ledger: final checks', scalar @$sessions);
    close $ledger;
}

# check_redis_keys(prefix, sessions): every record (h:) names a session
# (s:) that names it back, and the other way round; no session both
# lives and has its mark (t:); every deadline (x) is a session's; every
# live session of the ledger is in Redis and no ended one is (the cookie
# of an ended session keeps an empty h:, which refuses it at once).
sub check_redis_keys {
    my ($prefix, $sessions) = @_;
    my %keys = map { $_ => 1 } redis_keys("$prefix*");
    my %record;
    my ($records, $emptied) = (0, 0);
    for my $key (grep { /^\Q$prefix\Eh:/ } keys %keys) {
        my $handle = substr($key, length("${prefix}h:"));
        my $rec = redis_command('GET', $key) // next;
        if ($rec eq '') {
            $emptied++;
            next;
        }
        $records++;
        $record{$handle} = 1;
        if (length $rec < 33 || substr($rec, 0, 1) ne 'S') {
            violation('redis', "$key holds no session record");
            next;
        }
        my $sid = encode_base64url(substr($rec, 17, 16));
        violation('redis', "$key: its record's handle is " . encode_base64url(substr($rec, 1, 16)))
            if encode_base64url(substr($rec, 1, 16)) ne $handle;
        my $back = redis_command('HGET', "${prefix}s:$sid", 'h');
        violation('redis', "$key: its session $sid has " . (defined $back ? "h $back" : 'no s: hash'))
            unless defined $back && $back eq $handle;
    }
    for my $key (grep { /^\Q$prefix\Es:/ } keys %keys) {
        my $sid = substr($key, length("${prefix}s:"));
        my $h = redis_command('HGET', $key, 'h');
        violation('redis', "$key has no record " . ($h // '(no h)')) unless defined $h && $record{$h};
        violation('redis', "$key lives, and $sid has its mark t:") if $keys{"${prefix}t:$sid"};
    }
    for my $sid (@{ redis_command('ZRANGE', "${prefix}x", 0, -1) || [] }) {
        violation('redis', "x holds $sid, which has no s: hash") unless $keys{"${prefix}s:$sid"};
    }
    for my $s (@$sessions) {
        my $in = $record{ $s->{cookie} };
        if ($s->{state} eq 'live' && !$in) {
            violation('redis', "the live session of $s->{user} (cookie $s->{cookie}) is not in Redis");
        } elsif ($s->{state} eq 'ended' && $in) {
            violation('redis', "the ended session of $s->{user} (cookie $s->{cookie}) is in Redis");
        } elsif ($s->{state} eq 'ended' && $s->{sid} && !$keys{"${prefix}t:$s->{sid}"}) {
            violation('redis', "the ended session $s->{sid} of $s->{user} has no mark t:");
        }
    }
    count('redis: session records checked', $records);
    count('redis: cookies of ended sessions (empty records)', $emptied);
    count('redis: keys', scalar keys %keys);
}

1;
