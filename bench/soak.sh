#!/usr/bin/env bash
# Hostile soak: one nginx with two workers and the module, for SOAK_SECONDS
# (default 1200), under hostile requests at every endpoint, login / join /
# require / logout traffic that keeps a ledger of live and ended sessions,
# kill -9 of random workers and reloads; then "nginx -s quit". It fails on a
# crash ("exited on signal" other than its own kills), an [alert], [crit]
# or [emerg] its kills do not explain, a core file, a sanitizer report, a
# ledger violation, a redirect to a target not registered, an injected
# header, a forged logout token accepted, an admin API or metrics page that
# breaks its contract, an outbox that does not drain once the load stops,
# counters or log lines that disagree with what it did, a logout token for
# a session still live, or when it could not run or ran too little. It
# prints its counts. Then the same kinds of traffic, kills and a reload
# against two nginx nodes sharing their sessions through a redis-server
# it starts, kills (-9) and starts again: afterwards both nodes must
# accept every live session of its ledger and refuse every ended one, and
# Redis's keys must be whole (bench/soak_cluster.pl).
#
# Environment:
#   NGINX_BINARY             nginx to run (default /usr/sbin/nginx)
#   MODULE                   the module (default build/ngx_http_oidc_logout_module.so)
#   SOAK_SECONDS             how long the traffic runs (default 1200)
#   SOAK_PORT                first of the seven ports it uses (default: the
#                            first of 2040, 2140, ... with seven free ports)
#   SOAK_CLIENTS, SOAK_FUZZERS  ledger clients (4) and fuzzers (2)
#   SOAK_KILL_EVERY, SOAK_RELOAD_EVERY  mean seconds between kills (1.5)
#                            and between reloads (10)
#   SOAK_SEED                seed of the random choices (printed)
#   OIDC_LOGOUT_SHARED_DATA  folder of open-redirect-payloads.txt
#                            (default ../shared/data from the repository)
#   SOAK_KEEP=1              keep the run's folder after a pass (a failed
#                            run's is always kept)
#   SOAK_CLUSTER_SECONDS     length of the cluster phase that follows
#                            (default 30; 0: none): two nginx nodes whose
#                            zone is in a redis-server the soak starts
#                            (bench/soak_cluster.pl, Soak::Cluster)
#   REDIS_SERVER             redis-server to run (default: from PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

NGINX_BINARY=${NGINX_BINARY:-/usr/sbin/nginx}
MODULE=${MODULE:-$ROOT/build/ngx_http_oidc_logout_module.so}
SHARED=${OIDC_LOGOUT_SHARED_DATA:-$ROOT/../shared/data}

cannot() { printf 'soak: FAIL: could not run: %s\n' "$*" >&2; exit 1; }

[ -x "$NGINX_BINARY" ] || cannot "no nginx binary at $NGINX_BINARY (set NGINX_BINARY)"
[ -f "$MODULE" ] || cannot "no module at $MODULE (./build.sh builds it; or set MODULE)"
[ -f "$SHARED/open-redirect-payloads.txt" ] ||
    cannot "no $SHARED/open-redirect-payloads.txt (set OIDC_LOGOUT_SHARED_DATA)"
command -v openssl >/dev/null || cannot "openssl is missing"
perl -MCrypt::JWT -MJSON::PP -e 1 2>/dev/null || cannot "perl's Crypt::JWT is missing (libcrypt-jwt-perl)"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
    cannot "Debian's python3-prometheus-client is missing (t/support/prometheus_parse.py uses it)"
SOAK_CLUSTER_SECONDS=${SOAK_CLUSTER_SECONDS:-30}
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || true)}
[ "$SOAK_CLUSTER_SECONDS" = 0 ] || [ -x "$REDIS_SERVER" ] ||
    cannot "no redis-server for the cluster phase (set REDIS_SERVER, or SOAK_CLUSTER_SECONDS=0)"

# ---- core dumps --------------------------------------------------------------
# The workers dump into their working_directory when core_pattern is a plain
# name; a pattern that pipes to a program that is not there loses them, so
# as root the run sets it to "core" and puts it back afterwards.
ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)"
case $(ulimit -c) in
unlimited) RLIMIT_CORE=1g ;;
0) RLIMIT_CORE=0 ;;
*) RLIMIT_CORE="$(ulimit -c)k" ;;   # nginx sets soft and hard: no higher
esac
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || echo core)
restore_pattern=
CORE_WATCH=
case $pattern in
'|'*)
    prog=${pattern#|}
    prog=${prog%% *}
    if [ ! -x "$prog" ] && [ "$(id -u)" -eq 0 ] &&
        echo core 2>/dev/null >/proc/sys/kernel/core_pattern; then
        restore_pattern=$pattern
        CORE_NOTE="core_pattern piped to $prog, which is absent: \"core\" during the run"
    else
        CORE_NOTE="core_pattern pipes to $prog: cores are not seen here; crashes are, in the error log"
    fi ;;
/*)
    CORE_WATCH=$(dirname "$pattern")
    CORE_NOTE="core_pattern writes into $CORE_WATCH: new files there count" ;;
*)
    CORE_NOTE="core_pattern \"$pattern\": into the workers' working_directory" ;;
esac
[ "$RLIMIT_CORE" = 0 ] &&
    CORE_NOTE="the hard core size limit is 0: no cores; crashes are seen in the error log"

# ---- the run ---------------------------------------------------------------------
DIR=$(mktemp -d "${TMPDIR:-/tmp}/oidc-logout-soak.XXXXXX")
chmod 755 "$DIR"    # the workers' user reads the static files
driver=

cleanup() {
    local rc=$?
    # the driver leads a process group: its children and nginx
    if [ -n "$driver" ] && kill -0 -- "-$driver" 2>/dev/null; then
        kill -KILL -- "-$driver" 2>/dev/null || true
    fi
    [ -z "$restore_pattern" ] || echo "$restore_pattern" >/proc/sys/kernel/core_pattern || true
    if [ "$rc" -eq 0 ] && [ "${SOAK_KEEP:-0}" != 1 ]; then
        rm -rf "$DIR"
    else
        echo "soak: the run's files are in $DIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "soak: FAIL: interrupted" >&2; exit 130' INT
trap 'echo "soak: FAIL: interrupted" >&2; exit 143' TERM HUP

# seven consecutive ports that nothing on this machine listens on (the
# cluster phase's second node and Redis take the last two)
free_ports() {
    perl -MIO::Socket::INET -e '
        for (my $base = 2040; $base < 9000; $base += 100) {
            my @held = grep { !IO::Socket::INET->new(LocalAddr => "127.0.0.1:$_",
                                                     Listen => 1, ReuseAddr => 1) }
                       $base .. $base + 6;
            if (!@held) { print "$base\n"; exit 0 }
        }
        exit 1'
}
SOAK_PORT=${SOAK_PORT:-$(free_ports)} ||
    { echo "soak: FAIL: could not run: no seven free ports" >&2; exit 1; }

export SOAK_DIR=$DIR NGINX_BINARY MODULE=$(realpath "$MODULE") \
    SOAK_PAYLOADS=$SHARED/open-redirect-payloads.txt SOAK_RLIMIT_CORE=$RLIMIT_CORE \
    SOAK_CORE_WATCH=$CORE_WATCH SOAK_CORE_NOTE=$CORE_NOTE SOAK_PORT REDIS_SERVER \
    SOAK_CLUSTER_SECONDS
status=0
# each driver leads a process group of its own (cleanup ends it)
perl bench/soak.pl &
driver=$!
wait "$driver" || status=1
if [ "$SOAK_CLUSTER_SECONDS" != 0 ]; then
    perl bench/soak_cluster.pl &
    driver=$!
    wait "$driver" || status=1
fi
exit "$status"
