package Soak::Redis;

# The soak's own redis-server (appendonly, fsync at every write, its own
# folder), which it kills with -9 and starts again on the same data; and a
# small RESP client to read what Redis holds.

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(start_redis kill_redis redis_alive redis_command redis_keys);

my ($binary, $dir, $port, $pid);

# start_redis(binary, dir, port): a redis-server on 127.0.0.1:port with
# its data in dir, the first time or again after kill_redis; its pid once
# it answers PING, or dies saying why.
sub start_redis {
    ($binary, $dir, $port) = @_ if @_;
    mkdir $dir;
    $pid = fork() // die "fork: $!\n";
    if ($pid == 0) {
        open STDOUT, '>>', "$dir/redis.stdout" or die;
        open STDERR, '>&', \*STDOUT or die;
        exec $binary, '--port', $port, '--bind', '127.0.0.1', '--dir', $dir,
            '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
            '--protected-mode', 'no', '--daemonize', 'no', '--logfile', "$dir/redis.log"
            or die "exec $binary: $!\n";
    }
    my $deadline = time + 30;
    until ((eval { redis_command('PING') } // '') eq 'PONG') {
        die "redis-server exited at start (see $dir/redis.log)\n" if waitpid($pid, WNOHANG) == $pid;
        die "redis-server did not answer on $port within 30 s\n" if time > $deadline;
        sleep 0.05;
    }
    return $pid;
}

# kill -9 of the redis-server, waited for.
sub kill_redis {
    return unless $pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    $pid = undef;
}

sub redis_alive { defined $pid && kill 0, $pid }

sub read_reply {
    my ($s) = @_;
    my $line = <$s> // die "redis closed the connection\n";
    $line =~ s/\r\n\z//;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $type eq '+' || $type eq ':';
    die "redis: $rest\n" if $type eq '-';
    if ($type eq '$') {
        return undef if $rest < 0;
        my $data = '';
        while (length $data < $rest + 2) {
            read($s, $data, $rest + 2 - length $data, length $data) or die "redis: short read\n";
        }
        return substr($data, 0, $rest);
    }
    if ($type eq '*') {
        return undef if $rest < 0;
        return [map { read_reply($s) } 1 .. $rest];
    }
    die "redis: a reply of type \"$type\"\n";
}

# redis_command(args...): the reply (a string, undef, or an array ref);
# dies on an error or when Redis does not answer within 10 s.
sub redis_command {
    my @args = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10)
        or die "redis: cannot connect to $port: $!\n";
    binmode $s;
    $s->print(join '', '*' . @args . "\r\n", map { '$' . length($_) . "\r\n$_\r\n" } @args);
    my $reply = read_reply($s);
    close $s;
    return $reply;
}

# Every key that matches pattern.
sub redis_keys {
    my ($pattern) = @_;
    my ($cursor, @keys) = (0);
    do {
        my $r = redis_command('SCAN', $cursor, 'MATCH', $pattern, 'COUNT', 1000);
        ($cursor, my $batch) = @$r;
        push @keys, @$batch;
    } while ($cursor ne '0');
    return @keys;
}

1;
