package Test::Nginx::Util;

# Server-side half of the bundled Test::Nginx runner: global settings,
# nginx.conf generation, starting/stopping nginx, error-log access and the
# per-block driver (run_tests/run_test).  The HTTP client side and the
# response assertions live in Test::Nginx::Socket.

use strict;
use warnings;

our $VERSION = '0.33';

use base 'Exporter';

use Carp qw(croak);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(SIGQUIT SIGTERM SIGKILL WNOHANG);
use Scalar::Util qw(looks_like_number);
use Time::HiRes qw(sleep time);
use Test::More ();

# Modes of the upstream framework that this runner does not implement.  Fail
# loudly rather than silently running the suite in a different mode.
for my $unsupported (qw(USE_HUP USE_VALGRIND USE_STAP CHECK_LEAK BENCHMARK
                        USE_HTTP2 USE_HTTP3 USE_RR))
{
    if ($ENV{"TEST_NGINX_$unsupported"}) {
        die "TEST_NGINX_$unsupported is not supported by the bundled "
            . "Test::Nginx runner (t/lib); install the full Test::Nginx "
            . "to use it.\n";
    }
}

# ---------------------------------------------------------------------------
# Settings (same environment variables and defaults as upstream)
# ---------------------------------------------------------------------------

our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $LoadModules          = $ENV{TEST_NGINX_LOAD_MODULES};
our $Verbose              = $ENV{TEST_NGINX_VERBOSE};
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoNginxManager       = $ENV{TEST_NGINX_NO_NGINX_MANAGER} || 0;
our $Timeout              = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $CheckAccumErrLog     = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $EventType            = $ENV{TEST_NGINX_EVENT_TYPE};
our $WorkerUser           = $ENV{TEST_NGINX_WORKER_USER};
our $Randomize            = $ENV{TEST_NGINX_RANDOMIZE};
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $ServerPort           = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                            || 1984;
our $ServerPortForClient  = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort || 1984;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ForceRestartOnTest   = $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} // 1;
our $ServerAddr           = '127.0.0.1';
our $ServerName           = 'localhost';
our $Workers              = 1;
our $WorkerConnections    = 64;
our $RepeatEach           = 1;
our $NoRootLocation       = 0;
our $NoLongString;
our $ConfigPreamble       = '';
our $FilterHttpConfig;

if (defined $WorkerUser && $WorkerUser !~ /^\w[-\w]+(?:\s+\w[-\w]+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers, @TestCleanupHandlers);

# Hooks filled in by Test::Nginx::Socket.
our ($RunTestHelper, $CheckErrorLog);

our ($NginxVersion, $NginxRawVersion, $OpenSSLVersion, $NginxV);
our ($PrevConfig, $RandPorts, $ErrLogFilePos, $InSubprocess);

sub gen_rand_port (;$$);

srand($$ ^ int(time() * 1000));

if ($Randomize) {
    $ServerPort = gen_rand_port(1000)
        or die "Cannot find an available listening port number.\n";
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : ($ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot'));
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";
our $CacheDir   = "$ServRoot/cache";

our @EXPORT = qw(
    env_to_nginx is_str no_long_string repeat_each workers master_on
    master_off master_process_enabled log_level no_shuffle no_root_location
    worker_connections config_preamble server_port server_port_for_client
    server_addr server_name server_root html_dir timeout no_nginx_manager
    use_hup check_accum_error_log add_block_preprocessor add_cleanup_handler
    add_test_cleanup_handler bail_out run_tests run_test verbose sleep_time
    parse_time expand_env_in_text error_log_data access_log_data trim
    show_all_chars parse_headers get_pid_from_pidfile get_canon_version
    get_nginx_version is_running setup_server_root write_config_file
    $ServerPort $ServerPortForClient $ServerAddr $ServerName $NoLongString
    $RepeatEach $ServRoot $ConfFile $PidFile $NginxVersion $RunTestHelper
    $CheckErrorLog $FilterHttpConfig $NoNginxManager
);

# ---------------------------------------------------------------------------
# Functions called from the preamble of .t files
# ---------------------------------------------------------------------------

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub no_long_string ()        { $NoLongString = 1 }
sub no_shuffle ()            { $NoShuffle = 1 }
sub no_root_location ()      { $NoRootLocation = 1 }
sub no_nginx_manager ()      { $NoNginxManager = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on ()             { $MasterProcessEnabled = 'on' }
sub master_off ()            { $MasterProcessEnabled = 'off' }
sub config_preamble ($)      { $ConfigPreamble = shift }
sub verbose                  { $Verbose }
sub sleep_time               { $TestNginxSleep }
sub server_root ()           { $ServRoot }
sub html_dir ()              { $HtmlDir }

sub use_hup () {
    croak "use_hup() is not supported by the bundled Test::Nginx runner";
}

# Getter/setter helpers: with an argument they set, without they return.
sub repeat_each (@)            { $RepeatEach = shift if @_; $RepeatEach }
sub workers (@)                { return $Workers unless @_; $Workers = shift }
sub log_level (@)              { return $LogLevel unless @_; $LogLevel = shift }
sub timeout (@)                { return $Timeout unless @_; $Timeout = shift }
sub server_port (@)            { return $ServerPort unless @_; $ServerPort = shift }
sub server_addr (@)            { return $ServerAddr unless @_; $ServerAddr = shift }
sub server_name (@)            { return $ServerName unless @_; $ServerName = shift }
sub worker_connections (@) {
    return $WorkerConnections unless @_;
    $WorkerConnections = shift;
}
sub server_port_for_client (@) {
    return $ServerPortForClient unless @_;
    $ServerPortForClient = shift;
}
sub master_process_enabled (@) {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}

# Preprocessors registered later run first (upstream order).
sub add_block_preprocessor (&)   { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)      { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    return Test::More::is($got, $expected, $desc);
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# ---------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------

# "500ms" -> 0.5, "2s" -> 2, "3" -> 3
sub parse_time ($) {
    my $t = shift;
    return $t unless defined $t;
    if ($t =~ s/([^_a-zA-Z])ms$/$1/) {
        return $t / 1000;
    }
    $t =~ s/([^_a-zA-Z])s$/$1/;
    return $t;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /g;
    $s =~ s/\s{2,}/ /g;
    return $s;
}

sub show_all_chars ($) {
    my $s = shift;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\t/\\t/g;
    return $s;
}

# Parses a "--- response_headers" style section into { name => value }.
# "!Name" (or a line without a colon) maps to undef: "must be absent".
sub parse_headers ($) {
    my $text = shift;
    my %headers;
    for my $line (split /^/, $text) {
        $line =~ s/^\s+|\s+$//g;
        if ($line =~ s/^!\s*//) {
            $headers{$line} = undef;
            next;
        }
        my ($k, $v) = split /\s*:\s*/, $line, 2;
        $headers{$k} = $v;
    }
    return \%headers;
}

sub gen_rand_port (;$$) {
    my ($tries, $used) = @_;
    $tries ||= 1000;
    $used ||= {};
    for (1 .. $tries) {
        my $port = 1988 + int rand 63547;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => $port, Proto => 'tcp',
                                         Listen => 5, Reuse => 1);
        if ($sock) {
            close $sock;
            return $port;
        }
    }
    return undef;
}

# Replaces $TEST_NGINX_FOO with $ENV{TEST_NGINX_FOO}; an undefined variable
# aborts the run.  $TEST_NGINX_RAND_PORT_N gets a free port, stable within
# one block.
sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;
    $rand_ports ||= {};
    my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $val = $rand_ports->{$var};
            if (!defined $val) {
                $val = gen_rand_port(1000, \%used);
                bail_out("$name - Cannot find an available listening port "
                         . "number for $var.\n") unless defined $val;
                $rand_ports->{$var} = $val;
                $used{$val} = 1;
            }
        } else {
            bail_out("$name - No environment $var defined.\n")
                unless defined $ENV{$var};
            $val = $ENV{$var};
        }
        $val;
    }ge;
    return $text;
}

sub get_canon_version (@) {
    sprintf "%d.%03d%03d", $_[0], $_[1], $_[2];
}

sub nginx_V () {
    return $NginxV if defined $NginxV;
    my $out = `$NginxBinary -V 2>&1`;
    if ($? != 0 || !defined $out) {
        bail_out("Failed to get the version of the Nginx in PATH: "
                 . ($out // ''));
    }
    return $NginxV = $out;
}

sub get_nginx_version () {
    my $out = nginx_V();
    if ($out =~ /built with OpenSSL (\d+)\.(\d+)\.(\d+)([a-z])?/) {
        $OpenSSLVersion = get_canon_version($1, $2, $3);
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)})
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

# ---------------------------------------------------------------------------
# Process management
# ---------------------------------------------------------------------------

# True while $pid exists and is not a zombie.  Treating zombies as gone means
# a slow reaper (PID 1 of a container) does not slow down restarts.
sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    waitpid($pid, WNOHANG);    # reaps it if it happens to be our child
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        close $fh;
        return 0 if $stat =~ /\)\s+[ZX]\s/;
        return 1;
    }
    return kill 0, $pid;
}

# Polls $cond every few ms (backing off to 20 ms) until it is true or
# $limit seconds have passed.  Returns the final value of $cond.
sub wait_until ($$) {
    my ($limit, $cond) = @_;
    my $deadline = time + $limit;
    my $step = 0.002;
    while (1) {
        my $r = $cond->();
        return $r if $r || time >= $deadline;
        sleep $step;
        $step *= 1.5 if $step < 0.02;
    }
}

sub get_pid_from_pidfile ($) {
    my $name = shift;
    open my $in, '<', $PidFile
        or bail_out("$name - Failed to open the pid file $PidFile for "
                    . "reading: $!");
    my $pid = do { local $/; <$in> } // '';
    close $in;
    $pid =~ s/\s+//g;
    return $pid;
}

# Asks the process to quit (QUIT, or TERM with TEST_NGINX_FAST_SHUTDOWN) and
# waits for it; kills the whole process group after timeout().
sub kill_process ($$) {
    my ($pid, $name) = @_;
    return unless is_running($pid);
    kill($ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT, $pid);
    return if wait_until(timeout(), sub { !is_running($pid) });
    warn "$name - timeout when waiting for the process $pid to exit\n";
    kill SIGKILL, -$pid;
    kill SIGKILL, $pid;
    wait_until(timeout(), sub { !is_running($pid) });
}

# A stale pid file may name a pid that now belongs to another program.
sub looks_like_nginx ($) {
    my $pid = shift;
    open my $fh, '<', "/proc/$pid/comm" or return 1;    # no procfs: trust it
    chomp(my $comm = <$fh> // '');
    close $fh;
    (my $base = $NginxBinary) =~ s{.*/}{};
    return $comm eq 'nginx' || $comm eq substr($base, 0, 15);
}

sub stop_nginx ($) {
    my $name = shift;
    return unless -f $PidFile;
    my $pid = get_pid_from_pidfile($name);
    if ($pid =~ /^\d+$/ && is_running($pid) && looks_like_nginx($pid)) {
        kill_process($pid, $name);
    }
    unlink $PidFile if -f $PidFile;
}

# Runs the nginx binary once (it daemonizes itself, so this returns as soon
# as the server is listening or has failed) and returns the wait status.
# stdout is discarded; stderr is passed through like upstream does.
sub exec_nginx ($) {
    my $block = shift;
    my @cmd = ($NginxBinary, '-e', $ErrLogFile, '-p', "$ServRoot/",
               '-c', $ConfFile);
    warn "command: @cmd\n" if $Verbose;
    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        $InSubprocess = 1;
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null' if defined $block->suppress_stderr;
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        warn "failed to execute $cmd[0]: $!\n";
        POSIX::_exit(255);
    }
    waitpid($pid, 0);
    return $?;
}

# Path of an executable (absolute/relative path or looked up in PATH).
sub can_run ($) {
    my $cmd = shift;
    if ($cmd =~ m{/}) {
        return -f $cmd && -x _ ? $cmd : undef;
    }
    for my $dir (split(/:/, $ENV{PATH} // ''), '.') {
        next if $dir eq '';
        return "$dir/$cmd" if -f "$dir/$cmd" && -x _;
    }
    return undef;
}

sub error_log_says_addr_in_use () {
    open my $in, '<', $ErrLogFile or return 0;
    local $/;
    my $log = <$in> // '';
    return $log =~ /\bAddress already in use\b/;
}

# Starts nginx for a block; retries while the port is still taken by a
# server that is shutting down, bails out on any other failure.
sub start_nginx ($) {
    my $block = shift;
    my $name = $block->name;
    my $deadline = time + 30;
    my $delay = 0.05;
    while (1) {
        my $status = exec_nginx($block);
        if ($status == 0) {
            my $ok = wait_until(timeout() * 3, sub {
                -s $PidFile && get_pid_from_pidfile($name) =~ /^\d+$/
            });
            bail_out("$name - nginx started but did not write $PidFile")
                unless $ok;
            return;
        }
        if (error_log_says_addr_in_use() && time < $deadline)
        {
            sleep $delay;
            $delay *= 2 if $delay < 0.5;
            next;
        }
        bail_out("$name - Cannot start nginx using command \"$NginxBinary "
                 . "-e $ErrLogFile -p $ServRoot/ -c $ConfFile\" (status "
                 . "code $status).");
    }
}

sub cleanup () {
    $_->() for @CleanupHandlers;
}

# ---------------------------------------------------------------------------
# Server root, user files and nginx.conf
# ---------------------------------------------------------------------------

sub setup_server_root () {
    if (-d $ServRoot) {
        # Only remove what this runner creates, so a mis-set
        # TEST_NGINX_SERVROOT cannot wipe unrelated data.
        remove_tree($ConfDir, $CacheDir, $HtmlDir, $LogDir,
                    glob("$ServRoot/*_cache"), glob("$ServRoot/*_temp"));
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    for my $dir ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        mkdir $dir or bail_out("Failed to do mkdir $dir: $!\n");
    }
    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index
        or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
             . '<body>It works!</body></html>';
    close $out;
}

# "--- user_files": ">>> path [touch-date]" headers followed by contents;
# relative paths land in the html dir.  An eval'd array of
# [path, body, date] triples is accepted as well.
sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body //= '';
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }
        $body = expand_env_in_text($body, $name, $rand_ports);
        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0
                or bail_out("Failed to run: touch -t '$date' $path\n");
        }
    }
}

# Writes nginx.conf.  The layout keeps the user-supplied sections on the
# same line numbers as the upstream framework's generated file, so
# "nginx.conf:N" in error messages agrees between the two runners.
sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config, $name,
                                         $rand_ports) // '';
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;

    my $main_config = $block->main_config // '';
    if ($LoadModules) {
        my @mods = map { "load_module $_;" } grep { length } split /\s+/,
                   $LoadModules;
        $main_config = join ' ', @mods, $main_config if @mods;
    }
    $main_config = expand_env_in_text($main_config, $name, $rand_ports);

    my $post_main_config = expand_env_in_text($block->post_main_config,
                                              $name, $rand_ports) // '';
    my $err_log_file = expand_env_in_text($block->error_log_file || $ErrLogFile,
                                          $name, $rand_ports);
    my $server_name = $block->server_name // $ServerName;
    $config //= '';

    my $nginx_V = nginx_V();
    my @temp_paths;
    push @temp_paths, "client_body_temp_path $ServRoot/client_body_temp;"
        unless $http_config =~ /\bclient_body_temp_path\b/;
    push @temp_paths, "proxy_temp_path $ServRoot/proxy_temp;"
        unless $http_config =~ /\bproxy_temp_path\b/;
    for my $m (qw(fastcgi scgi uwsgi)) {
        push @temp_paths, "${m}_temp_path $ServRoot/${m}_temp;"
            unless $nginx_V =~ /--without-http_${m}_module/;
    }

    my $env_lines = join '', map { /\s/ ? "env '$_';\n" : "env $_;\n" }
                    @EnvToNginx;
    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    my $events_use = $EventType ? "    use $EventType;\n" : '';
    my $user = defined $WorkerUser ? "user $WorkerUser;\n"
             : $> == 0             ? "user root;\n"
             :                       '';

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out <<"_EOC_";
worker_processes  $Workers;
daemon on;
master_process $MasterProcessEnabled;
error_log $err_log_file $LogLevel;
pid       $PidFile;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env ASAN_OPTIONS;
env UBSAN_OPTIONS;
env LSAN_OPTIONS;
# Generated by the bundled Test::Nginx runner (t/lib/Test/Nginx).
# Line layout follows upstream Test::Nginx.
${env_lines}# main_config:
#

$main_config

http {
    access_log $AccLogFile; @temp_paths
    # http_config follows the defaults below

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        # default test server
        server_name     '$server_name';

        client_max_body_size 30M;
        # preamble:

        #
$ConfigPreamble
        #

        # test case config:
$config
        #

$root_location    }
}

$post_main_config

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
$events_use}
$user
_EOC_
    close $out;
}

# ---------------------------------------------------------------------------
# Log access
# ---------------------------------------------------------------------------

# nginx may still be writing lines for a request (log phase, connection
# close, other workers) after the client saw the response: wait as long as
# upstream does (3 x TEST_NGINX_SLEEP), then until the file stops growing.
sub settle_file ($) {
    my $file = shift;
    my $size = -s $file // 0;
    sleep $TestNginxSleep * 3;
    my $deadline = time + 1;
    while (time < $deadline) {
        my $now = -s $file // 0;
        last if $now == $size;
        $size = $now;
        sleep 0.01;
    }
}

# Lines added to error.log since the previous call within this block (all
# lines with check_accum_error_log()).
sub error_log_data () {
    settle_file($ErrLogFile);
    open my $in, '<', $ErrLogFile or return undef;
    $ErrLogFilePos //= 0;
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos > 0;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub access_log_data () {
    settle_file($AccLogFile);
    open my $in, '<', $AccLogFile
        or die "open $AccLogFile failed: $!";
    my @lines = <$in>;
    close $in;
    return \@lines;
}

# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

sub run_tests () {
    can_run($NginxBinary)
        or bail_out("Cannot find the nginx executable $NginxBinary");
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
        $_->($block) for @TestCleanupHandlers;
    }
    cleanup();
}

# Evaluates skip_nginx / skip_eval / todo; returns (count, reason, todo?)
# when the block's assertions must be skipped, or () otherwise.
sub skip_spec ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            my ($n, $code) = ($1, $2);
            my $skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code "
                     . "\"$code\": $@") if $@;
            return ($n, 'skip_eval', 0) if $skip;
        }
    }

    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                  (?:\s*:\s*(.*))?\s*$/x
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($n, $op, $reason) = ($1, $2, $6);
        my $ver = get_canon_version($3, $4, $5);
        $reason ||= "nginx version $op $3.$4.$5";
        return ($n, $reason, 0) if eval "$NginxVersion $op $ver";
    }

    if (defined(my $spec = $block->todo)) {
        $spec =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out("$name - Invalid --- todo spec: $spec");
        return ($1, $2, 1);
    }

    for my $unsupported (qw(skip_nginx2 skip_openssl skip_slave todo_nginx
                            http2 http3 http09 pipelined_requests stap
                            tcp_listen udp_listen shutdown_error_log
                            no_shutdown_error_log reload_fails))
    {
        bail_out("$name - --- $unsupported is not supported by the bundled "
                 . "Test::Nginx runner")
            if defined $block->$unsupported;
    }
    return ();
}

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;
    my $rand_ports = {};
    $RandPorts = $rand_ports;

    local $LogLevel = $LogLevel;
    $LogLevel = $block->log_level if $block->log_level;

    my $config = expand_env_in_text($block->config, $name, $rand_ports);
    my $must_die = $block->must_die;

    # Without a --- config section the previous block's server is reused.
    my $restart = 0;
    if (defined $config) {
        $restart = !$NoNginxManager;
        # TEST_NGINX_FORCE_RESTART_ON_TEST=0 keeps a server whose config
        # did not change
        $restart = 0 if !$ForceRestartOnTest && defined $PrevConfig
                        && $config eq $PrevConfig;
    } elsif (!$NoNginxManager && !defined $PrevConfig) {
        bail_out("$name - No '--- config' section specified and could not "
                 . "get previous one. Use TEST_NGINX_NO_NGINX_MANAGER ?");
    }

    my ($skip_n, $skip_reason, $todo) = skip_spec($block);

    if ($restart && !defined $skip_n) {
        $PrevConfig = $config;
        stop_nginx($name);
        setup_server_root();
        if (defined(my $code = $block->post_setup_server_root)) {
            eval $code;
            bail_out("$name - post_setup_server_root failed: $@") if $@;
        }
        write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);

        if (defined $must_die) {
            run_must_die($block, $must_die);
            return;
        }
        start_nginx($block);
    }

    if (defined(my $code = $block->init)) {
        eval $code;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (1 .. $RepeatEach) {
        write_user_files($block, $rand_ports) if $i > 1;
        if (defined $skip_n && !$todo) {
          SKIP: { Test::More::skip("$name - $skip_reason", $skip_n) }
        } elsif (defined $skip_n) {
          TODO: { Test::More::todo_skip("$name - $skip_reason", $skip_n) }
        } else {
            $RunTestHelper->($block, 0, $i - 1);
        }
    }
}

# "--- must_die [exit code]": nginx must refuse to start.  The error_log /
# no_error_log checks then apply to what it wrote to error.log.
sub run_must_die ($$) {
    my ($block, $must_die) = @_;
    my $name = $block->name;
    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        my $status = exec_nginx($block);
        if ($status & 128) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($status >> 8, $must_die,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        $CheckErrorLog->($block, undef, 0, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; "
                 . "killing it (req $i)\n";
            wait_until(timeout(), sub { -s $PidFile });
            stop_nginx($name);
        }
    }
}

END {
    return if $InSubprocess;
    local $?;    # keep the test script's exit status
    cleanup();
    stop_nginx('END') unless $ENV{TEST_NGINX_NO_CLEAN};
    if ($Randomize && -d $ServRoot && $ServRoot =~ m{/t/servroot_\d+$}) {
        remove_tree($ServRoot);
    }
}

1;
