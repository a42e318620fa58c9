package FlowNginx;

# Helpers of the Test::More scripts that follow sessions across requests
# (t/session_flows.t, t/logout_flows.t): an nginx started as a child with
# the built module, and a small HTTP client that carries the session
# cookie. They read TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES, like
# the Test::Nginx suites.

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path remove_tree);
use HTTP::Tiny;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

our @EXPORT = qw(main_context start_nginx stop_nginx reload_nginx write_config wait_for
                 error_log get post_form session_cookie login logout
                 nginx_root nginx_port module_path nginx_t);

my $nginx  = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $module = $ENV{TEST_NGINX_LOAD_MODULES};
my ($root, $port, $master);

sub module_path {
    $module or BAIL_OUT('TEST_NGINX_LOAD_MODULES must name the built module');
    return $module;
}

# nginx -t of an http block in a fresh dir: (output, passed, the file).
sub nginx_t {
    my ($dir, $http) = @_;
    File::Path::remove_tree($dir);
    File::Path::make_path("$dir/logs");
    my $load = module_path();
    open my $f, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
    print $f "load_module $load;\npid $dir/nginx.pid;\nevents { }\nhttp {\n$http\n}\n";
    close $f;
    my $out = qx{$nginx -t -p $dir/ -c $dir/nginx.conf -e $dir/error.log 2>&1};
    return ($out, $? == 0, "$dir/nginx.conf");
}

sub nginx_root { $root }
sub nginx_port { $port }

# The main context of a test nginx under root: foreground master, workers,
# logs and pid under root, the built module.
sub main_context {
    my ($root, $workers) = @_;
    my $module = module_path();
    return <<"_EOC_";
daemon off;
master_process on;
worker_processes $workers;
pid $root/nginx.pid;
error_log $root/error.log info;
load_module $module;
events { worker_connections 1024; }
_EOC_
}

sub write_config {
    my ($text) = @_;
    open my $f, '>', "$root/nginx.conf" or die "$root/nginx.conf: $!";
    print $f $text;
    close $f;
}

# Starts nginx (daemon off, master on) in a fresh root with the config
# that make_config(root, port) returns.
sub start_nginx {
    my ($dir, $listen, $make_config) = @_;
    ($root, $port) = ($dir, $listen);
    remove_tree($root);
    make_path("$root/logs");
    write_config($make_config->($root, $port));
    $master = fork() // die "fork: $!";
    if ($master == 0) {
        exec $nginx, '-p', "$root/", '-c', "$root/nginx.conf", '-e',
            "$root/error.log";
        die "exec $nginx: $!";
    }
    wait_for(sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1)
    }, "nginx listening on $port");
}

sub reload_nginx { kill 'HUP', $master }

sub stop_nginx {
    return unless $master;
    kill 'QUIT', $master;
    my $deadline = time + 10;
    while (waitpid($master, WNOHANG) == 0) {
        if (time > $deadline) { kill 'KILL', $master; waitpid($master, 0); last }
        sleep 0.02;
    }
    $master = undef;
}

# Polls cond until it is true; stops the run after 10 s.
sub wait_for {
    my ($cond, $what) = @_;
    my $deadline = time + 10;
    until ($cond->()) {
        BAIL_OUT("timed out waiting for $what") if time > $deadline;
        sleep 0.02;
    }
}

sub error_log {
    open my $f, '<', "$root/error.log" or return '';
    local $/;
    return <$f>;
}

sub client {
    HTTP::Tiny->new(keep_alive => 0, max_redirect => 0, timeout => 10);
}

# One request; a new connection each time so that workers take turns.
sub get {
    my ($path, $cookie) = @_;
    my %h = $cookie ? (Cookie => "oidc_session=$cookie") : ();
    return client()->get("http://127.0.0.1:$port$path", { headers => \%h });
}

sub post_form {
    my ($path, $form, $cookie) = @_;
    my %h = $cookie ? (Cookie => "oidc_session=$cookie") : ();
    return client()->post_form("http://127.0.0.1:$port$path", $form,
                               { headers => \%h });
}

sub session_cookie {
    my ($res) = @_;
    my $sc = $res->{headers}{'set-cookie'} // return;
    my ($value) = (ref $sc ? $sc->[0] : $sc) =~ /^oidc_session=([^;]*)/;
    return $value;
}

sub login {
    my ($user) = @_;
    return session_cookie(get("/login?user=$user"));
}

# A browser's logout: when the endpoint asks to confirm, the form is
# posted back as it is.
sub logout {
    my ($cookie, $query) = @_;
    my $res = get('/logout' . ($query // ''), $cookie);
    return $res unless $res->{content} =~ /<form method="post"/;
    my %form = $res->{content} =~ /name="([^"]+)" value="([^"]*)"/g;
    s/&quot;/"/g, s/&#39;/'/g, s/&lt;/</g, s/&gt;/>/g, s/&amp;/&/g
        for values %form;
    return post_form('/logout', \%form, $cookie);
}

END { stop_nginx() }

1;
