package Peers;

# The processes that suites start next to nginx (a provider, relying
# parties, a browser): each in a process group of its own, its output in a
# log, waited for until it listens, and stopped with its whole group when
# the script ends, whatever happens. Also the Apache relying party of
# t/interop/apache_rp.conf, and small file helpers.

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

our @EXPORT = qw(spawn stop_peer kill_peer wait_listening listening slurp tail write_file
                 poll start_apache_rp);

my %child;       # name => pid, each the leader of its own process group
my $parent = $$; # forked children (nginx's starter) must not stop the peers

sub listening {
    my ($port) = @_;
    return IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1);
}

sub slurp {
    my ($file) = @_;
    open my $f, '<', $file or return '';
    local $/;
    return scalar <$f>;
}

# the last 30 lines of a log, for a diagnostic
sub tail {
    my ($file) = @_;
    my @lines = split /\n/, slurp($file);
    return join "\n", "--- $file:", @lines > 30 ? @lines[-30 .. -1] : @lines;
}

sub write_file {
    my ($file, $text, $mode) = @_;
    open my $f, '>', $file or die "$file: $!";
    print $f $text;
    close $f or die "$file: $!";
    chmod $mode // 0644, $file;
}

# Polls read->() until its text matches re or seconds (10) have passed;
# returns the text.
sub poll {
    my ($read, $re, $seconds) = @_;
    my $deadline = time + ($seconds // 10);
    my $text = $read->();
    until ($text =~ $re || time > $deadline) {
        sleep 0.05;
        $text = $read->();
    }
    return $text;
}

# Starts a command in a process group of its own, output to log, with
# extra environment.
sub spawn {
    my ($name, $log, $env, @cmd) = @_;
    my $pid = fork() // BAIL_OUT("fork: $!");
    if ($pid == 0) {
        setpgrp(0, 0);
        @ENV{ keys %$env } = values %$env;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or POSIX::_exit(126);    # a restart appends
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }
    setpgrp($pid, $pid);    # the child does the same: no race either way
    $child{$name} = $pid;
}

sub stop_peer {
    my ($name) = @_;
    my $pid = delete $child{$name} or return;
    kill 'TERM', -$pid;
    my $deadline = time + 10;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) { kill 'KILL', -$pid; waitpid($pid, 0); last }
        sleep 0.05;
    }
    kill 'KILL', -$pid;    # whatever of the group is left (Apache's children)
}

# Kills a peer at once, as a crash would (SIGKILL to its group), and reaps
# it.
sub kill_peer {
    my ($name) = @_;
    my $pid = delete $child{$name} or return;
    kill 'KILL', -$pid;
    waitpid($pid, 0);
}

# Polls until the port accepts connections; a process that exits or never
# listens stops the run with its logs.
sub wait_listening {
    my ($name, $port, @logs) = @_;
    my $deadline = time + 20;
    until (listening($port)) {
        my $gone = waitpid($child{$name}, WNOHANG) != 0;
        if ($gone || time > $deadline) {
            delete $child{$name} if $gone;
            diag(tail($_)) for @logs;
            BAIL_OUT("$name " . ($gone ? 'exited with status ' . ($? >> 8) : 'never listened')
                     . " on $port: see its log above");
        }
        sleep 0.05;
    }
}

# Apache httpd with mod_auth_openidc from t/interop/apache_rp.conf, in
# root: port, issuer, client_id (its secret is "<client_id>-secret"),
# pages (path under htdocs => content). Returns its error log.
sub start_apache_rp {
    my (%o) = @_;
    my $binary  = $ENV{APACHE2_BINARY} // '/usr/sbin/apache2';
    my $modules = '/usr/lib/apache2/modules';
    -x $binary
        or BAIL_OUT("$binary is missing: run ./build.sh test, which installs apache2");
    -f "$modules/mod_auth_openidc.so"
        or BAIL_OUT('mod_auth_openidc is missing: run ./build.sh test, which installs'
                    . ' libapache2-mod-auth-openidc');
    my $root = $o{root};
    make_path("$root/run", "$root/logs", "$root/htdocs");
    for my $page (sort keys %{ $o{pages} }) {
        (my $dir = "$root/htdocs/$page") =~ s{/[^/]*$}{};
        make_path($dir);
        write_file("$root/htdocs/$page", $o{pages}{$page});
    }
    # the children run as www-data when started as root
    system('chmod', '-R', 'a+rX', $root) == 0 or BAIL_OUT("chmod $root failed");
    my ($user, $group) = $> == 0 ? ('www-data', 'www-data')
                                 : (scalar getpwuid($>), scalar getgrgid($) + 0));
    my %fill = (ROOT => $root, MODULES => $modules, PORT => $o{port},
                USER => $user, GROUP => $group, ISSUER => $o{issuer},
                CLIENT_ID => $o{client_id}, CLIENT_SECRET => "$o{client_id}-secret");
    my $template = "$o{interop}/apache_rp.conf";
    my $conf = slurp($template) or BAIL_OUT("cannot read $template");
    $conf =~ s/\@([A-Z_]+)\@/$fill{$1} \/\/ BAIL_OUT("apache_rp.conf: unknown placeholder \@$1\@")/ge;
    write_file("$root/httpd.conf", $conf);
    spawn($o{name}, "$root/logs/stdout.log", {}, $binary, '-f', "$root/httpd.conf",
          '-DFOREGROUND');
    wait_listening($o{name}, $o{port}, "$root/logs/stdout.log", "$root/logs/error.log");
    return "$root/logs/error.log";
}

END {
    return unless $$ == $parent;
    local $?;
    stop_peer($_) for sort keys %child;
}

1;
