package Soak::Traffic;

# Every request of the soak goes through here: it is counted by kind, its
# responses by status, and each response is checked (Soak::Check).

use strict;
use warnings;

use Exporter 'import';
use Soak::Check qw(check_response);
use Soak::HTTP qw(exchange header_values request);
use Soak::Stats qw(count sample);

our @EXPORT_OK = qw(send_raw send_request session_cookie);

sub note_responses {
    my ($site, $kind, $what, $responses, $error, $expected) = @_;
    my ($group) = $kind =~ /^(\S+)/;
    for my $res (@$responses) {
        count("status: $res->{status}");
        if ($res->{status} =~ /^5/) {
            count("5xx: $res->{status} to $kind");
            sample('5xx', "$kind: $res->{status} for $what");
        }
        check_response($site, "$kind ($what)", $res);
    }
    count("no response: $error ($group)") if $error && @$responses < $expected;
}

sub first_line {
    my ($bytes) = @_;
    my ($line) = $bytes =~ /\A([^\r\n]{0,200})/;
    return $line // '';
}

# send_raw(site, kind, bytes, %opt): hostile bytes on one connection
# (options of Soak::HTTP::exchange, and expect: how many responses a
# complete answer has, 1 by default).
sub send_raw {
    my ($site, $kind, $bytes, %opt) = @_;
    my $expected = delete $opt{expect} // 1;
    count("requests: $kind");
    my ($responses, $error) = exchange($site->{port}, $bytes, %opt);
    if ($opt{no_read}) {
        count('no response: not read, the client went away (fuzz)');
        return ([], undef);
    }
    note_responses($site, $kind, first_line($bytes), $responses, $error, $expected);
    return ($responses, $error);
}

# send_request(site, kind, method, target, %opt): a well-formed request
# (options of Soak::HTTP::request); (response, undef) or (undef, error).
sub send_request {
    my ($site, $kind, $method, $target, %opt) = @_;
    count("requests: $kind");
    my ($res, $error) = request($site->{port}, $method, $target, %opt);
    note_responses($site, $kind, "$method $target", $res ? [$res] : [], $error, 1);
    return ($res, $error);
}

# session_cookie(response, name): the session cookie it sets (name
# oidc_session by default), if any.
sub session_cookie {
    my ($res, $name) = @_;
    return unless $res;
    $name //= 'oidc_session';
    for (header_values($res, 'set-cookie')) {
        return $1 if /^\Q$name\E=([^;]+)/;
    }
    return;
}

1;
