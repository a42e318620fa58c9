#!/usr/bin/env bash
# Cluster benchmark: three nginx nodes (one worker each) sharing their
# sessions through one redis-server (oidc_logout_zone ... redis=), all on
# 127.0.0.1 and started here, in the same run:
#  1. logout-to-refusal latency: LOGOUTS times (default 500) a session is
#     started on node 1, used on node 3 (which then holds it), logged out
#     on node 2, and node 3 is asked again and again from the moment node
#     2's answer arrives until it refuses the cookie: p50, p99 and max in
#     ms (bench/cluster_latency.pl, keep-alive connections);
#  2. throughput of require_session (guarding empty_gif) on node 1, whose
#     zone has Redis configured, against a bare "return 200" of the same
#     node, alternated, best of ROUNDS (default 3): the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
. bench/lib.sh

command -v redis-server >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }

B=$ROOT/build/bench/cluster
PORT=${PORT:-2080}           # node n listens on PORT + n - 1
REDIS_PORT=$((PORT + 3))
LOGOUTS=${LOGOUTS:-500}
ROUNDS=${ROUNDS:-3}
rm -rf "$B" && mkdir -p "$B/redis"

# Redis persists as a cluster's should (appendonly, its default fsync once
# a second), without snapshots
if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    echo "127.0.0.1:$REDIS_PORT is already in use: stop what listens there" >&2
    exit 1
fi
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$B/redis" \
    --appendonly yes --save '' --daemonize no >"$B/redis/redis.log" 2>&1 &
REDIS=$!
bench_stop() {
    kill -QUIT "${BENCH_NGINXES[@]}" 2>/dev/null || true
    kill "$REDIS" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap bench_stop EXIT
for _ in $(seq 100); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
    kill -0 $REDIS 2>/dev/null || break
    sleep 0.05
done
redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG ||
    { echo "redis-server did not start; see $B/redis/redis.log" >&2; exit 1; }

for n in 1 2 3; do
    dir=$B/node$n
    mkdir -p "$dir"
    {
        nginx_main "$dir"
        cat <<CONF
http {
    access_log off;
    oidc_logout_clients $ROOT/t/data/clients.json;
    oidc_logout_zone zone=sso:64m redis=127.0.0.1:$REDIS_PORT;
    oidc_logout_session zone=sso secure=off;
    server {
        listen 127.0.0.1:$((PORT + n - 1)) backlog=4096;
        location = /login { oidc_logout_login \$arg_user; empty_gif; }
        location = /app { oidc_logout_require_session on; empty_gif; }
        location = /logout { oidc_logout auth0; }
        location = /return { return 200; }
    }
}
CONF
    } >"$dir/nginx.conf"
    bench_nginx "$dir" $((PORT + n - 1))
done

echo "== logout on node 2 until node 3 refuses ($LOGOUTS logouts)"
perl bench/cluster_latency.pl "$LOGOUTS" "$PORT" $((PORT + 1)) $((PORT + 2))

echo "== require_session on node 1 with Redis configured (${DURATION}s runs, alternated, best of $ROUNDS)"
url=http://127.0.0.1:$PORT
cookie=$(curl -s -D - -o /dev/null "$url/login?user=bench" |
         sed -n 's/^Set-Cookie: oidc_session=\([^;]*\).*/\1/p')
[ "$(curl -s -o /dev/null -w '%{http_code}' -b "oidc_session=$cookie" "$url/app")" = 200 ]
h="Cookie: oidc_session=$cookie"
rs=(); as=()
for _ in $(seq "$ROUNDS"); do
    rs+=("$(rps "$url/return" -H "$h")"); as+=("$(rps "$url/app" -H "$h")")
done
ret=$(best "${rs[@]}"); app=$(best "${as[@]}")
printf 'return 200           %10.0f req/s\n' "$ret"
printf 'require_session      %10.0f req/s (empty_gif, Redis configured)\n' "$app"
printf 'ratio                %10s\n' "$(ratio "$app" "$ret")"
