package Soak::Nginx;

# The soak's nginx: started as a child (daemon off, master on), its workers
# found by their parent, signalled with "nginx -s", and the chaos that
# runs beside the traffic: kill -9 of a random worker at random intervals
# (each pid written down before it is killed), and reloads.

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Soak::Stats qw(count violation);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(start_nginx master_alive workers signal_nginx stop_nginx run_chaos
                    nginx_node use_nginx_node kill_worker);

my ($binary, $dir, $master);

sub args { ('-p', "$dir/", '-c', "$dir/nginx.conf", '-e', "$dir/error.log") }

# More than one nginx (the nodes of a cluster): nginx_node() is the one
# the functions below act on, use_nginx_node(node) makes another the one.
sub nginx_node { { binary => $binary, dir => $dir, master => $master } }
sub use_nginx_node { ($binary, $dir, $master) = @{ $_[0] }{qw(binary dir master)} }

# start_nginx(binary, dir, port): the master's pid once the port answers,
# or dies saying why.
sub start_nginx {
    ($binary, $dir, my $port) = @_;
    die "something listens on 127.0.0.1:$port already\n"
        if IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1);
    $master = fork() // die "fork: $!\n";
    if ($master == 0) {
        open STDOUT, '>>', "$dir/nginx.stderr" or die;
        open STDERR, '>>', "$dir/nginx.stderr" or die;
        exec $binary, args() or die "exec $binary: $!\n";
    }
    my $deadline = time + 30;
    until (IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1)) {
        die "nginx exited at start (see $dir/nginx.stderr and $dir/error.log)\n"
            if waitpid($master, WNOHANG) == $master;
        die "nginx did not listen on $port within 30 s\n" if time > $deadline;
        sleep 0.05;
    }
    return $master;
}

# Whether the master runs (a zombie does not): from any soak process.
sub master_alive {
    open my $stat, '<', "/proc/$master/stat" or return 0;
    my ($state) = (<$stat> // '') =~ /\) (\S)/;
    return defined $state && $state ne 'Z';
}

# The worker processes of the master (those of an older configuration,
# still shutting down, included).
sub workers {
    my @pids;
    opendir my $proc, '/proc' or return;
    for my $pid (grep { /^\d+$/ } readdir $proc) {
        open my $stat, '<', "/proc/$pid/stat" or next;
        my ($ppid) = (<$stat> // '') =~ /\) \S (\d+)/ or next;
        next unless $ppid == $master;
        open my $cmd, '<', "/proc/$pid/cmdline" or next;
        push @pids, $pid if (<$cmd> // '') =~ /worker process/;
    }
    return @pids;
}

# signal_nginx(signal): "nginx -s signal" with the soak's configuration;
# true when it succeeded within 30 s. Its output goes to nginx.stderr,
# which is searched for sanitizer reports like the error log.
sub signal_nginx {
    my ($signal) = @_;
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        open STDOUT, '>>', "$dir/nginx.stderr" or die;
        open STDERR, '>>', "$dir/nginx.stderr" or die;
        exec $binary, args(), '-s', $signal or die "exec $binary: $!\n";
    }
    my $deadline = time + 30;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            return 0;
        }
        sleep 0.01;
    }
    return $? == 0;
}

# stop_nginx(seconds): "nginx -s quit", then waits for the master to exit;
# true when it did in time. Otherwise it is killed.
sub stop_nginx {
    my ($seconds) = @_;
    return 0 unless $master;
    my $ok = signal_nginx('quit');
    my $deadline = time + $seconds;
    while (waitpid($master, WNOHANG) == 0) {
        if (time > $deadline) {
            my @w = workers();
            kill 'KILL', $master, @w;
            waitpid($master, 0);
            $master = undef;
            return 0;
        }
        sleep 0.05;
    }
    $master = undef;
    return $ok;
}

# kill_worker(file): kill -9 of a random worker, its pid written to the
# file first.
sub kill_worker {
    my ($killed) = @_;
    my @w = workers() or return;
    my $victim = $w[int rand @w];
    print $killed "$victim\n";
    kill 'KILL', $victim;
    count('chaos: kills');
}

# run_chaos(deadline, kill_every, reload_every): until the deadline, kills
# a random worker every 0 .. 2 * kill_every seconds and reloads every
# reload_every / 2 .. 3 * reload_every / 2 seconds (one reload half-way at
# the latest). Writes each pid to "killed" before killing it.
sub run_chaos {
    my ($deadline, $kill_every, $reload_every, $start) = @_;
    open my $killed, '>>', "$dir/killed" or die "$dir/killed: $!";
    $killed->autoflush(1);
    my $next_kill = time + rand 2 * $kill_every;
    my $next_reload = time + $reload_every / 2 + rand $reload_every;
    my $half = $start + ($deadline - $start) / 2;
    $next_reload = $half if $next_reload > $half;
    while (time < $deadline) {
        if (!master_alive()) {
            violation('nginx', 'the master process is gone');
            last;
        }
        my $now = time;
        if ($now >= $next_kill) {
            kill_worker($killed);
            $next_kill = $now + rand 2 * $kill_every;
        }
        if ($now >= $next_reload) {
            if (signal_nginx('reload')) {
                count('chaos: reloads');
            } else {
                violation('nginx', "nginx -s reload failed (see $dir/nginx.stderr)");
            }
            $next_reload = $now + $reload_every / 2 + rand $reload_every;
        }
        my $wake = $next_kill < $next_reload ? $next_kill : $next_reload;
        $wake = $deadline if $wake > $deadline;
        sleep $wake - time if $wake > time;    # pacing only
    }
    close $killed;
}

1;
