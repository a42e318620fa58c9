package Soak::Children;

# The soak's processes: each part of the load runs in a child that saves
# its counters when it ends (Soak::Stats); the driver waits for them all
# within a bound, and kills the late ones.

use strict;
use warnings;

use Exporter 'import';
use POSIX qw(WNOHANG _exit);
use Soak::Stats qw(save_stats stats_init violation);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(children_init spawn reap);

my ($dir, $seed, $spawned, %children);

# children_init(dir, seed): where the children save their counters, and
# the seed their random choices derive from.
sub children_init { ($dir, $seed) = @_; $spawned = 0; %children = () }

# spawn(name, code): a child that runs code, saves its counters and exits.
sub spawn {
    my ($name, $code) = @_;
    $spawned++;
    my $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        srand($seed + $spawned);
        stats_init($dir, $name);
        my $ok = eval { $code->(); 1 };
        violation('soak', "$name died: $@") unless $ok;
        save_stats();
        _exit($ok ? 0 : 1);
    }
    $children{$pid} = $name;
}

# reap(bound): waits for every child until the bound; the late ones are
# killed. Returns the names of those.
sub reap {
    my ($bound) = @_;
    my @late;
    while (%children) {
        for my $pid (keys %children) {
            delete $children{$pid} if waitpid($pid, WNOHANG) == $pid;
        }
        last unless %children;
        if (time > $bound) {
            @late = sort values %children;
            kill 'KILL', keys %children;
            waitpid($_, 0) for keys %children;
            %children = ();
            last;
        }
        sleep 0.1;
    }
    return @late;
}

1;
