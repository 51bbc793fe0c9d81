#!/usr/bin/env bash
# The demo: services up, logpipe setup and logpipe run --pipeline graphmemory, generated
# GraphMemory traffic through every input (Beats, HTTP, Kafka, Redis) plus a few events
# Elasticsearch refuses, then a summary of what reached Elasticsearch and the dead-letter
# queue. Works on a fresh machine: it installs what it needs (see README.md).
#
#   scripts/demo.sh                     20000 records, 2 workers
#   DEMO_COUNT=4000 scripts/demo.sh     fewer records (split evenly over the four inputs)
#   DEMO_WORKERS=4 scripts/demo.sh      more worker processes
#
# It runs against the local servers of scripts/services.sh (left running afterwards;
# `scripts/services.sh down` stops them) and uses the pipeline's default names: topics
# graphmemory-logs and graphmemory-dlq, indices logs-graphmemory.*. Running it again adds
# to them; the summary counts this run's documents separately from the totals.
# logpipe's own log goes to data/demo/logpipe.log.
#
# Exit status: 0 when every event was indexed or dead-lettered and logpipe exited 0 on
# SIGTERM; 1 otherwise (with the tail of logpipe's log when logpipe was running).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
T0=$SECONDS

COUNT=${DEMO_COUNT:-20000}
WORKERS=${DEMO_WORKERS:-2}
BAD=5
if ! [[ "$COUNT" =~ ^[0-9]+$ ]] || ((COUNT < 4)); then
  echo "DEMO_COUNT must be a number, at least 4" >&2; exit 2
fi
if ! [[ "$WORKERS" =~ ^[0-9]+$ ]] || ((WORKERS < 1)); then
  echo "DEMO_WORKERS must be a number, at least 1" >&2; exit 2
fi
export DEMO_METRICS_PORT=${DEMO_METRICS_PORT:-9600}
DATA=$ROOT/data/demo
LOG=$DATA/logpipe.log
VENV=$ROOT/.venv
PY=$VENV/bin/python
LOGPIPE=$VENV/bin/logpipe
SUPPORT=("$PY" scripts/demo_support.py --state "$DATA/run.json")

say() { printf '\n== %s\n' "$*"; }

LP_PID=""
SAMPLER=""
declare -A GEN_PIDS=()

fail() {
  local rc=0
  printf '\nDEMO FAILED: %s\n' "$*" >&2
  if [[ -n "$LP_PID" ]]; then
    if ! kill -0 "$LP_PID" 2>/dev/null; then
      wait "$LP_PID" 2>/dev/null || rc=$?
      echo "logpipe (pid $LP_PID) is not running any more: it exited with status $rc" >&2
      LP_PID=""
    fi
    if [[ -s "$LOG" ]]; then
      echo "---- last 40 lines of $LOG ----" >&2
      tail -n 40 "$LOG" >&2
      echo "----" >&2
    fi
  fi
  exit 1
}

# support STEP [ARGS]: a step of scripts/demo_support.py; it exits 3 when logpipe died.
support() {
  local rc=0
  "${SUPPORT[@]}" "$@" || rc=$?
  ((rc == 0)) && return 0
  ((rc == 3)) && fail "logpipe stopped during '$1'"
  fail "'$1' failed"
}

cleanup() {
  local pid i
  for pid in ${GEN_PIDS[@]+"${GEN_PIDS[@]}"} $SAMPLER; do kill "$pid" 2>/dev/null || true; done
  if [[ -n "$LP_PID" ]] && kill -0 "$LP_PID" 2>/dev/null; then
    echo "stopping logpipe (pid $LP_PID)" >&2
    kill -TERM "$LP_PID" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do kill -0 "$LP_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$LP_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- install ----------------------------------------------------------------------------
# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"
ensure_venv "$VENV"

# --- services ---------------------------------------------------------------------------
say "starting Kafka, Elasticsearch and Redis (scripts/services.sh up)"
exports=$(scripts/services.sh up) || fail "the services did not come up (scripts/services.sh logs shows their logs)"
eval "$(grep '^export ' <<<"$exports")"

# The demo always talks to the local servers it just started, whatever the shell says.
export LOGPIPE_ES_HOSTS=$LOGPIPE_TEST_ES
export LOGPIPE_KAFKA_BOOTSTRAP=$LOGPIPE_TEST_KAFKA
export LOGPIPE_REDIS_URL=$LOGPIPE_TEST_REDIS
unset LOGPIPE_ES_API_KEY LOGPIPE_ES_USER LOGPIPE_ES_PASSWORD
export LOGPIPE_SCRUB_KEY=${LOGPIPE_SCRUB_KEY:-demo-scrub-key-change-me}
export LOGPIPE_BIND=${LOGPIPE_BIND:-127.0.0.1}
export LOGPIPE_BEATS_PORT=${LOGPIPE_BEATS_PORT:-5044}
export LOGPIPE_HTTP_PORT=${LOGPIPE_HTTP_PORT:-8080}
export LOGPIPE_KAFKA_TOPIC=${LOGPIPE_KAFKA_TOPIC:-graphmemory-logs}
export LOGPIPE_REDIS_KEY=${LOGPIPE_REDIS_KEY:-graphmemory:logs}
export LOGPIPE_DLQ_TOPIC=${LOGPIPE_DLQ_TOPIC:-graphmemory-dlq}
export LOGPIPE_INDEX_PREFIX=${LOGPIPE_INDEX_PREFIX:-logs-graphmemory}
mkdir -p "$DATA"

# --- setup ------------------------------------------------------------------------------
say "checking that ports $LOGPIPE_BEATS_PORT (Beats), $LOGPIPE_HTTP_PORT (HTTP) and $DEMO_METRICS_PORT (status) are free"
support preflight
echo "ok"

say "Kafka topics"
support prepare

say "logpipe setup --pipeline graphmemory (lifecycle policies, index templates, write indices)"
"$LOGPIPE" setup --pipeline graphmemory || fail "logpipe setup failed"

# Marks this run's records (request ids, trace ids). Ten digits at most: the scrubber masks
# longer Luhn-valid digit runs as card numbers.
RUN_ID=demo$(date +%s)
say "run $RUN_ID"
support baseline --run-id "$RUN_ID" --workers "$WORKERS"

# --- logpipe ----------------------------------------------------------------------------
say "logpipe run --pipeline graphmemory --workers $WORKERS --metrics-port $DEMO_METRICS_PORT (log: data/demo/logpipe.log)"
support mark launched
"$LOGPIPE" run --pipeline graphmemory --workers "$WORKERS" --metrics-port "$DEMO_METRICS_PORT" \
  --log-format text >"$LOG" 2>&1 &
LP_PID=$!
support wait-ready --pid "$LP_PID"
# Acknowledgement counts every 0.2 s until logpipe exits, for the rates in the summary.
"${SUPPORT[@]}" sample-acks --pid "$LP_PID" --out "$DATA/acks.tsv" &
SAMPLER=$!

# --- traffic ----------------------------------------------------------------------------
per=$((COUNT / 4))
say "sending $((per * 4)) generated records, $per through each of Beats, HTTP, Kafka and Redis, and $BAD events Elasticsearch will refuse"
gen() {  # gen NAME SEED TARGET
  "$LOGPIPE" generate --no-progress --count "$per" --seed "$2" --run-id "$RUN_ID-$1" --to "$3" \
    >"$DATA/generate-$1.log" 2>&1 &
  GEN_PIDS[$1]=$!
}
support mark traffic_started
gen beats 1 "beats://127.0.0.1:$LOGPIPE_BEATS_PORT"
gen http 2 "http://127.0.0.1:$LOGPIPE_HTTP_PORT/"
gen kafka 3 "kafka://${LOGPIPE_KAFKA_BOOTSTRAP%%,*}/$LOGPIPE_KAFKA_TOPIC"
gen redis 4 "$LOGPIPE_REDIS_URL?key=$LOGPIPE_REDIS_KEY"
# Refused because http.response.status_code is mapped as a number: they must end up in
# the dead-letter topic, with the reason.
support send-bad --count "$BAD"

say "logpipe top --once, while the traffic flows"
support wait-acked --pid "$LP_PID" --at-least $((per * 4 / 20))
"$LOGPIPE" top --once --interval 2 --url "http://127.0.0.1:$DEMO_METRICS_PORT" || echo "(logpipe top failed)"

say "waiting for the generators"
deadline=$((SECONDS + 300))
while :; do
  running=0
  for pid in "${GEN_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
  ((running)) || break
  kill -0 "$LP_PID" 2>/dev/null || fail "logpipe stopped while the generators were sending"
  ((SECONDS < deadline)) || fail "the generators did not finish within 300s"
  sleep 0.3
done
failed=()
for name in beats http kafka redis; do
  if wait "${GEN_PIDS[$name]}"; then
    printf '%-6s %s\n' "$name:" "$(tail -n 1 "$DATA/generate-$name.log")"
  else
    failed+=("$name")
    echo "$name: generator failed:"; tail -n 5 "$DATA/generate-$name.log"
  fi
  unset "GEN_PIDS[$name]"
done
((${#failed[@]} == 0)) || fail "the generator for ${failed[*]} failed"

say "waiting until logpipe has acknowledged every event (polling its /stats)"
support wait-drained --pid "$LP_PID" --expect $((per * 4 + BAD))

# --- stop -------------------------------------------------------------------------------
say "stopping logpipe with SIGTERM (it drains, acknowledges and exits 0)"
stop_start=$(date +%s%N)
kill -TERM "$LP_PID"
deadline=$((SECONDS + 90))
while kill -0 "$LP_PID" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "logpipe did not exit within 90s of SIGTERM"
  sleep 0.2
done
rc=0
wait "$LP_PID" || rc=$?
((rc == 0)) || fail "logpipe exited with status $rc after SIGTERM (expected 0)"
stop_ms=$((($(date +%s%N) - stop_start) / 1000000))
stop_s=$((stop_ms / 1000)).$(printf '%03d' $((stop_ms % 1000)))
LP_PID=""
wait "$SAMPLER" || true
SAMPLER=""
echo "logpipe exited with status 0 after ${stop_s}s"
support stopped --seconds "$stop_s"

# --- summary ----------------------------------------------------------------------------
rc=0
"${SUPPORT[@]}" summary --data-dir "$DATA" || rc=$?
((rc == 0)) || fail "the summary found problems (above)"
echo "demo finished in $((SECONDS - T0))s (services and installation included)"
