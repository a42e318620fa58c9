#!/usr/bin/env bash
# A rebuild while nginx serves the built module: nginx keeps answering, from
# the same master and the same workers.
#
# nginx maps build/ngx_http_oidc_logout_module.so (through a symlink, as
# "./build.sh run" does). build.sh must install a new module as a new file,
# renamed over the old one: rewriting the loaded file in place changes the
# code under every process that has it mapped, and they crash.
#
# Two rebuilds under load: the first compiles one core file with other
# flags, so the new module really differs from the loaded one; the second
# restores the default flags. Each must leave a new inode at the module's
# path.
#
#   t/rebuild.sh      run by "./build.sh test"; NGINX_BINARY as build.sh's
#
# It listens on 127.0.0.1:1979 (TEST_REBUILD_PORT changes that).

set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
MODULE=$ROOT/build/ngx_http_oidc_logout_module.so
NGINX_BINARY=${NGINX_BINARY:-/usr/sbin/nginx}
PORT=${TEST_REBUILD_PORT:-1979}
PREFIX=$ROOT/t/servroot-rebuild
# a core file whose code every logout request runs
CHANGED=src/core/params.cpp

failures=0
fail() { printf 'not ok - %s\n' "$*"; failures=$((failures + 1)); }
pass() { printf 'ok - %s\n' "$*"; }
# check WHAT-IF-TRUE WHAT-IF-FALSE COMMAND...
check() {
    local yes=$1 no=$2
    shift 2
    if "$@"; then pass "$yes"; else fail "$no"; fi
}

[ -f "$MODULE" ] || { echo "t/rebuild.sh: build the module first (./build.sh)" >&2; exit 1; }

rm -rf "$PREFIX"
mkdir -p "$PREFIX/logs" "$PREFIX/conf" "$PREFIX/modules"
ln -s "$MODULE" "$PREFIX/modules/ngx_http_oidc_logout_module.so"
cat >"$PREFIX/conf/nginx.conf" <<EOF
load_module modules/ngx_http_oidc_logout_module.so;
worker_processes 2;
error_log logs/error.log notice;
pid logs/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    oidc_logout_zone zone=sso:1m;
    oidc_logout_session zone=sso secure=off;
    server {
        listen 127.0.0.1:$PORT;
        add_header X-Worker \$pid always;
        location = /v2/logout { oidc_logout auth0; }
    }
}
EOF

master=
restore=
cleanup() {
    if [ -n "$master" ] && kill -QUIT "$master" 2>/dev/null; then
        timeout 30 tail --pid="$master" -f /dev/null || kill -KILL "$master" 2>/dev/null || true
    fi
    # never leave the module built with the test's flags
    if [ -n "$restore" ]; then touch "$CHANGED"; ./build.sh >/dev/null; fi
}
trap cleanup EXIT

# One logout request (the module's endpoint answers it); prints the pid of
# the worker that answered it in full, or "unanswered".
request() {
    local fd response
    if exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then
        printf 'GET /v2/logout HTTP/1.0\r\n\r\n' >&"$fd"
        response=$(cat <&"$fd" 2>/dev/null) || true
        exec {fd}>&-
    else
        response=
    fi
    local worker_header=$'\r\n''X-Worker: ([0-9]+)'
    if [[ $response == "HTTP/1.1 200 "* && $response == *"</html>"* &&
          $response =~ $worker_header ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo unanswered
    fi
}

# requests, one after another, until the file $1 exists
load() {
    while [ ! -e "$1" ]; do request; done
}

# the module's inode: a rebuild must make a new file
inode() { stat -L -c %i "$MODULE"; }

# the listening socket exists once the command returns; the first answer
# comes from a worker, whose parent is the master
"$NGINX_BINARY" -p "$PREFIX/" -c conf/nginx.conf -e logs/error.log
first=$(request)
[ "$first" != unanswered ] || { cat "$PREFIX/logs/error.log"; exit 1; }
master=$(ps -o ppid= -p "$first" | tr -d ' ')
workers=$(ps -o pid= --ppid "$master" | sort -n | xargs)
[ "$(wc -w <<<"$workers")" -eq 2 ] || { echo "workers: $workers" >&2; exit 1; }

answers=$PREFIX/answers
rebuilds=0
rebuild() {  # $1: what; the rest: environment of ./build.sh
    local what=$1 before stop
    shift
    rebuilds=$((rebuilds + 1))
    stop=$PREFIX/built-$rebuilds
    before=$(inode)
    load "$stop" >>"$answers" &
    local loader=$!
    touch "$CHANGED"
    if ! env "$@" ./build.sh >"$PREFIX/build.log" 2>&1; then
        touch "$stop"; wait "$loader"
        cat "$PREFIX/build.log" >&2
        fail "$what: ./build.sh failed"
        return
    fi
    touch "$stop"
    wait "$loader"
    check "$what: the module is a new file" \
        "$what: the module was rewritten in place (inode $before kept)" \
        [ "$(inode)" != "$before" ]
}

restore=yes
rebuild "rebuild with other flags" "CXXFLAGS=${CXXFLAGS:--O2 -g} -Os"
rebuild "rebuild with the default flags" "CXXFLAGS=${CXXFLAGS:--O2 -g}"
restore=
for _ in $(seq 200); do request; done >>"$answers"

total=$(wc -l <"$answers")
unanswered=$(grep -c unanswered "$answers" || true)
strangers=
for pid in $(grep -v unanswered "$answers" | sort -u || true); do
    [[ " $workers " == *" $pid "* ]] || strangers+=" $pid"
done
check "all $total requests answered" \
    "$unanswered of $total requests unanswered" [ "$unanswered" -eq 0 ]
check "every answer came from the first workers ($workers)" \
    "answers from workers started since:$strangers" [ -z "$strangers" ]
check "the master ($master) is alive" "the master ($master) is gone" \
    kill -0 "$master"
now=$(ps -o pid= --ppid "$master" | sort -n | xargs || true)
check "the same workers are alive" "workers were $workers, are $now" \
    [ "$now" = "$workers" ]
crashes='exited on signal|\[alert\]|\[crit\]|\[emerg\]'
if grep -qE "$crashes" "$PREFIX/logs/error.log"; then
    grep -m 5 -E "$crashes" "$PREFIX/logs/error.log"
    fail "the error log reports $(grep -cE "$crashes" "$PREFIX/logs/error.log") crashes or alerts"
else
    pass "no crash in the error log"
fi

[ "$failures" -eq 0 ] || { echo "t/rebuild.sh: $failures failed" >&2; exit 1; }
echo "t/rebuild.sh: ok"
