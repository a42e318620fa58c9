#!/usr/bin/env bash
# Sessions benchmark, one nginx worker, all in the same run:
#  1. throughput of a location with oidc_logout_require_session against the
#     same location without it (both serve one small static file), and the
#     ratio;
#  2. how many sessions (32-byte subject, two clients) a 64m zone holds
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

echo "== sessions in a 64m zone (32-byte subject, two clients)"
chunk=0
until grep -q 'is full at' "$B/error.log"; do
    chunk=$((chunk + 1))
    [ $chunk -le 30 ] || { echo "the zone never filled" >&2; exit 1; }
    wrk -t4 -c4 -d10s -s bench/fill_sessions.lua "http://127.0.0.1:$PORT" -- "$chunk" >/dev/null
done
sessions=$(sed -n 's/.*is full at \([0-9]*\) sessions.*/\1/p' "$B/error.log" | head -1)
printf 'sessions before the first eviction %10d\n' "$sessions"
printf 'zone bytes per session             %10.1f\n' "$(echo "64 * 1048576 / $sessions" | bc -l)"
