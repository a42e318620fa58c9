package EndChecks;

# What the scripts that end sessions check (t/session_ends.t,
# t/cluster.t): applications that log the logout tokens they receive
# (t/conf/token_receiver.conf in a plain nginx), those tokens, each
# verified, the claims of one, and a sample of a metrics page; and a poll
# for a condition.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter 'import';
use File::Basename qw(dirname);
use File::Path qw(make_path);
use Crypt::JWT qw(decode_jwt);
use Peers qw(slurp spawn wait_listening write_file);
use Test::More;
use Time::HiRes qw(sleep time);

our @EXPORT = qw(eventually start_token_receiver logged_tokens check_token page_sample);

my $event  = 'http://schemas.openid.net/event/backchannel-logout';
my $t_conf = abs_path(dirname(__FILE__) . '/../conf');

# Applications on port: a plain nginx in dir, a peer called name, that logs
# each token it receives to dir/received.log and answers 200 (it can stop
# and start again: its log goes on). Returns the log.
sub start_token_receiver {
    my ($name, $dir, $port) = @_;
    my $binary = $ENV{TEST_NGINX_BINARY} || 'nginx';
    make_path("$dir/logs");
    write_file("$dir/nginx.conf", <<"_EOC_");
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 1024; }
http {
    access_log off;
    log_format token '\$request_uri \$request_body';
    server {
        listen 127.0.0.1:$port;
        include $t_conf/token_receiver.conf;
    }
}
_EOC_
    spawn($name, "$dir/stdout.log", {}, $binary, '-p', "$dir/", '-c', "$dir/nginx.conf",
          '-e', "$dir/error.log");
    wait_listening($name, $port, "$dir/stdout.log", "$dir/error.log");
    return "$dir/received.log";
}

# Polls cond until it is true or seconds (10) have passed; whether it is.
sub eventually {
    my ($cond, $seconds) = @_;
    my $deadline = time + ($seconds // 10);
    until ($cond->()) {
        return 0 if time > $deadline;
        sleep 0.05;
    }
    return 1;
}

# The tokens logged in file: client, claims and header of each (undef
# claims when the signature does not verify with key).
sub logged_tokens {
    my ($file, $key) = @_;
    my @tokens;
    for my $line (split /\n/, slurp($file)) {
        my ($uri, $body) = split / /, $line, 2;
        my ($client) = $uri =~ m{^/bc/(\w+)$} or next;
        my ($token) = ($body // '') =~ /^logout_token=([A-Za-z0-9_.-]+)$/;
        my ($header, $claims) = eval {
            decode_jwt(token => $token // '', key => $key, decode_header => 1,
                       verify_exp => 0, accepted_alg => 'RS256')
        };
        push @tokens, { client => $client, claims => $claims, header => $header };
    }
    return @tokens;
}

# A token as the module signs it, by issuer for client, for the session of
# sid and sub.
sub check_token {
    my ($t, $issuer, $client, $sid, $sub, $what) = @_;
    my $c = $t->{claims};
    is_deeply([ @$c{qw(iss aud sid sub)} ], [ $issuer, $client, $sid, $sub ],
              "$what: iss, aud, sid, sub");
    is($t->{header}{typ}, 'logout+jwt', "$what: typ");
    ok(ref $c->{events}{$event} eq 'HASH' && !exists $c->{nonce},
       "$what: the back-channel event, no nonce");
}

# The value of a sample of a metrics page, by name and labels (those of
# the sample and maybe more): -1 when the page has none.
sub page_sample {
    my ($page, $name, %labels) = @_;
    my $has = join '', map { "(?=[^}]*\Q$_=\"$labels{$_}\"\E)" } sort keys %labels;
    return ($page // '') =~ /^\Q$name\E\{$has[^}]*\} (\d+)$/m ? $1 : -1;
}

1;
