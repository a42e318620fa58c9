#!/usr/bin/env bash
# Sessions benchmark, one nginx worker, all in the same run:
#  1. throughput of a location with oidc_logout_require_session against the
#     same location without it (both serve one small static file), and the
#     ratio;
#  2. the same with 100,000 live sessions in the zone, best of 3 (the sweep looks
#     for expired ones every second meanwhile), against a bare "return 200"
#     and a bare empty_gif (require_session needs a content handler:
#     "return" answers before the access phase);
#  3. how many sessions (32-byte subject, two clients) a 64m zone holds
#     before it evicts, and the zone bytes per session.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
. bench/lib.sh

B=$ROOT/build/bench/sessions
PORT=${PORT:-1991}
rm -rf "$B" && mkdir -p "$B/html"
echo ok >"$B/html/ok.txt"
{
    nginx_main "$B"
    cat <<CONF
http {
    access_log off;
    oidc_logout_clients $ROOT/t/data/clients.json;
    oidc_logout_zone zone=sso:64m;
    oidc_logout_session zone=sso secure=off;
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location = /bare { alias $B/html/ok.txt; }
        location = /app { oidc_logout_require_session on; alias $B/html/ok.txt; }
        location = /login { oidc_logout_login \$arg_user; alias $B/html/ok.txt; }
        location = /authorize { oidc_logout_join \$arg_client_id; alias $B/html/ok.txt; }
        location = /return { return 200; }
        location = /gif { empty_gif; }
        location = /app-gif { oidc_logout_require_session on; empty_gif; }
        location = /metrics { oidc_logout_metrics; }
    }
}
CONF
} >"$B/nginx.conf"
bench_nginx "$B" "$PORT"

cookie=$(curl -s -D - -o /dev/null "127.0.0.1:$PORT/login?user=bench" |
         sed -n 's/^Set-Cookie: oidc_session=\([^;]*\).*/\1/p')
[ "$(curl -s -o /dev/null -w '%{http_code}' -b "oidc_session=$cookie" "127.0.0.1:$PORT/app")" = 200 ]

echo "== require_session throughput (${DURATION}s runs, alternated, best of 2)"
url=http://127.0.0.1:$PORT
h="Cookie: oidc_session=$cookie"
b1=$(rps "$url/bare" -H "$h"); a1=$(rps "$url/app" -H "$h")
b2=$(rps "$url/bare" -H "$h"); a2=$(rps "$url/app" -H "$h")
bare=$(best "$b1" "$b2"); app=$(best "$a1" "$a2")
printf 'bare location        %10.0f req/s\n' "$bare"
printf 'require_session      %10.0f req/s\n' "$app"
printf 'ratio                %10s\n' "$(ratio "$app" "$bare")"

live() {
    curl -s "127.0.0.1:$PORT/metrics" | sed -n 's/^oidc_logout_sessions{[^}]*} \([0-9]*\)$/\1/p'
}
echo "== require_session with 100,000 live sessions, the sweep on"
chunk=0
while [ "$(live)" -lt 100000 ]; do
    chunk=$((chunk + 1))
    [ $chunk -le 30 ] || { echo "could not store 100,000 sessions" >&2; exit 1; }
    wrk -t4 -c4 -d5s -s bench/fill_sessions.lua "http://127.0.0.1:$PORT" -- "$chunk" >/dev/null
done
printf 'live sessions        %10d\n' "$(live)"
rs=(); gs=(); as=()
for _ in 1 2 3; do
    rs+=("$(rps "$url/return" -H "$h")"); gs+=("$(rps "$url/gif" -H "$h")")
    as+=("$(rps "$url/app-gif" -H "$h")")
done
ret=$(best "${rs[@]}"); gif=$(best "${gs[@]}"); app=$(best "${as[@]}")
printf 'return 200           %10.0f req/s\n' "$ret"
printf 'empty_gif            %10.0f req/s\n' "$gif"
printf 'require_session      %10.0f req/s (empty_gif)\n' "$app"
printf 'ratio to return 200  %10s\n' "$(ratio "$app" "$ret")"
printf 'ratio to empty_gif   %10s\n' "$(ratio "$app" "$gif")"

echo "== sessions in a 64m zone (32-byte subject, two clients)"
until grep -q 'is full at' "$B/error.log"; do
    chunk=$((chunk + 1))
    [ $chunk -le 60 ] || { echo "the zone never filled" >&2; exit 1; }
    wrk -t4 -c4 -d10s -s bench/fill_sessions.lua "http://127.0.0.1:$PORT" -- "$chunk" >/dev/null
done
sessions=$(sed -n 's/.*is full at \([0-9]*\) sessions.*/\1/p' "$B/error.log" | head -1)
printf 'sessions before the first eviction %10d\n' "$sessions"
printf 'zone bytes per session             %10.1f\n' "$(echo "64 * 1048576 / $sessions" | bc -l)"
