#!/usr/bin/env bash
# Logout endpoint benchmark, one nginx worker, all in the same run: the
# endpoint against a bare "return 302" location, for a cookie-only logout,
# an RS256 (2048-bit) id_token_hint and an ES256 one; ratios printed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/lib.sh
. bench/lib.sh

B=$ROOT/build/bench/logout
PORT=${PORT:-1994}
rm -rf "$B" && mkdir -p "$B"

# keys and hints, made here with Crypt::JWT
perl -MCrypt::JWT=encode_jwt -MCrypt::PK::RSA -MCrypt::PK::ECC -MJSON::PP -e '
    my $dir = shift;
    my $rsa = Crypt::PK::RSA->new; $rsa->generate_key(256);
    my $ec = Crypt::PK::ECC->new; $ec->generate_key("secp256r1");
    my @keys = ({ %{ $rsa->export_key_jwk("public", 1) }, kid => "rsa" },
                { %{ $ec->export_key_jwk("public", 1) }, kid => "ec" });
    open my $f, ">", "$dir/jwks.json" or die; print $f encode_json({ keys => \@keys });
    my %c = (iss => "https://sso.example.com", aud => "app1", sub => "alice",
             iat => time, exp => time + 3600);
    for ([rs256 => $rsa, "RS256", "rsa"], [es256 => $ec, "ES256", "ec"]) {
        open my $h, ">", "$dir/$_->[0].jwt" or die;
        print $h encode_jwt(payload => \%c, alg => $_->[2], key => $_->[1],
                            extra_headers => { kid => $_->[3] });
    }' "$B"

{
    nginx_main "$B"
    cat <<CONF
http {
    access_log off;
    oidc_logout_issuer https://sso.example.com;
    oidc_logout_keys $B/jwks.json;
    oidc_logout_clients $ROOT/t/data/clients.json;
    oidc_logout_zone zone=sso:16m;
    oidc_logout_session zone=sso secure=off;
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location = /bare { return 302 https://app1.example.com/logged-out; }
        location = /logout { oidc_logout oidc; }
    }
}
CONF
} >"$B/nginx.conf"
bench_nginx "$B" "$PORT"

url=http://127.0.0.1:$PORT
back=post_logout_redirect_uri=https%3A%2F%2Fapp1.example.com%2Flogged-out
cookie_only="$url/logout?client_id=app1&$back"
rs256="$url/logout?id_token_hint=$(cat "$B/rs256.jwt")&$back"
es256="$url/logout?id_token_hint=$(cat "$B/es256.jwt")&$back"
for u in "$cookie_only" "$rs256" "$es256"; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Cookie: oidc_session=AAAAAAAAAAAAAAAAAAAAAA' "$u")" = 302 ] ||
        { echo "the endpoint does not redirect: $u" >&2; exit 1; }
done

# The machine's speed drifts between runs (shared cores, frequency): each
# round runs the bare location and every case back to back, a case's ratio
# is taken against its own round's bare run, and the median round counts.
ROUNDS=${ROUNDS:-5}
cases=(cookie_only rs256 es256)
echo "== logout endpoint against a bare \"return 302\" (${ROUNDS} rounds of ${DURATION}s runs)"
printf '%-8s %14s' round 'bare req/s'
printf ' %12s' "${cases[@]}"
echo
h='Cookie: oidc_session=AAAAAAAAAAAAAAAAAAAAAA'
declare -A ratios
bares=()
for round in $(seq "$ROUNDS"); do
    bare=$(rps "$url/bare" -H "$h")
    bares+=("$bare")
    printf '%-8s %14.0f' "$round" "$bare"
    for case in "${cases[@]}"; do
        u=${!case}
        r=$(ratio "$(rps "$u" -H "$h")" "$bare")
        ratios[$case]+="$r "
        printf ' %12s' "$r"
    done
    echo
done
bare=$(median "${bares[@]}")
printf '%-8s %14.0f' median "$bare"
for case in "${cases[@]}"; do
    # shellcheck disable=SC2086 # the ratios of a case, one word each
    printf ' %12s' "$(median ${ratios[$case]})"
done
echo

echo "== the signature checks alone (openssl speed, one core)"
speed=$(openssl speed -seconds 2 rsa2048 ecdsap256 2>/dev/null)
rsa=$(awk '/^rsa 2048/ {print $NF}' <<<"$speed")
ec=$(awk '/256 bits ecdsa/ {print $NF}' <<<"$speed")
printf 'RSA-2048 verifications/s %10.0f\n' "$rsa"
printf 'P-256 verifications/s    %10.0f\n' "$ec"
# a request with a hint costs at least a bare request plus a check: at
# most V / (bare + V) of the bare rate, were everything else free
printf 'bounds (V / (bare + V)): RS256 %s, ES256 %s\n' \
    "$(ratio "$rsa" "$(echo "$bare + $rsa" | bc -l)")" \
    "$(ratio "$ec" "$(echo "$bare + $ec" | bc -l)")"
# it also does what a cookie-only logout does (C of them a second): at
# most C V / (C + V), as a ratio to bare
# shellcheck disable=SC2086 # the ratios of a case, one word each
cookie=$(echo "$bare * $(median ${ratios[cookie_only]})" | bc -l)
with_cookie() { ratio "$(echo "$cookie * $1 / ($cookie + $1)" | bc -l)" "$bare"; }
printf 'bounds with the cookie-only logout (C V / (C + V)): RS256 %s, ES256 %s\n' \
    "$(with_cookie "$rsa")" "$(with_cookie "$ec")"
