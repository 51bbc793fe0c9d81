#!/usr/bin/env bash
# logpipe's test command: unit and integration tests against real Kafka,
# Elasticsearch and Redis.
#
#   scripts/test.sh                    the whole suite (tests/)
#   scripts/test.sh tests/unit -k grok  any pytest arguments instead
#
# Works on a fresh machine: creates .venv with the project and its `dev` extra
# (again whenever pyproject.toml changes) and starts the local servers with
# scripts/services.sh up unless LOGPIPE_TEST_ES, LOGPIPE_TEST_KAFKA and
# LOGPIPE_TEST_REDIS already point somewhere. The servers are left running for the
# next run; `scripts/services.sh down` stops them.
#
#   LOGPIPE_VENV=DIR             use another virtualenv (default .venv)
#   LOGPIPE_NATIVE_SERVICES=0    do not start the local servers (e.g. to let the
#                                tests use Docker through testcontainers)
#
# Exit status: pytest's, except that "no tests collected" (pytest's 5) is a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${LOGPIPE_VENV:-$ROOT/.venv}"

say() { printf '[test] %s\n' "$*" >&2; }

# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"
ensure_venv "$VENV"

if [[ "${LOGPIPE_NATIVE_SERVICES:-1}" != 0 ]] &&
   [[ -z "${LOGPIPE_TEST_ES:-}" || -z "${LOGPIPE_TEST_KAFKA:-}" || -z "${LOGPIPE_TEST_REDIS:-}" ]]; then
  exports="$(scripts/services.sh up)"
  # Only fill in what the caller did not set.
  while read -r _ assignment; do
    name="${assignment%%=*}"
    [[ -n "${!name:-}" ]] || export "${assignment?}"
  done <<<"$exports"
fi

# The syslog and udp input tests use real clients: util-linux `logger` and `socat`.
for tool in logger:bsdutils socat:socat; do
  cmd="${tool%%:*}" pkg="${tool##*:}"
  command -v "$cmd" >/dev/null && continue
  if ((EUID == 0)) && command -v apt-get >/dev/null; then
    say "installing $pkg (for $cmd)"
    { apt-get install -y -q "$pkg" || { apt-get update -q && apt-get install -y -q "$pkg"; }; } \
      >/dev/null 2>&1 || say "could not install $pkg; the tests that use $cmd will fail"
  else
    say "$cmd is missing: install $pkg (apt-get install $pkg); the tests that use it will fail"
  fi
done

args=("$@")
((${#args[@]})) || args=(tests)

set +e
"$VENV/bin/python" -m pytest "${args[@]}" -q
rc=$?
set -e
if ((rc == 5)); then
  say "pytest collected no tests: treating that as a failure"
  exit 1
fi
exit "$rc"
