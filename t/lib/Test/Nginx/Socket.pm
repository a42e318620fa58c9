package Test::Nginx::Socket;

use strict;
use warnings;

# Subclassing Test::Base (lower-case -base: no source filter) gives the .t
# files the same block syntax, filters (eval, chomp, ...), ONLY/SKIP/LAST,
# blocks(), plan() and Test::More functions as upstream.
use Test::Base -base;

our $VERSION = '0.33';

use Digest::MD5 ();
use Digest::SHA ();
use Encode ();
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use List::Util qw(min);
use POSIX qw(EAGAIN EINTR EWOULDBLOCK);
use Time::HiRes qw(sleep time);

use Test::Nginx::Util;

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location use_hup
    server_name server_addr server_root html_dir server_port
    server_port_for_client timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_test_cleanup_handler
    add_cleanup_handler add_response_body_check
);

our @ResponseBodyChecks;
our $TotalConnectingFailures = 0;

$Test::Nginx::Util::RunTestHelper = \&run_test_helper;
$Test::Nginx::Util::CheckErrorLog = \&check_error_log;

sub add_response_body_check ($) { push @ResponseBodyChecks, shift }
sub set_http_config_filter ($)   { $Test::Nginx::Util::FilterHttpConfig = shift }

# ---------------------------------------------------------------------------
# Building requests
# ---------------------------------------------------------------------------

# "--- more_headers": one "Name: value" per line, '#' lines ignored.
# Returns the CRLF-terminated header text and whether the request body is
# sent chunked.
sub format_more_headers ($) {
    my $text = shift;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $text) {
        next if $line =~ /^\s*#/;
        my ($k, $v) = split /:\s*/, $line, 2;
        $v //= '';
        $chunked = 1 if lc($k) eq 'transfer-encoding' && $v eq 'chunked';
        $out .= "$k: $v\r\n";
    }
    return ($out, $chunked);
}

# Turns "METHOD [URI [VERSION]]\n[body]" into a complete HTTP request:
# URI defaults to "/", VERSION to HTTP/1.1; Host and Connection headers are
# added unless given in more_headers, and a non-chunked body is trimmed and
# gets a Content-Length unless one was supplied.
sub build_request ($$$) {
    my ($name, $request, $more_headers) = @_;
    my ($headers, $chunked) = format_more_headers($more_headers);

    $request //= '';
    my ($first, $body) = $request =~ /\A([^\n]*\n?)(.*)\z/s;
    bail_out("$name - Request line should be non-empty") if $first eq '';
    $first =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or bail_out("$name - Request line is not valid. Should be "
                    . "'meth [url [version]]' but got \"$first\".");
    my ($method, $uri, $version) = ($1, $2 // '/', $3 // 'HTTP/1.1');

    my $len_header = '';
    if (!$chunked && $body ne '' && $headers !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^\s+|\s+$//g;
        $len_header = "Content-Length: " . length($body) . "\r\n";
    }

    my $std = '';
    $std .= "Host: $Test::Nginx::Util::ServerName\r\n"
        unless $headers =~ /(?:^|\n)Host:/i;
    $std .= "Connection: close\r\n"
        unless $headers =~ /(?:^|\n)Connection/i;

    return "$method $uri $version\r\n$std$headers$len_header\r\n$body";
}

# List of raw requests for a block (several when "--- request eval" yields
# an array of requests).
sub requests_from_block ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        # an array of raw packets is sent piece by piece
        return [ref $raw eq 'ARRAY' ? [@$raw] : [$raw]];
    }

    my $request = $block->request;
    if (defined(my $code = $block->request_eval)) {
        # deprecated upstream form of "--- request eval"
        $request = eval $code;
        warn $@ if $@;
    } elsif (defined $request && !ref $request) {
        # drop leading blank lines and '#' comment lines
        1 while $request =~ s/^\s*#[^\n]+\s+|^\s+//gs;
    }
    my $more = $block->more_headers // '';
    my @reqs = ref $request eq 'ARRAY' ? @$request : ($request);

    my @out;
    for my $i (0 .. $#reqs) {
        my $hdrs = $more;
        if (ref $more eq 'ARRAY') {
            $hdrs = $more->[$i];
            bail_out("--- more_headers lacks data for the request $i")
                unless defined $hdrs;
        }
        bail_out("$name - requests given as packet arrays are not "
                 . "supported by the bundled Test::Nginx runner")
            if ref $reqs[$i];
        push @out, [build_request($name, $reqs[$i], $hdrs)];
    }
    return \@out;
}

# ---------------------------------------------------------------------------
# Sending requests
# ---------------------------------------------------------------------------

sub connect_server ($$) {
    my ($block, $timeout) = @_;
    my $name = $block->name;
    my $addr = $block->server_addr_for_client // $Test::Nginx::Util::ServerAddr;
    my $port = $Test::Nginx::Util::ServerPortForClient;

    # nginx is listening once it has daemonized, so retries only matter in
    # unusual situations; bounded to a few seconds.
    my $deadline = time + 5;
    my $step = 0.005;
    while (1) {
        my $sock = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port,
                                         Proto => 'tcp', Timeout => $timeout);
        return $sock if $sock;
        my $err = $!;
        if (time >= $deadline) {
            my $msg = "$name - Can't connect to $addr:$port: $err (aborted)\n";
            bail_out($msg) if ++$TotalConnectingFailures >= 3;
            Test::More->builder->no_ending(1);
            Test::More::fail($msg);
            return undef;
        }
        sleep $step;
        $step *= 2 if $step < 0.2;
    }
}

# Sends the request pieces and reads until the server closes the
# connection.  A gap of $timeout seconds without progress fails the test
# (unless the block has "--- abort").
sub send_request ($$$) {
    my ($block, $pieces, $timeout) = @_;
    my $name = $block->name;

    my $sock = connect_server($block, $timeout) or return undef;
    $sock->blocking(0);

    my @todo = @$pieces;
    my $buf = shift @todo;
    my $off = 0;
    my $resp = '';
    my $writing = 1;
    my $sel = IO::Select->new($sock);

    # a server closing early must not kill us with SIGPIPE
    local $SIG{PIPE} = 'IGNORE';

    while (1) {
        $! = 0;
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef,
                                         undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            if (!defined $block->abort) {
                Test::More->builder->no_ending(1);
                Test::More::fail("ERROR: client socket timed out - $name\n");
            }
            last;
        }

        if ($w && @$w) {
            my $n = syswrite($sock, $buf, length($buf) - $off, $off);
            if (!defined $n) {
                if ($! != EAGAIN && $! != EWOULDBLOCK) {
                    warn "write failed: $!\n";
                    $resp ||= "write failed: $!";
                    last;
                }
            } else {
                $off += $n;
                while ($off >= length $buf) {
                    if (!@todo) {
                        $writing = 0;
                        if (defined(my $how = $block->shutdown)) {
                            shutdown($sock, $how =~ /^\s*$/ ? 1 : $how);
                        }
                        last;
                    }
                    my $delay = $block->raw_request_middle_delay;
                    sleep $delay if $delay;
                    ($buf, $off) = (shift(@todo), 0);
                }
            }
        }

        if ($r && @$r) {
            my $n = sysread($sock, my $chunk, 65536);
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                warn "WARNING: $name - HTTP response read failure: $!";
                last;
            }
            last if $n == 0;    # server closed the connection
            $resp .= $chunk;
        }
    }
    close $sock;
    return $resp;
}

# ---------------------------------------------------------------------------
# Parsing responses
# ---------------------------------------------------------------------------

# Splits a raw response into a Test::Nginx::Socket::Response, the raw
# header text (status line and headers, each CRLF-terminated) and any bytes
# left after the body.  Decodes chunked bodies and cuts at Content-Length.
sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /\A(.*?\r\n)\r\n/s ? $1 : '';

    my $str = $raw;
    my $status_line = $str =~ s/^(.*)\n// ? $1 : do { my $s = $str; $str = ''; $s };
    $status_line =~ s/\r\z//;
    my (@hdrs, $code);
    while (1) {
        if ($str =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            push @hdrs, [$1, $2];
            $hdrs[-1][1] =~ s/\r\z//;
        } elsif (@hdrs && $str =~ s/^([ \t].*)\n?//) {
            $hdrs[-1][1] .= "\n$1";
            $hdrs[-1][1] =~ s/\r\z//;
        } else {
            $str =~ s/^\r?\n//;
            last;
        }
    }
    if ($status_line =~ /^\d{3} /) {
        ($code) = split ' ', $status_line, 2;
    } else {
        (undef, $code) = split ' ', $status_line, 3;
    }
    $code = undef if defined $code && $code !~ /^\d+$/;

    my $res = Test::Nginx::Socket::Response->new($code, \@hdrs, $str);
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $left;
    my $te = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');
    if (defined $te && $te eq 'chunked') {
        my $body = '';
        pos($str) = 0;
        while (1) {
            if ($str =~ /\G[ \t]*([0-9A-Fa-f]+)[ \t]*\r\n/gc) {
                my $size = hex $1;
                if ($size == 0) {
                    # trailer fields, then the final CRLF
                    1 while $str =~ /\G[^\r\n]+\r\n/gc;
                    if ($str !~ /\G\r\n/gc) {
                        return chunk_error($name, "expected CRLF");
                    }
                    $left = substr($str, pos $str)
                        if pos($str) < length $str;
                    last;
                }
                if (length($str) - pos($str) < $size) {
                    return chunk_error($name, "not enought octets for the "
                                       . "data section");
                }
                $body .= substr($str, pos($str), $size);
                pos($str) += $size;
                return chunk_error($name, "expected CRLF")
                    unless $str =~ /\G\r\n/gc;
            } elsif ($str =~ /\G(.+)/gcs) {
                Test::More->builder->no_ending(1);
                Test::More::fail("$name - invalid chunked body received: $1");
                return;
            } else {
                Test::More->builder->no_ending(1);
                Test::More::fail("$name - no last chunk found - $str");
                return;
            }
        }
        $res->content($body);
    } elsif (defined $len && $len ne '' && $len >= 0) {
        if (length $str < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got ", length $str, "\n" unless $head_req;
        } elsif (length $str > $len) {
            $left = substr $str, $len;
            $res->content(substr $str, 0, $len);
        }
    }
    return ($res, $raw_headers, $left);
}

sub chunk_error ($$) {
    my ($name, $what) = @_;
    Test::More->builder->no_ending(1);
    Test::More::fail("$name - invalid chunked data received ($what).");
    return;
}

# ---------------------------------------------------------------------------
# Assertions
# ---------------------------------------------------------------------------

# Expected values are per request when a block sends several requests.
sub indexed ($$$$) {
    my ($name, $value, $idx, $need_array) = @_;
    my $is_array = ref $value && ref $value eq 'ARRAY';
    if ($need_array) {
        return $value->[$idx] if $is_array;
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }
    return $is_array ? $value->[0] : $value;
}

sub check_error_code ($$$$) {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $pat = indexed($name, $block->error_code_like, $idx, $need_array);
        Test::More::like($got, qr/$pat/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        Test::More::is($got, indexed($name, $block->error_code, $idx,
                                     $need_array), "$name - status code ok");
    } else {
        Test::More::is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;
    if (defined $block->raw_response_headers_like) {
        my $pat = indexed($name, $block->raw_response_headers_like, $idx,
                          $need_array);
        Test::More::like($raw_headers, qr/$pat/s,
                         "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $pat = indexed($name, $block->raw_response_headers_unlike, $idx,
                          $need_array);
        Test::More::unlike($raw_headers, qr/$pat/s,
                           "$name - raw resp headers unlike");
    }
}

sub substitute_ports ($) {
    my $s = shift;
    $s =~ s/\$ServerPort\b/$Test::Nginx::Util::ServerPort/g;
    $s =~ s/\$ServerPortForClient\b/$Test::Nginx::Util::ServerPortForClient/g;
    return $s;
}

# "--- response_headers": "Name: value" compares exactly (a missing header
# counts as ""), "!Name" asserts the header is not sent at all.
# "--- response_headers_like" (only used without response_headers) matches
# each value against an anchored regex.
sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my $hdrs = parse_headers(indexed($name, $block->response_headers,
                                         $idx, $need_array));
        for my $key (sort keys %$hdrs) {
            my $val = $hdrs->{$key};
            if (!defined $val) {
                Test::More::unlike($raw_headers // '', qr/^\s*\Q$key\E\s*:/m,
                    "$name - header $key not present in the raw headers");
                next;
            }
            my $got = $res ? $res->header($key) : undef;
            Test::More::is($got // '', substitute_ports($val),
                           "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my $hdrs = parse_headers(indexed($name, $block->response_headers_like,
                                         $idx, $need_array));
        for my $key (sort keys %$hdrs) {
            my $val = $hdrs->{$key} // '';
            my $got = $res ? $res->header($key) : undef;
            Test::More::like($got // '', qr/^$val$/,
                             "$name - header $key like ok");
        }
    }
}

sub run_body_filter ($$$) {
    my ($name, $filter, $content) = @_;
    return $filter->($content) if ref $filter eq 'CODE';
    bail_out("$name - the --- response_body_filters section only supports "
             . "subroutine reference values and string values") if ref $filter;
    my %builtin = (
        md5_hex  => \&Digest::MD5::md5_hex,
        sha1_hex => \&Digest::SHA::sha1_hex,
        uc       => sub { uc $_[0] },
        lc       => sub { lc $_[0] },
        ucfirst  => sub { ucfirst $_[0] },
        lcfirst  => sub { lcfirst $_[0] },
        length   => sub { length $_[0] },
    );
    my $f = $builtin{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the "
                    . "--- response_body_filters section");
    return $f->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $idx) = @_;
    my $filters = $block->response_body_filters;
    return unless defined $res && defined $res->content && defined $filters;
    my $name = $block->name;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//g;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }
    if (ref $filters->[0] eq 'ARRAY') {    # one filter list per request
        $filters = $filters->[$idx];
        bail_out("$name - the ---response_body_filters two-dimensional "
                 . "array unmatch the specified request($idx)")
            unless defined $filters;
    }
    my $content = $res->content;
    for my $f (ref $filters eq 'ARRAY' ? @$filters : ($filters)) {
        $content = run_body_filter($name, $f, $content);
    }
    $res->content($content);
}

sub check_response_body ($$$$$) {
    my ($block, $res, $idx, $rep_idx, $need_array) = @_;
    my $name = $block->name;

    if (defined(my $file = $block->write_resp_body_file)) {
        if ($res) {
            open my $out, '>', $file
                or bail_out("$name - failed to write to file '$file': $!");
            print $out $res->content // '';
            close $out;
        }
    }

    my $content = $res ? $res->content : undef;

    if (defined $block->response_body || defined $block->response_body_eval) {
        if (defined $block->response_body_json_sort && defined $content) {
            my $js = JSON::PP->new->canonical(1);
            my $obj = eval { $js->loose(1)->decode($content) };
            $content = $js->encode($obj) . "\n" unless $@;
        }

        my $expected;
        if ($block->response_body_eval) {
            $expected = eval indexed($name, $block->response_body_eval, $idx,
                                     $need_array);
            warn $@ if $@;
        } else {
            $expected = indexed($name, $block->response_body, $idx,
                                $need_array);
        }
        Encode::from_to($expected, 'UTF-8', $block->charset)
            if $block->charset;
        if (defined $expected && !ref $expected) {
            $expected = expand_env_in_text(substitute_ports($expected), $name,
                                           $Test::Nginx::Util::RandPorts);
        }

        my $desc = "repeated req $rep_idx, req $idx";
        if (ref $expected) {
            Test::More::like($content, $expected,
                             "$name - response_body - like ($desc)");
        } else {
            Test::More::is($content, $expected,
                "$name - response_body - response is expected ($desc)");
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $like = defined $block->response_body_like;
        my $type = $like ? 'like' : 'unlike';
        my $pat = indexed($name, $like ? $block->response_body_like
                                       : $block->response_body_unlike,
                          $idx, $need_array);
        $pat = substitute_ports($pat);
        my $summary = trim($content) // '';
        my $desc = "$name - response_body_$type - response is expected "
                 . "($summary)";
        if ($like) {
            Test::More::like($content, qr/$pat/s, $desc);
        } else {
            Test::More::unlike($content, qr/$pat/s, $desc);
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $res ? $res->content : undef, $idx, $rep_idx, 0);
    }
}

# Patterns of error_log-like sections: a string (one pattern per line,
# matched as a substring), a qr// or an array of strings and qr//s.
sub pattern_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ /$pat/ : index($line, $pat) >= 0;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub value_contains {
    my ($val, $str) = @_;
    return 0 unless defined $val;
    if (ref $val eq 'ARRAY') {
        return scalar grep { value_contains($_, $str) } @$val;
    }
    return index("$val", $str) >= 0;
}

# Shared logic of error_log/no_error_log and access_log/no_access_log:
# each "must match" pattern gives one pass/fail; each "must not match"
# pattern gives a fail per matching line, or one pass.
sub check_log_patterns ($$$$$$) {
    my ($name, $lines, $must, $must_not, $logname, $rep_idx) = @_;

    if (defined $must) {
        my @pats = @{ pattern_list($must) };
        my @pending = grep { defined $pats[$_] } 0 .. $#pats;
        for my $line (@$lines) {
            @pending = grep {
                if (line_matches($line, $pats[$_])) {
                    Test::More::pass("$name - pattern \"$pats[$_]\" matches "
                                     . "a line in $logname (req $rep_idx)");
                    0;
                } else {
                    1;
                }
            } @pending;
        }
        for (@pending) {
            Test::More::fail("$name - pattern \"$pats[$_]\" should match a "
                             . "line in $logname (req $rep_idx)");
        }
    }

    if (defined $must_not) {
        my @pats = grep { defined } @{ pattern_list($must_not) };
        my %found;
        for my $i (0 .. $#$lines) {
            for my $pat (@pats) {
                next unless line_matches($lines->[$i], $pat);
                Test::More->builder->no_ending(1) if $found{$pat}++;
                my @more = @$lines[$i + 1 .. min($i + 9, $#$lines - 1)];
                Test::More::fail("$name - pattern \"" . fmt_str($pat)
                    . "\" should not match any line in $logname but matches "
                    . "line \"" . fmt_str($lines->[$i])
                    . "\" (req $rep_idx)\n" . join('', @more));
            }
        }
        for my $pat (@pats) {
            next if $found{$pat};
            Test::More::pass("$name - pattern \"" . fmt_str($pat)
                . "\" does not match a line in $logname (req $rep_idx)");
        }
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $rep_idx, $need_array) = @_;
    my $name = $block->name;

    # Every check reads the new part of error.log (also for the warnings
    # below), exactly once.
    my $lines = error_log_data() || [];

    my $grep = $block->grep_error_log;
    if (defined $grep) {
        $grep = $grep->[$rep_idx] if ref $grep eq 'ARRAY';
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but --- "
                 . "grep_error_log is defined") unless defined $expected;
        $expected = expand_env_in_text($expected, $name,
                                       $Test::Nginx::Util::RandPorts);
        $expected = $expected->[$rep_idx] if ref $expected eq 'ARRAY';
        my $got = '';
        for my $line (@$lines) {
            my $m = ref $grep ? ($line =~ /$grep/ ? $& : undef)
                  : index($line, $grep) >= 0 ? $grep : undef;
            $got .= "$m\n" if defined $m && $m !~ /\n/;
        }
        my $desc = "$name - grep_error_log_out (req $rep_idx)";
        ref $expected eq 'Regexp'
            ? Test::More::like($got, $expected, $desc)
            : Test::More::is($got, $expected, $desc);
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but --- "
                 . "grep_error_log_out is defined");
    }

    check_log_patterns($name, $lines, $block->error_log, $block->no_error_log,
                       'error.log', $rep_idx);

    # Surface serious messages on stderr unless a pattern covers them.
    for my $level (qw(alert crit emerg)) {
        next if value_contains(scalar $block->error_log, "[$level")
             || value_contains(scalar $block->no_error_log, "[$level");
        for my $line (@$lines) {
            warn "WARNING: $name - " . fmt_str($line) . "\n"
                if $line =~ /\[$level\]/;
        }
    }

    for my $line (@$lines) {
        next unless $line =~ /\bAssertion .*?failed\b/;
        Test::More->builder->no_ending(1);
        chomp(my $l = $line);
        Test::More::fail("$name - $l\n");
    }
}

sub check_access_log ($$) {
    my ($block, $rep_idx) = @_;
    return unless defined $block->access_log
               || defined $block->no_access_log;
    check_log_patterns($block->name, access_log_data(), $block->access_log,
                       $block->no_access_log, 'access.log', $rep_idx);
}

# ---------------------------------------------------------------------------
# Per-block request/response cycle (called once per repeat_each round)
# ---------------------------------------------------------------------------

sub run_test_helper ($$$) {
    my ($block, $dry_run, $rep_idx) = @_;
    my $name = $block->name;

    my $reqs = requests_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout) // timeout();
    my $need_array = @$reqs > 1;
    my $res;

    for my $idx (0 .. $#$reqs) {
        my $pieces = $reqs->[$idx];
        my $head_req = join('', @$pieces) =~ /^\s*HEAD\s+/ ? 1 : 0;
        my $raw = send_request($block, $pieces, $timeout) // '';

        if (!defined $block->ignore_response) {
            my ($raw_headers, $left);
            ($res, $raw_headers, $left) = parse_response($name, $raw,
                                                         $head_req);
            if (defined $left && length $left) {
                $left =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                warn "WARNING: $name - unexpected extra bytes after last "
                     . "chunk in response: \"$left\"\n";
            }
            check_error_code($block, $res, $idx, $need_array);
            check_raw_response_headers($block, $raw_headers, $idx,
                                       $need_array);
            check_response_headers($block, $res, $raw_headers, $idx,
                                   $need_array);
            transform_response_body($block, $res, $idx);
            check_response_body($block, $res, $idx, $rep_idx, $need_array);
        }

        if ($idx < $#$reqs) {
            sleep $block->wait if $block->wait;
            check_error_log($block, $res, 0, $rep_idx, $need_array);
            check_access_log($block, $rep_idx)
                unless defined $block->ignore_response;
        }
    }

    sleep $block->wait if $block->wait;
    check_error_log($block, $res, 0, $rep_idx, $need_array);
    check_access_log($block, $rep_idx) unless defined $block->ignore_response;
}

# ---------------------------------------------------------------------------
# Minimal HTTP response object (header lookup semantics of HTTP::Headers:
# case-insensitive, "_" means "-", repeated headers joined with ", ").
# ---------------------------------------------------------------------------

package Test::Nginx::Socket::Response;

sub new {
    my ($class, $code, $headers, $content) = @_;
    return bless { code => $code, headers => $headers,
                   content => $content }, $class;
}

sub code { $_[0]{code} }

sub content {
    my $self = shift;
    $self->{content} = shift if @_;
    return $self->{content};
}

sub header {
    my ($self, $name) = @_;
    my $want = lc $name;
    $want =~ tr/_/-/ unless $want =~ /^:/;
    my @vals = map { $_->[1] } grep { lc($_->[0]) eq $want }
               @{ $self->{headers} };
    return wantarray ? @vals : @vals ? join(', ', @vals) : undef;
}

1;
__END__

=head1 NAME

Test::Nginx::Socket - bundled, minimal Test::Nginx::Socket-compatible runner

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hello\n"; }
    --- request
    GET /t
    --- response_body
    hello

=head1 DESCRIPTION

A small re-implementation of the subset of openresty's Test::Nginx::Socket
(0.33) that this project's test suite uses, for systems where Test::Nginx
is not packaged.  The same F<.t> files run unchanged under both.

Supported: the Test::Base block format and filters (C<eval>, C<chomp>, ...,
C<ONLY>, C<SKIP>, C<LAST>), C<repeat_each>, C<no_shuffle>, C<master_on>,
C<workers>, C<log_level>, C<no_long_string>, C<no_root_location>,
C<env_to_nginx>, C<add_block_preprocessor>, C<server_port> and the
C<TEST_NGINX_*> environment variables for the binary, port, modules to load,
timeout, servroot and randomisation; sections C<config>, C<http_config>,
C<main_config>, C<post_main_config>, C<request>, C<raw_request>,
C<more_headers>, C<error_code>, C<error_code_like>, C<response_headers>,
C<response_headers_like>, C<raw_response_headers_like>/C<_unlike>,
C<response_body>, C<response_body_like>, C<response_body_unlike>,
C<response_body_filters>, C<error_log>, C<no_error_log>,
C<grep_error_log>/C<grep_error_log_out>, C<access_log>, C<no_access_log>,
C<must_die>, C<user_files>, C<timeout>, C<log_level>, C<skip_nginx>,
C<skip_eval>, C<todo>, C<init>, C<wait>, C<abort>, C<ignore_response>.

Not supported (the run stops with an explanation): HUP reload, valgrind,
systemtap, leak checking, benchmarks, HTTP/2 and HTTP/3, pipelined requests,
mock TCP/UDP servers and shutdown error-log checks.

String comparisons use Test::More's C<is>, so failure diagnostics differ
from upstream's Test::LongString output; pass/fail results do not.

=cut
