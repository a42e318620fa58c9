#!/usr/bin/env bash
# Fails when a START_TEST in t/unit/*.c is not added to any test case.
set -euo pipefail
cd "$(dirname "$0")"
status=0
for name in $(grep -ho 'START_TEST(\s*[a-z0-9_]*' ./*.c | sed 's/START_TEST(\s*//'); do
    if ! grep -qE "tcase_add_(loop_)?test\([^,]+,\s*$name\b" ./*.c; then
        echo "t/unit: test $name is never registered" >&2
        status=1
    fi
done
exit $status
