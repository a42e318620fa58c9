#!/usr/bin/env bash
# The module's end_session endpoint beside node-oidc-provider's own, in the
# same run, both on the same core (wrk on the others): the GET by which a
# signed-in browser asks to sign out and gets the confirmation page, without
# a hint, with an RS256 (2048-bit) id_token_hint and with an ES256 one;
# requests a second of each and the module's ratio to the provider printed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
. bench/lib.sh

B=$ROOT/build/bench/peer
PORT=${PORT:-1992}
PEER_PORT=$((PORT + 1))
ISSUER=http://127.0.0.1:$PEER_PORT
rm -rf "$B" && mkdir -p "$B"

# node-oidc-provider, installed here (again when its package.json changes)
command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
stamp=bench/peer/node_modules/.package.json
if ! cmp -s bench/peer/package.json "$stamp"; then
    (cd bench/peer && npm install --no-save --no-package-lock --no-audit \
        --no-fund --loglevel=error >/dev/null)
    cp bench/peer/package.json "$stamp"
fi

# the signing keys (private for the provider, public for the module), two
# clients whose ID tokens are RS256 and ES256, and a hint of each: the
# provider's sid for that client, which is not the module's session
perl -MCrypt::JWT=encode_jwt -MCrypt::PK::RSA -MCrypt::PK::ECC -MJSON::PP -e '
    my ($dir, $iss) = @ARGV;
    my $rsa = Crypt::PK::RSA->new; $rsa->generate_key(256);
    my $ec = Crypt::PK::ECC->new; $ec->generate_key("secp256r1");
    my %kind = (rs => [$rsa, "RS256"], es => [$ec, "ES256"]);
    my (@private, @public, @clients);
    for my $id (sort keys %kind) {
        my ($key, $alg) = @{ $kind{$id} };
        push @private, { %{ $key->export_key_jwk("private", 1) }, kid => $id };
        push @public, { %{ $key->export_key_jwk("public", 1) }, kid => $id };
        push @clients, { client_id => $id, client_secret => "secret-of-$id",
            redirect_uris => ["https://$id.example.com/cb"],
            post_logout_redirect_uris => ["https://$id.example.com/logged-out"],
            id_token_signed_response_alg => $alg };
        open my $h, ">", "$dir/$id.jwt" or die;
        print $h encode_jwt(alg => $alg, key => $key,
            extra_headers => { kid => $id },
            payload => { iss => $iss, aud => $id, sub => "alice",
                         sid => "the-providers-sid", iat => time,
                         exp => time + 3600 });
    }
    my $put = sub { open my $f, ">", "$dir/$_[0]" or die; print $f encode_json($_[1]) };
    $put->("private.json", { keys => \@private });
    $put->("public.json", { keys => \@public });
    $put->("clients.json", \@clients);
' "$B" "$ISSUER"

{
    nginx_main "$B"
    cat <<CONF
http {
    access_log off;
    oidc_logout_issuer $ISSUER;
    oidc_logout_keys $B/public.json;
    oidc_logout_clients $B/clients.json;
    oidc_logout_zone zone=sso:16m;
    oidc_logout_session zone=sso secure=off;
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location = /login {
            oidc_logout_login \$arg_user;
            proxy_pass http://127.0.0.1:$PORT/ok;
        }
        location = /ok { return 200; }
        location = /session/end { oidc_logout oidc; }
    }
}
CONF
} >"$B/nginx.conf"
bench_nginx "$B" "$PORT"

# the provider on nginx's core; its warnings (development interactions, the
# default pages) go to its log
NODE_ENV=production "${NGINX_CPU[@]}" node bench/peer/provider.mjs \
    "$PEER_PORT" "$ISSUER" "$B/private.json" "$B/clients.json" \
    >"$B/provider.log" 2>&1 &
PEER=$!
trap 'kill $PEER 2>/dev/null; kill -QUIT $BENCH_NGINX 2>/dev/null; wait 2>/dev/null || true' EXIT
for _ in $(seq 200); do
    curl -s -o /dev/null "$ISSUER/.well-known/openid-configuration" && break
    kill -0 "$PEER" 2>/dev/null || { cat "$B/provider.log" >&2; exit 1; }
    sleep 0.05
done

# a signed-in browser at each: alice logs in at the module; at the provider
# she signs in through its login and consent pages and comes back with a code
curl -s -o /dev/null -c "$B/module.jar" "http://127.0.0.1:$PORT/login?user=alice"
jar=$B/peer.jar
# (PKCE's example of RFC 7636: the provider requires it)
next="$ISSUER/auth?client_id=rs&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Frs.example.com%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
for _ in $(seq 10); do
    case $next in
    https://rs.example.com/cb\?*) break ;;
    */interaction/*)
        page=$(curl -s -b "$jar" -c "$jar" "$next")
        prompt=$(sed -n 's/.*name="prompt" value="\([a-z]*\)".*/\1/p' <<<"$page" | head -1)
        next=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$jar" -c "$jar" \
            --data "prompt=$prompt&login=alice&password=any" "$next") ;;
    *) next=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$jar" -c "$jar" "$next") ;;
    esac
    case $next in /*) next=$ISSUER$next ;; esac
done
case $next in
https://rs.example.com/cb\?code=*) ;;
*) echo "could not sign in at the provider (ended at $next); see $B/provider.log" >&2; exit 1 ;;
esac

# the cookies of a curl jar whose path is "/"
cookies() { awk -F'\t' '!/^# / && $3 == "/" {printf "%s%s=%s", n++ ? "; " : "", $6, $7}' "$1"; }
module_cookie="Cookie: $(cookies "$B/module.jar")"
peer_cookie="Cookie: $(cookies "$jar")"

back() { echo "post_logout_redirect_uri=https%3A%2F%2F$1.example.com%2Flogged-out"; }
declare -A query=(
    [no_hint]="client_id=rs&$(back rs)"
    [rs256]="id_token_hint=$(cat "$B/rs.jwt")&$(back rs)"
    [es256]="id_token_hint=$(cat "$B/es.jwt")&$(back es)")
cases=(no_hint rs256 es256)

# each answers its confirmation page to each case, having checked the hint
for case in "${cases[@]}"; do
    q=${query[$case]}
    curl -s -H "$module_cookie" "http://127.0.0.1:$PORT/session/end?$q" |
        grep -q 'name="confirm"' ||
        { echo "$case: the module does not ask to confirm" >&2; exit 1; }
    curl -s -H "$peer_cookie" "$ISSUER/session/end?$q" | grep -q 'id="op.logoutForm"' ||
        { echo "$case: the provider does not ask to confirm" >&2; exit 1; }
done
if grep -q 'refused' "$B/error.log"; then
    echo "the module refused a hint: $(grep refused "$B/error.log" | head -1)" >&2
    exit 1
fi
bad=$(curl -s -o /dev/null -w '%{http_code}' -H "$peer_cookie" \
    "$ISSUER/session/end?id_token_hint=$(cat "$B/rs.jwt")x&$(back rs)")
[ "$bad" = 400 ] || { echo "the provider took a forged hint ($bad)" >&2; exit 1; }

# Node compiles the provider's hot paths while it runs: a first run of each
# case on both sides, not counted
for case in "${cases[@]}"; do
    q=${query[$case]}
    DURATION=2 rps "http://127.0.0.1:$PORT/session/end?$q" -H "$module_cookie" >/dev/null
    DURATION=2 rps "$ISSUER/session/end?$q" -H "$peer_cookie" >/dev/null
done

# The machine's speed drifts between runs (shared cores, frequency): each
# round runs the module and the provider back to back for every case, a
# ratio is taken within its round, and the median round counts.
ROUNDS=${ROUNDS:-5}
echo "== GET end_session answering the confirmation page: the module against node-oidc-provider $(
    node -p 'require("./bench/peer/node_modules/oidc-provider/package.json").version'
) (${ROUNDS} rounds of ${DURATION}s runs, both on one core)"
printf '%-7s %-8s %13s %15s %8s\n' round case 'module req/s' 'provider req/s' ratio
declare -A ratios mods peers
for round in $(seq "$ROUNDS"); do
    for case in "${cases[@]}"; do
        q=${query[$case]}
        m=$(rps "http://127.0.0.1:$PORT/session/end?$q" -H "$module_cookie")
        p=$(rps "$ISSUER/session/end?$q" -H "$peer_cookie")
        r=$(ratio "$m" "$p")
        mods[$case]+="$m "
        peers[$case]+="$p "
        ratios[$case]+="$r "
        printf '%-7s %-8s %13.0f %15.0f %8s\n' "$round" "$case" "$m" "$p" "$r"
    done
done
for case in "${cases[@]}"; do
    # shellcheck disable=SC2086 # the figures of a case, one word each
    printf '%-7s %-8s %13.0f %15.0f %8s\n' median "$case" "$(median ${mods[$case]})" \
        "$(median ${peers[$case]})" "$(median ${ratios[$case]})"
done
