#!/usr/bin/env bash
# Runs a command and checks both its exit status and its output, so a ctest entry can fail on
# either (ctest's PASS_REGULAR_EXPRESSION alone ignores the exit status).
#   expect_run.sh EXIT_STATUS REGEX -- COMMAND [ARGS...]
set -uo pipefail
want_status=$1 pattern=$2
shift 2
[ "${1:-}" = "--" ] && shift
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
if [ "$status" -ne "$want_status" ]; then
  echo "expect_run: exit status $status, expected $want_status: $*" >&2
  exit 1
fi
if ! grep -Eq -- "$pattern" <<<"$output"; then
  echo "expect_run: output does not match /$pattern/: $*" >&2
  exit 1
fi
