#!/usr/bin/env bash
# Fails when a directive or a variable that the module registers has no
# heading in doc/directives.md ("### name", "### $name"), or when a heading
# there names one the module does not register.
#
# The names come from the C sources: the ngx_string("...") entries of every
# ngx_command_t array (up to ngx_null_command) and of every
# ngx_http_variable_t array (up to ngx_http_null_variable).
set -euo pipefail
cd "$(dirname "$0")/.."

DOC=doc/directives.md

registered=$(awk '
    /ngx_command_t[^;(]*\[\][^;]*=/       { in_cmd = 1 }
    /ngx_http_variable_t[^;(]*\[\][^;]*=/ { in_var = 1 }
    in_cmd || in_var {
        line = $0
        while (match(line, /ngx_string\("[A-Za-z0-9_]+"\)/)) {
            print (in_var ? "$" : "") substr(line, RSTART + 12, RLENGTH - 14)
            line = substr(line, RSTART + RLENGTH)
        }
    }
    /ngx_null_command/       { in_cmd = 0 }
    /ngx_http_null_variable/ { in_var = 0 }
' src/ngx_http_oidc_logout/*.c | sort -u)

documented=$(sed -n 's/^### \(\$\{0,1\}oidc_logout[A-Za-z0-9_]*\)[[:space:]]*$/\1/p' "$DOC" | sort -u)

status=0
if ! grep -q '^\$' <<<"$registered" || ! grep -qv '^\$' <<<"$registered"; then
    echo "t/check-directives.sh: found no directives or no variables in src/ngx_http_oidc_logout/*.c" >&2
    exit 1
fi
for name in $(comm -23 <(echo "$registered") <(echo "$documented")); do
    echo "$DOC: \"$name\" is registered by the module but has no \"### $name\" heading" >&2
    status=1
done
for name in $(comm -13 <(echo "$registered") <(echo "$documented")); do
    echo "$DOC: \"### $name\" names nothing the module registers" >&2
    status=1
done
[ $status -eq 0 ] &&
    echo "doc/directives.md: $(grep -vc '^\$' <<<"$registered") directives and $(grep -c '^\$' <<<"$registered") variables documented"
exit $status
