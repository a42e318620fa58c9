package Soak::Logs;

# What nginx wrote: the error log (the workers' stderr goes there too) and
# the master's and "nginx -s"'s own output. Anything that says a process
# crashed, an [alert], [crit] or [emerg], a sanitizer report or a full zone
# is a failure, except what the soak's own kills explain: "worker process
# PID exited on signal 9" and "shared memory zone ... was locked by PID"
# for a PID it killed.

use strict;
use warnings;

use Exporter 'import';

our @EXPORT_OK = qw(scan_logs);

# scan_logs(killed, files): {levels => {level => lines}, kills_seen,
# locks_seen, zone_repairs, failures => [line, ...], tagged => {tag =>
# [level, ...]}: the levels of the "oidc_logout:" lines of each request
# the soak tagged (Soak::Operators), drops => lines of tokens dropped
# from a full outbox, given_up => lines of tokens given up}.
sub scan_logs {
    my ($killed, @files) = @_;
    my %r = (levels => {}, kills_seen => 0, locks_seen => 0, zone_repairs => 0,
             failures => [], tagged => {}, drops => 0, given_up => 0);
    for my $file (@files) {
        open my $f, '<', $file or next;
        while (my $line = <$f>) {
            chomp $line;
            my ($level) = $line =~ /^\S+ \S+ \[(\w+)\]/;
            $r{levels}{$level}++ if $level;
            if ($level && $line =~ /oidc_logout: / && $line =~ /(soakt-[a-z0-9]+n\d+x)/) {
                push @{ $r{tagged}{$1} }, $level;
            }
            $r{drops}++ if $line =~ /oidc_logout: zone "[^"]*" dropped the logout tokens/;
            $r{given_up}++ if $line =~ /oidc_logout: zone "[^"]*" gave up the logout tokens/;
            $r{zone_repairs}++ if $line =~ /oidc_logout: zone .* (?:undid|rebuilt|was damaged)/;
            if ($line =~ /==\d+==ERROR: AddressSanitizer|\S+:\d+(?::\d+)?: runtime error: /) {
                push @{ $r{failures} }, "sanitizer: $line";
            } elsif ($line =~ /\b(\d+) exited on signal (\d+)/) {
                if ($2 == 9 && $killed->{$1} && $line !~ /core dumped/) {
                    $r{kills_seen}++;
                } else {
                    push @{ $r{failures} }, "crash: $line";
                }
            } elsif ($line =~ /core dumped/) {
                push @{ $r{failures} }, "crash: $line";
            } elsif ($line =~ /shared memory zone "[^"]*" was locked by (\d+)/
                     && $killed->{$1}) {
                $r{locks_seen}++;
            } elsif ($line =~ /\[(?:alert|crit|emerg)\]/) {
                push @{ $r{failures} }, "log: $line";
            } elsif ($line =~ /oidc_logout: zone "[^"]*" is full/) {
                push @{ $r{failures} }, "zone full (the ledger needs a zone that never fills): $line";
            }
        }
    }
    return \%r;
}

1;
