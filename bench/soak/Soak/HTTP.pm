package Soak::HTTP;

# A raw HTTP/1.x client for the soak: it sends bytes exactly as given
# (hostile ones included), reads what comes back within a deadline, and
# parses every response on the connection. No request can hang the soak:
# each exchange is bounded by its timeout.

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use Socket qw(SHUT_WR);
use Time::HiRes qw(alarm time);

our @EXPORT_OK = qw(exchange request header_value header_values);

# exchange(port, bytes, %opt): one connection. Options:
#   timeout    seconds for the whole exchange (default 15)
#   half_close shut the writing side once the bytes are sent (a truncated
#              body then reads as the end of the stream)
#   no_read    close at once after sending (the client goes away)
#   heads      array of booleans: which responses answer a HEAD request
# Returns (responses, error): the complete responses, then undef or why the
# stream ended early: "refused", "timeout", "closed" (the connection ended
# inside a response or before any), "reset".
sub exchange {
    my ($port, $bytes, %opt) = @_;
    my $timeout = $opt{timeout} // 15;
    my (@responses, $error);
    my $buf = '';
    my $eof = 0;
    my $ok = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $timeout;
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                      Proto => 'tcp')
            or do { $error = 'refused'; alarm 0; return 1 };
        binmode $s;
        my $off = 0;
        while ($off < length $bytes) {
            my $n = syswrite($s, $bytes, 65536, $off);
            last unless defined $n;    # nginx answered and closed early
            $off += $n;
        }
        if ($opt{no_read}) {
            close $s;
            alarm 0;
            return 1;
        }
        shutdown($s, SHUT_WR) if $opt{half_close};
        while (1) {
            my $n = sysread($s, $buf, 65536, length $buf);
            if (!defined $n) {
                $error = 'reset';
                last;
            }
            if ($n == 0) {
                $eof = 1;
                last;
            }
        }
        close $s;
        alarm 0;
        1;
    };
    alarm 0;
    if (!$ok) {
        die $@ unless $@ eq "timeout\n";
        $error = 'timeout';
    }
    return ([], $error) if $opt{no_read} || ($error && $error eq 'refused');

    my @heads = @{ $opt{heads} || [] };
    while (length $buf) {
        my ($res, $rest) = parse_response($buf, $eof && !$error, shift @heads);
        last unless $res;
        push @responses, $res;
        $buf = $rest;
    }
    $error //= 'closed' if length $buf || !@responses;
    return (\@responses, $error);
}

# request(port, method, target, %opt): a well-formed request and its
# response. Options: headers (array of [name, value]), body, cookie,
# timeout, http ("1.1" or "1.0"), host (undef: the default).
# Returns (response, undef), or (undef, why there was none).
sub request {
    my ($port, $method, $target, %opt) = @_;
    my $http = $opt{http} // '1.1';
    my $req = "$method $target HTTP/$http\r\n";
    $req .= 'Host: ' . ($opt{host} // "127.0.0.1:$port") . "\r\n";
    $req .= "Connection: close\r\n";
    $req .= "Cookie: $opt{cookie}\r\n" if defined $opt{cookie};
    $req .= "$_->[0]: $_->[1]\r\n" for @{ $opt{headers} || [] };
    if (defined $opt{body}) {
        $req .= "Content-Type: application/x-www-form-urlencoded\r\n"
            unless grep { lc $_->[0] eq 'content-type' } @{ $opt{headers} || [] };
        $req .= 'Content-Length: ' . length($opt{body}) . "\r\n";
    }
    $req .= "\r\n" . ($opt{body} // '');
    my ($responses, $error) = exchange($port, $req, timeout => $opt{timeout},
                                       heads => [$method eq 'HEAD']);
    return ($responses->[0], $responses->[0] ? undef : $error);
}

# One complete response at the start of buf, and what follows it; nothing
# when buf does not hold a complete one.
sub parse_response {
    my ($buf, $eof, $head) = @_;
    my $end = index($buf, "\r\n\r\n");
    return if $end < 0;
    my @lines = split /\r\n/, substr($buf, 0, $end);
    my $rest = substr($buf, $end + 4);
    my ($status, $reason) = (shift @lines) =~ m{^HTTP/\d\.\d (\d{3}) ?(.*)$}
        or return;
    my @headers;
    for (@lines) {
        if (/^[ \t]/ && @headers) {    # obsolete folding: never from nginx
            $headers[-1][1] .= $_;
            next;
        }
        my ($name, $value) = /^([^:]*):[ \t]*(.*?)[ \t]*$/ or do {
            push @headers, [$_, undef];    # not a header line
            next;
        };
        push @headers, [$name, $value];
    }
    my $res = { status => $status, reason => $reason, headers => \@headers };
    my $te = header_value($res, 'transfer-encoding') // '';
    my $cl = header_value($res, 'content-length');
    my $body;
    if ($head || $status =~ /^(1..|204|304)$/) {
        $body = '';
    } elsif ($te =~ /chunked/i) {
        ($body, $rest) = dechunk($rest);
        return unless defined $body;
    } elsif (defined $cl) {
        return if $cl !~ /^\d+$/ || length($rest) < $cl;
        $body = substr($rest, 0, $cl);
        $rest = substr($rest, $cl);
    } else {
        return unless $eof;    # ends with the connection
        ($body, $rest) = ($rest, '');
    }
    $res->{body} = $body;
    return ($res, $rest);
}

sub dechunk {
    my ($in) = @_;
    my $body = '';
    while (1) {
        $in =~ /\A([0-9A-Fa-f]+)[^\r\n]*\r\n/ or return;
        my $size = hex $1;
        my $at = $+[0];
        if ($size == 0) {
            my $trailer_end = index($in, "\r\n", $at);
            while ($trailer_end > $at) {    # trailer fields
                $at = $trailer_end + 2;
                $trailer_end = index($in, "\r\n", $at);
            }
            return if $trailer_end < 0;
            return ($body, substr($in, $trailer_end + 2));
        }
        return if length($in) < $at + $size + 2;
        $body .= substr($in, $at, $size);
        $in = substr($in, $at + $size + 2);
    }
}

sub header_values {
    my ($res, $name) = @_;
    return map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $res->{headers} };
}

sub header_value { (header_values(@_))[0] }

1;
