#!/usr/bin/env bash
# ngx_oidc_logout: install what is missing, build, test, run.
#
#   ./build.sh         build the module (build/ngx_http_oidc_logout_module.so)
#   ./build.sh test    build, then run every test suite
#   ./build.sh run     build, then run the stock nginx with nginx.conf.example
#                      on 127.0.0.1:8080 in the foreground (Ctrl-C stops it)
#   ./build.sh asan    build a debug nginx (Debian's source), the core and the
#                      module with ASan and UBSan in build/asan/, then run the
#                      unit tests, the Test::Nginx suites and bench/soak.sh
#                      with them; any sanitizer report fails
#
# Environment:
#   NGINX_SRC        nginx source tree to build against
#                    (default: Debian's nginx-dev tree, /usr/share/nginx/src)
#   NGINX_CONFIGURE  configure arguments for a tree without Debian's
#                    conf_flags; they must match the target binary's
#                    "nginx -V" (default: --with-compat)
#   NGINX_BINARY     nginx binary to test and run with (default /usr/sbin/nginx;
#                    asan: its own)
#   SOAK_SECONDS     length of the soak of ./build.sh asan (default 600)

set -euo pipefail

cd "$(dirname "$0")"
ROOT=$PWD
BUILD=$ROOT/build
MODULE=$BUILD/ngx_http_oidc_logout_module.so
NGINX_BINARY=${NGINX_BINARY:-/usr/sbin/nginx}

say() { printf '==> %s\n' "$*"; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# Debian packages the build and the test suites need.
PACKAGES=(
    build-essential pkg-config
    nginx nginx-dev libpcre2-dev zlib1g-dev libssl-dev
    libjansson-dev libcjose-dev libhiredis-dev
    check
    tini perl libtest-base-perl libcrypt-jwt-perl
)
# ... and what only the test suites need: the browser of the front-channel
# suite (with fonts for its screenshots), Apache with mod_auth_openidc (a
# relying party of the back-channel suite), openssl for test certificates,
# Prometheus's Python client, whose text-format parser reads the metrics
# page (t/support/prometheus_parse.py), and the Redis server that nodes of
# a cluster share
TEST_PACKAGES=(chromium fonts-dejavu-core liburi-perl
               apache2 libapache2-mod-auth-openidc openssl
               python3-prometheus-client redis-server)

install_packages() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root to install them"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Node and the npm packages of the Node peers: t/interop (Node's jose, and
# playwright-core, which drives the browser), t/interop/express-rp (a
# relying party on express-openid-connect) and t/interop/provider (an
# unmodified node-oidc-provider).
install_node_packages() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        [ "$(id -u)" -eq 0 ] || die "node and npm are missing; run as root to install them"
        say "installing nodejs npm"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    local dir stamp
    for dir in t/interop t/interop/express-rp t/interop/provider; do
        # installed again whenever package.json changes
        stamp=$dir/node_modules/.package.json
        cmp -s "$dir/package.json" "$stamp" && continue
        say "installing the npm packages of $dir"
        (cd "$dir" && npm install --no-save --no-package-lock --no-audit \
            --no-fund --loglevel=error >/dev/null) || die "npm install failed in $dir"
        cp "$dir/package.json" "$stamp"
    done
}

configure_flags() {
    local src=$1
    if [ -f "$src/conf_flags" ]; then
        # Debian's flags of /usr/sbin/nginx (they include --with-compat)
        # shellcheck disable=SC1091
        . "$src/conf_flags"
        printf '%s\n' "${NGX_CONF_FLAGS[@]}"
    else
        # shellcheck disable=SC2086  # one word per configure argument
        printf '%s\n' ${NGINX_CONFIGURE:---with-compat}
    fi
}

# build_core DIR [VARIABLE=value...]: the core and the unit tests into DIR
build_core() {
    local dir=$1
    shift
    # the Makefile does not know its variables: new ones, a new build
    if [ "$(cat "$dir/core.flags" 2>/dev/null)" != "$*" ]; then
        rm -rf "$dir/core" "$dir/unit"
        mkdir -p "$dir"
        echo "$*" >"$dir/core.flags"
    fi
    say "building the core and the unit tests"
    make -s -j"$(nproc)" BUILD="${dir#"$ROOT"/}" "$@" all
}

# configure_nginx SRC TREE [configure arguments...]: nginx's configure
# writes into its tree, so it runs on a copy of SRC, TREE, with the module
# added; again only when the flags or the module's config change. The
# module links the core library of TREE's directory.
configure_nginx() {
    local src=$1 tree=$2
    shift 2
    local dir stamp want flags
    dir=$(dirname "$tree")
    stamp=$tree.configured
    mapfile -t flags < <(configure_flags "$src")
    flags+=("$@" --add-dynamic-module="$ROOT")
    want="$src ${flags[*]} $(md5sum config | cut -d' ' -f1)"
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0

    say "configuring nginx ($src)"
    rm -rf "$tree"
    mkdir -p "$dir"
    cp -a "$src" "$tree"
    (cd "$tree" && OIDC_LOGOUT_CORE_DIR=$dir ./configure "${flags[@]}" \
        >"$dir/configure.log" 2>&1) ||
        die "nginx configure failed; see $dir/configure.log"
    echo "$want" >"$stamp"
}

# make_nginx TREE TARGET: a target of TREE's Makefile (modules, or build:
# nginx too), then the module copied beside TREE
make_nginx() {
    local tree=$1 target=$2 dir
    dir=$(dirname "$tree")
    # the core library is a prerequisite nginx's Makefile does not know
    rm -f "$tree/objs/ngx_http_oidc_logout_module.so"
    make -s -j"$(nproc)" -C "$tree" -f objs/Makefile "$target" \
        >"$dir/make.log" 2>&1 ||
        { cat "$dir/make.log" >&2; die "build failed in $tree"; }
    # a new file renamed over the old one: an nginx that has the old module
    # loaded (./build.sh run) keeps it, where rewriting it in place would
    # change the code under its processes and crash them
    install -m 644 "$tree/objs/ngx_http_oidc_logout_module.so" \
        "$dir/ngx_http_oidc_logout_module.so.new"
    mv -f "$dir/ngx_http_oidc_logout_module.so.new" \
        "$dir/ngx_http_oidc_logout_module.so"
}

build_module() {
    local src=${NGINX_SRC:-/usr/share/nginx/src}
    [ -x "$src/configure" ] || die "no nginx source tree at $src (set NGINX_SRC)"

    build_core "$BUILD"
    configure_nginx "$src" "$BUILD/nginx"
    say "building the module"
    make_nginx "$BUILD/nginx" modules
    say "built $MODULE"
}

# The sanitizer build (./build.sh asan) lives in build/asan/: a debug nginx
# from Debian's source of the installed nginx-dev, the core, the unit tests
# and the module, all built by clang with ASan and UBSan (clang's UBSan,
# unlike gcc's beside ASan, writes its reports where log_path says).
# NGX_DEBUG_PALLOC makes every pool allocation its own malloc, so that ASan
# sees pool memory. Every dynamic module defines an ngx_modules[] array of
# its own, as nginx's executable does, by design: with ODR indicators ASan
# keeps the module's apart from the executable's (which a reload would
# otherwise overrun), and detect_odr_violation=0 accepts the two.
ASAN_DIR=$BUILD/asan
ASAN_PACKAGES=(clang)
SANITIZE="-fsanitize=address,undefined -fsanitize-address-use-odr-indicator \
-fno-omit-frame-pointer"

# nginx-dev ships nginx's headers and build scripts, not its sources: the
# full source package comes from Debian's source archives through a list of
# its own (the system's apt lists are left alone), unpacked with Debian's
# patches, with nginx-dev's conf_flags beside it. The version of nginx-dev
# when the archives have it, else another Debian revision of the same
# upstream version. Prints the tree's path; build/asan/nginx-source says
# which tree serves which nginx-dev.
debian_nginx_source() {
    local version have='' v src='' apt=$ASAN_DIR/apt
    version=$(dpkg-query -W -f='${Version}' nginx-dev)
    read -r have src 2>/dev/null <"$ASAN_DIR/nginx-source" || true
    if [ "$have" = "$version" ] && [ -x "$src/configure" ]; then
        echo "$src"
        return 0
    fi

    local opts=(-o Dir::Etc::SourceList="$apt/sources.list"
                -o Dir::Etc::SourceParts=/dev/null
                -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
                -o APT::Sandbox::User=root)
    local key=/usr/share/keyrings/debian-archive-keyring.gpg codename
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    mkdir -p "$apt/lists/partial" "$apt/cache"
    cat >"$apt/sources.list" <<EOF
deb-src [signed-by=$key] http://deb.debian.org/debian $codename main
deb-src [signed-by=$key] http://deb.debian.org/debian-security $codename-security main
EOF
    say "fetching Debian's source of nginx $version" >&2
    apt-get "${opts[@]}" -qq update >&2 ||
        die "apt-get update of Debian's source lists failed"
    for v in $( (echo "$version"
                 apt-cache "${opts[@]}" showsrc nginx |
                     sed -n "s/^Version: \(${version%-*}-.*\)/\1/p" |
                     sort -rV) | awk '!seen[$0]++'); do
        (cd "$apt" && apt-get "${opts[@]}" -qq source --download-only \
            "nginx=$v" >"$apt/source.log" 2>&1) || continue
        [ "$v" = "$version" ] ||
            say "(the archives no longer have nginx $version: taking $v)" >&2
        src=$ASAN_DIR/nginx-$v
        rm -rf "$ASAN_DIR"/nginx-[0-9]*
        dpkg-source --no-copy -x "$apt/nginx_$v.dsc" "$src" \
            >"$ASAN_DIR/dpkg-source.log" 2>&1 ||
            die "dpkg-source could not unpack nginx $v; see $ASAN_DIR/dpkg-source.log"
        cp /usr/share/nginx/src/conf_flags "$src/"
        echo "$version $src" >"$ASAN_DIR/nginx-source"
        echo "$src"
        return 0
    done
    die "no source package of nginx ${version%-*} could be fetched; see $apt/source.log"
}

build_asan() {
    local src
    src=$(debian_nginx_source)
    # nginx and the unit tests are linked by the C driver: it is told to
    # add the sanitizers' C++ runtime (the core's vptr checks) and its
    # libstdc++
    local link="$SANITIZE -fsanitize-link-c++-runtime -lstdc++"
    build_core "$ASAN_DIR" CC=clang CXX=clang++ CXXFLAGS="-O1 -g $SANITIZE" \
        CFLAGS="-O1 -g $SANITIZE" LDFLAGS="$link"
    configure_nginx "$src" "$ASAN_DIR/nginx" --with-cc=clang --with-debug \
        --with-cc-opt="-O1 -g $SANITIZE -DNGX_DEBUG_PALLOC=1" --with-ld-opt="$link"
    say "building nginx and the module with ASan and UBSan"
    make_nginx "$ASAN_DIR/nginx" build
    NGINX_BINARY=$ASAN_DIR/nginx/objs/nginx
    MODULE=$ASAN_DIR/ngx_http_oidc_logout_module.so
    say "built $NGINX_BINARY and $MODULE"
}

# The Test::Nginx suites: the real Test::Nginx::Socket when it is installed
# (or given through PERL5LIB), the project's compatible runner otherwise.
run_nginx_suites() {
    local perl5lib=${PERL5LIB:-}
    if PERL5LIB=$perl5lib perl -MTest::Nginx::Socket -e 1 2>/dev/null; then
        say "Test::Nginx suites (installed Test::Nginx::Socket)"
    else
        say "Test::Nginx suites (the project's runner, t/lib)"
        perl5lib=$ROOT/t/lib${perl5lib:+:$perl5lib}
    fi
    # tini reaps the nginx processes that each test block starts
    PERL5LIB=$perl5lib \
    TEST_NGINX_BINARY=$NGINX_BINARY \
    TEST_NGINX_LOAD_MODULES=$MODULE \
        tini -s -- prove -r t/
}

run_tests() {
    say "unit tests"
    t/unit/check-registered.sh
    t/check-directives.sh
    "$BUILD/check_core"
    say "nginx.conf.example: nginx -t"
    example_nginx -t -q -g "pid $EXAMPLE_PREFIX/nginx.pid;"
    say "a rebuild under a serving nginx"; NGINX_BINARY=$NGINX_BINARY t/rebuild.sh
    run_nginx_suites
    SOAK_SECONDS=${SOAK_SECONDS:-120} run_soak
}

# The unit tests, the Test::Nginx suites and the hostile soak under the
# sanitizers. nginx sends its stderr to the error log, which each test block
# starts anew: the sanitizers write their reports to files of their own,
# build/asan/reports/san.<pid>, and a report stops the process that made it
# (so the test that caused it fails too). Any report fails the run. nginx
# leaves its memory to the exit by design: no leak checks there.
run_asan_tests() {
    local reports=$ASAN_DIR/reports status=0
    rm -rf "$reports"
    # writable by the workers of the suites that leave them to "nobody"
    mkdir -m 1777 "$reports"
    export ASAN_OPTIONS="detect_leaks=0:detect_odr_violation=0:halt_on_error=1:log_path=$reports/san"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/san:suppressions=$ROOT/t/sanitizers/ubsan.supp"

    # the core frees what it allocates: leaks are checked here, in one
    # process (CK_FORK=no) so that LeakSanitizer runs once
    say "unit tests (ASan, UBSan, LeakSanitizer)"
    CK_FORK=no ASAN_OPTIONS=${ASAN_OPTIONS/detect_leaks=0/detect_leaks=1} \
    LSAN_OPTIONS="suppressions=$ROOT/t/sanitizers/lsan.supp:print_suppressions=0" \
        "$ASAN_DIR/check_core" || status=1
    run_nginx_suites || status=1
    # the soak only when the rest passed
    [ $status -ne 0 ] || run_soak || status=1

    local found=("$reports"/san.*)
    if [ -e "${found[0]}" ]; then
        # the first in full, then every one by the place it names
        cat "${found[0]}" >&2
        grep -h '^SUMMARY' "${found[@]}" | sort | uniq -c | sort -rn >&2
        die "${#found[@]} sanitizer reports in $reports"
    fi
    [ $status -eq 0 ] || die "tests failed under the sanitizers"
    say "no sanitizer report"
}

# bench/soak.sh against $NGINX_BINARY and $MODULE, SOAK_SECONDS long
run_soak() {
    if [ ! -f bench/soak.sh ]; then
        printf 'build.sh: bench/soak.sh is missing: the tests end with the hostile soak\n' >&2
        return 1
    fi
    say "hostile soak, ${SOAK_SECONDS}s"
    NGINX_BINARY=$NGINX_BINARY MODULE=$MODULE SOAK_SECONDS=$SOAK_SECONDS \
        bash bench/soak.sh
}

# nginx.conf.example under a prefix whose modules/ holds the built module,
# with build/run/keys.json: the public keys of keys.example.json and a
# private key made here, which signs the example's logout tokens.
EXAMPLE_PREFIX=$BUILD/run
example_nginx() {
    mkdir -p "$EXAMPLE_PREFIX/logs" "$EXAMPLE_PREFIX/modules"
    # made again when keys.example.json changes; private: for root only
    [ -s "$EXAMPLE_PREFIX/keys.json" ] &&
        [ "$EXAMPLE_PREFIX/keys.json" -nt "$ROOT/keys.example.json" ] ||
        (umask 077 && perl -MCrypt::PK::RSA -MJSON::PP -e '
        my ($public, $out) = @ARGV;
        open my $f, "<", $public or die "$public: $!";
        my $jwks = decode_json(do { local $/; <$f> });
        my $key = Crypt::PK::RSA->new;
        $key->generate_key(256);
        unshift @{ $jwks->{keys} }, { %{ $key->export_key_jwk("private", 1) },
                                      kid => "example-signing", use => "sig" };
        open $f, ">", $out or die "$out: $!";
        print $f JSON::PP->new->canonical->pretty->encode($jwks);
    ' "$ROOT/keys.example.json" "$EXAMPLE_PREFIX/keys.json")
    ln -sf "$MODULE" "$EXAMPLE_PREFIX/modules/ngx_http_oidc_logout_module.so"
    "$NGINX_BINARY" -p "$EXAMPLE_PREFIX/" -c "$ROOT/nginx.conf.example" \
        -e stderr "$@"
}

run_example() {
    example_nginx -t -g "pid $EXAMPLE_PREFIX/nginx.pid;"
    say "serving nginx.conf.example on http://127.0.0.1:8080/ (Ctrl-C stops)"
    # in the foreground: Ctrl-C reaches nginx, which shuts down
    exec "$NGINX_BINARY" -p "$EXAMPLE_PREFIX/" -c "$ROOT/nginx.conf.example" \
        -e stderr -g "daemon off; pid $EXAMPLE_PREFIX/nginx.pid;"
}

case "${1:-build}" in
build) install_packages "${PACKAGES[@]}"; build_module ;;
test)  install_packages "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
       install_node_packages; build_module; run_tests ;;
run)   install_packages "${PACKAGES[@]}"; build_module; run_example ;;
asan)  install_packages "${PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${ASAN_PACKAGES[@]}"
       install_node_packages; build_asan
       SOAK_SECONDS=${SOAK_SECONDS:-600} run_asan_tests ;;
*)     die "usage: ./build.sh [build|test|run|asan]" ;;
esac
