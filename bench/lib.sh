# shellcheck shell=bash
# Shared by the benchmarks: a one-worker nginx with the built module, and
# wrk. Source it from the repository root.

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
# MODULE: the module to measure (another build, to compare in one run)
MODULE=${MODULE:-$PWD/build/ngx_http_oidc_logout_module.so}
[ -f "$MODULE" ] || ./build.sh >/dev/null

DURATION=${DURATION:-10}

# With two cores or more, nginx's worker and wrk get a core each, so that
# the load generator never competes with what it measures.
if [ "$(nproc)" -ge 2 ]; then
    NGINX_CPU=(taskset -c 0)
    WRK_CPU=(taskset -c 1-$(($(nproc) - 1)))
else
    NGINX_CPU=()
    WRK_CPU=()
fi

# nginx_main DIR [LEVEL [CONNECTIONS]]: the main context of a one-worker
# nginx that loads the module, its pid and error log in DIR (the log at
# LEVEL, default warn; CONNECTIONS a worker, default 1024).
nginx_main() {
    cat <<CONF
daemon off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log ${2:-warn};
load_module $MODULE;
events { worker_connections ${3:-1024}; }
CONF
}

# bench_stop: stops the nginxes that bench_nginx started; it runs when the
# script exits (a script that starts more redefines it).
BENCH_NGINXES=()
bench_stop() {
    kill -QUIT "${BENCH_NGINXES[@]}" 2>/dev/null || true
    wait "${BENCH_NGINXES[@]}" 2>/dev/null || true
}

# bench_nginx DIR PORT: starts /usr/sbin/nginx with DIR/nginx.conf in the
# background, stopped by bench_stop when the script exits, waits until it
# listens. BENCH_NGINX is its pid.
bench_nginx() {
    local dir=$1 port=$2
    if curl -s -o /dev/null "127.0.0.1:$port/"; then
        echo "127.0.0.1:$port is already in use: stop what listens there" >&2
        exit 1
    fi
    "${NGINX_CPU[@]}" /usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" \
        -e "$dir/error.log" &
    BENCH_NGINX=$!
    BENCH_NGINXES+=("$BENCH_NGINX")
    trap bench_stop EXIT
    for _ in $(seq 100); do
        kill -0 "$BENCH_NGINX" 2>/dev/null || break
        curl -s -o /dev/null "127.0.0.1:$port/" && return 0
        sleep 0.05
    done
    echo "nginx did not start; see $dir/error.log" >&2
    exit 1
}

# rps URL [wrk options]: requests per second of one run.
rps() {
    local url=$1
    shift
    "${WRK_CPU[@]}" wrk -t2 -c64 -d"${DURATION}s" "$@" "$url" |
        awk '/^Requests\/sec/ {print $2}'
}

# ratio A B: A / B with three decimals.
ratio() { printf '%.3f' "$(echo "$1 / $2" | bc -l)"; }

best() { printf '%s\n' "$@" | sort -g | tail -1; }

# median N...: the middle value (the upper middle of an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int(NR / 2) + 1]}'; }
