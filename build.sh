#!/usr/bin/env bash
# ngx_oidc_logout: install what is missing, build, test, run.
#
#   ./build.sh         build the module (build/ngx_http_oidc_logout_module.so)
#   ./build.sh test    build, then run every test suite
#   ./build.sh run     build, then run the stock nginx with nginx.conf.example
#                      on 127.0.0.1:8080 in the foreground (Ctrl-C stops it)
#
# Environment:
#   NGINX_SRC        nginx source tree to build against
#                    (default: Debian's nginx-dev tree, /usr/share/nginx/src)
#   NGINX_CONFIGURE  configure arguments for a tree without Debian's
#                    conf_flags; they must match the target binary's
#                    "nginx -V" (default: --with-compat)
#   NGINX_BINARY     nginx binary to test and run with (default /usr/sbin/nginx)

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
    libjansson-dev libcjose-dev
    check
    tini perl libtest-base-perl libcrypt-jwt-perl
)
# ... and what only the test suites need: the browser of the front-channel
# suite (with fonts for its screenshots), Apache with mod_auth_openidc (a
# relying party of the back-channel suite), openssl for test certificates
TEST_PACKAGES=(chromium fonts-dejavu-core liburi-perl
               apache2 libapache2-mod-auth-openidc openssl)

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
# playwright-core, which drives the browser) and t/interop/express-rp (a
# relying party on express-openid-connect).
install_node_packages() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        [ "$(id -u)" -eq 0 ] || die "node and npm are missing; run as root to install them"
        say "installing nodejs npm"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
    fi
    local dir stamp
    for dir in t/interop t/interop/express-rp; do
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

build_module() {
    local src=${NGINX_SRC:-/usr/share/nginx/src}
    [ -x "$src/configure" ] || die "no nginx source tree at $src (set NGINX_SRC)"

    say "building the core and the unit tests"
    make -s -j"$(nproc)" all

    # nginx's configure writes into its tree: work on a copy
    local tree=$BUILD/nginx
    local stamp=$BUILD/nginx.configured
    local want
    want="$src $(configure_flags "$src" | tr '\n' ' ') $(md5sum config | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "configuring nginx ($src)"
        rm -rf "$tree"
        mkdir -p "$BUILD"
        cp -a "$src" "$tree"
        local flags
        mapfile -t flags < <(configure_flags "$src")
        (cd "$tree" && ./configure "${flags[@]}" --add-dynamic-module="$ROOT" \
            >"$BUILD/configure.log" 2>&1) ||
            die "nginx configure failed; see $BUILD/configure.log"
        echo "$want" >"$stamp"
    fi

    say "building the module"
    # the core library is a prerequisite nginx's Makefile does not know
    rm -f "$tree/objs/ngx_http_oidc_logout_module.so"
    make -s -C "$tree" -f objs/Makefile modules >"$BUILD/make.log" 2>&1 ||
        { cat "$BUILD/make.log" >&2; die "module build failed"; }
    # a new file renamed over the old one: an nginx that has the old module
    # loaded (./build.sh run) keeps it, where rewriting it in place would
    # change the code under its processes and crash them
    install -m 644 "$tree/objs/ngx_http_oidc_logout_module.so" "$MODULE.new"
    mv -f "$MODULE.new" "$MODULE"
    say "built $MODULE"
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
    say "the hostile soak, ${SOAK_SECONDS:-120} s"
    SOAK_SECONDS=${SOAK_SECONDS:-120} NGINX_BINARY=$NGINX_BINARY MODULE=$MODULE \
        bench/soak.sh
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
*)     die "usage: ./build.sh [build|test|run]" ;;
esac
