#!/usr/bin/env bash
# The demo: services up, logpipe run --pipeline graphmemory, generated GraphMemory traffic
# through every input (Beats, HTTP, Kafka, Redis), then a summary of what reached
# Elasticsearch and the dead-letter queue. Works on a fresh machine: it installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

COUNT=${DEMO_COUNT:-20000}
WORKERS=${DEMO_WORKERS:-2}

if [ ! -x .venv/bin/logpipe ]; then
  echo "== installing logpipe into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
fi
PY=.venv/bin/python
LOGPIPE=.venv/bin/logpipe

echo "== starting Kafka, Elasticsearch and Redis"
eval "$(scripts/services.sh up | grep '^export ')"

export LOGPIPE_ES_HOSTS=${LOGPIPE_TEST_ES:-http://127.0.0.1:9200}
export LOGPIPE_KAFKA_BOOTSTRAP=${LOGPIPE_TEST_KAFKA:-127.0.0.1:9092}
export LOGPIPE_REDIS_URL=${LOGPIPE_TEST_REDIS:-redis://127.0.0.1:6379/0}
export LOGPIPE_SCRUB_KEY=${LOGPIPE_SCRUB_KEY:-demo-scrub-key-change-me}
export LOGPIPE_KAFKA_TOPIC=${LOGPIPE_KAFKA_TOPIC:-graphmemory-logs}
export LOGPIPE_DLQ_TOPIC=${LOGPIPE_DLQ_TOPIC:-graphmemory-dlq}
RUN_ID=demo$(date +%s)
DATA=$ROOT/data/demo
mkdir -p "$DATA"

echo "== preparing topics, lifecycle policies and index templates"
$PY scripts/demo_support.py prepare
$LOGPIPE setup --pipeline graphmemory

echo "== logpipe run --pipeline graphmemory --workers $WORKERS"
$LOGPIPE run --pipeline graphmemory --workers "$WORKERS" --metrics-port 9600 --log-format json \
  > "$DATA/logpipe.log" 2>&1 &
LP_PID=$!
cleanup() {
  if kill -0 "$LP_PID" 2>/dev/null; then
    kill -TERM "$LP_PID"
    wait "$LP_PID" || true
  fi
}
trap cleanup EXIT
$PY scripts/demo_support.py wait-ready

echo "== sending $COUNT generated records through Beats, HTTP, Kafka and Redis"
per=$((COUNT / 4))
$LOGPIPE generate --no-progress --count "$per" --seed 1 --run-id "$RUN_ID-b" --to beats://127.0.0.1:5044 &
g1=$!
$LOGPIPE generate --no-progress --count "$per" --seed 2 --run-id "$RUN_ID-h" --to http://127.0.0.1:8080/ &
g2=$!
$LOGPIPE generate --no-progress --count "$per" --seed 3 --run-id "$RUN_ID-k" --to "kafka://127.0.0.1:9092/$LOGPIPE_KAFKA_TOPIC" &
g3=$!
$LOGPIPE generate --no-progress --count "$per" --seed 4 --run-id "$RUN_ID-r" --to "redis://127.0.0.1:6379/0?key=graphmemory:logs" &
g4=$!
wait $g1 $g2 $g3 $g4
echo "== sending a few events Elasticsearch will refuse (a status code that is not a number)"
$PY scripts/demo_support.py send-bad --count 5

echo "== waiting for everything to be acknowledged"
$PY scripts/demo_support.py wait-drained --expect $((per * 4 + 5))

echo "== stopping logpipe (SIGTERM drains and exits 0)"
kill -TERM "$LP_PID"
wait "$LP_PID"
echo "logpipe exited with $?"
trap - EXIT

$PY scripts/demo_support.py summary --sent $((per * 4 + 5))
