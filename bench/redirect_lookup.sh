#!/usr/bin/env bash
# Redirect check cost against growing allowlists (see redirect_lookup.c).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s core
mkdir -p build/bench
cc -O2 -std=c11 -Wall -Wextra -Werror -Isrc bench/redirect_lookup.c \
    build/liboidc_logout_core.a -lcjose -ljansson -lcrypto -lstdc++ -o build/bench/redirect_lookup
build/bench/redirect_lookup
