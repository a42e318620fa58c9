#!/usr/bin/env bash
# Back-channel logout benchmark, one nginx worker: logouts of sessions with
# 1, 10 and 50 back-channel clients (local receivers in a second nginx),
# their redirect latency and the deliveries a second; then the p99 latency
# of unrelated requests on the same worker, alone and while logouts with
# RSA-2048-signed tokens for 20 clients run, in the same run. The worker is
# not pinned here: the thread pool that signs must be free to use the
# other cores, as it is in production.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
. bench/lib.sh

B=$ROOT/build/bench/backchannel
PORT=${PORT:-1995}
RECEIVER=$((PORT + 1))
USERS=${USERS:-8}
rm -rf "$B" && mkdir -p "$B/receiver"

# an RSA-2048 signing key and 50 clients whose receivers answer 200
perl -MCrypt::PK::RSA -MJSON::PP -e '
    my ($dir, $port) = @ARGV;
    my $rsa = Crypt::PK::RSA->new; $rsa->generate_key(256);
    open my $f, ">", "$dir/keys.json" or die;
    print $f encode_json({ keys => [{ %{ $rsa->export_key_jwk("private", 1) }, kid => "k1" }] });
    open $f, ">", "$dir/clients.json" or die;
    print $f encode_json([ map { my $id = sprintf "c%02d", $_;
        { client_id => $id, redirect_uris => ["https://$id.example.com/cb"],
          backchannel_logout_uri => "http://127.0.0.1:$port/bc/$id" } } 1 .. 50 ]);
' "$B" "$RECEIVER"

{
    nginx_main "$B" notice 4096
    cat <<CONF
http {
    access_log off;
    oidc_logout_issuer https://sso.example.com;
    oidc_logout_keys $B/keys.json;
    oidc_logout_clients $B/clients.json;
    oidc_logout_allowed_urls https://portal.example.com/;
    oidc_logout_zone zone=sso:64m;
    oidc_logout_session zone=sso secure=off;
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location = / { return 200 "unrelated\n"; }
        location = /login {
            oidc_logout_login \$arg_user;
            proxy_pass http://127.0.0.1:$PORT/ok;
        }
        location = /authorize {
            oidc_logout_join \$arg_client_id;
            proxy_pass http://127.0.0.1:$PORT/ok;
        }
        location = /ok { return 200; }
        location = /logout { oidc_logout auth0; }
    }
}
CONF
} >"$B/nginx.conf"
NGINX_CPU=()
bench_nginx "$B" "$PORT"

# the receivers: a second nginx, one worker
cat >"$B/receiver/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $B/receiver/nginx.pid;
error_log $B/receiver/error.log warn;
events { worker_connections 4096; }
http {
    log_format bc '\$request_uri';
    server {
        listen 127.0.0.1:$RECEIVER backlog=4096;
        location / { access_log $B/receiver/access.log bc buffer=64k flush=1s; return 200; }
    }
}
CONF
/usr/sbin/nginx -p "$B/receiver/" -c "$B/receiver/nginx.conf" \
    -e "$B/receiver/error.log" &
RECEIVER_PID=$!
trap 'kill -QUIT $BENCH_NGINX $RECEIVER_PID 2>/dev/null; wait 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -s -o /dev/null "127.0.0.1:$RECEIVER/" && break
    sleep 0.05
done

url=http://127.0.0.1:$PORT
drive() { node bench/backchannel_driver.mjs loop "$url" "$1" "$USERS" "$DURATION"; }
delivered() { kill -USR1 "$RECEIVER_PID"; sleep 1.5; wc -l <"$B/receiver/access.log"; }
field() { node -e "console.log(JSON.parse(process.argv[1])['$2'])" "$1"; }

echo "== logouts, $USERS users, ${DURATION}s each (sign in, join N clients, log out)"
printf '%-8s %10s %14s %14s %16s\n' clients 'logouts/s' 'redirect p50' 'redirect p99' 'deliveries/s'
before=0
for n in 1 10 50; do
    out=$(drive "$n")
    after=$(delivered)
    secs=$(field "$out" seconds)
    printf '%-8s %10.1f %11.2f ms %11.2f ms %16.1f\n' "$n" \
        "$(echo "$(field "$out" logouts) / $secs" | bc -l)" \
        "$(field "$out" p50)" "$(field "$out" p99)" \
        "$(echo "($after - $before) / $secs" | bc -l)"
    before=$after
done

# Unrelated requests: wrk on a plain location of the same worker, alone,
# then while sessions prepared beforehand are logged out at RATE a second,
# each sending RSA-2048-signed tokens to 20 clients.
RATE=${RATE:-10}
echo "== p99 latency of unrelated requests on the same worker (wrk -c8, ${DURATION}s)"
p99() { wrk -t1 -c8 -d"${DURATION}s" --latency "$url/" | awk '$1 == "99%" {print $2}'; }
alone=$(p99)
mkfifo "$B/driver.out"
node bench/backchannel_driver.mjs rate "$url" 20 "$RATE" "$DURATION" \
    >"$B/driver.out" 2>"$B/driver.err" &
exec 3<"$B/driver.out"
read -r ready <&3 || true
[ "$ready" = ready ] || { echo "driver: $(cat "$B/driver.err")" >&2; exit 1; }
busy=$(p99)
read -r out <&3
printf '%-52s %s\n' 'alone' "$alone" \
    "while $RATE logouts/s send 20 RSA-signed tokens each" "$busy" \
    'their redirect p50 / p99' "$(printf '%.2f ms / %.2f ms' "$(field "$out" p50)" "$(field "$out" p99)")"
grep -E '\[(alert|crit|error)\]' "$B/error.log" | head -3 || true
