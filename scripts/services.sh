#!/usr/bin/env bash
# Local Kafka, Elasticsearch and Redis for logpipe's integration tests and demo,
# run natively (no Docker) on 127.0.0.1.
#
#   scripts/services.sh up                start what is not running, wait until healthy
#   scripts/services.sh down              stop what `up` started (by pid file)
#   scripts/services.sh status            one line per service; exit 1 if any is down
#   scripts/services.sh logs [service]    tail the logs (es | kafka | redis)
#   scripts/services.sh peers             install the benchmark's peer products (syslog-ng,
#                                         rsyslog) from Debian packages; prints their root
#
# Downloads (Maven Central, Debian packages) are cached in
# ${LOGPIPE_SERVICES_CACHE:-$HOME/.cache/logpipe-services}; data, configs, logs and
# pid files live in .services/ at the repository root.
#
# Ports: LOGPIPE_ES_PORT (9200), LOGPIPE_ES_TRANSPORT_PORT (9300),
#        LOGPIPE_KAFKA_PORT (9092), LOGPIPE_KAFKA_CONTROLLER_PORT (9093),
#        LOGPIPE_REDIS_PORT (6379).
# Timeouts in seconds: LOGPIPE_SERVICES_TIMEOUT (180) for each health wait.
#
# Versions (see docs/services.md for the reasoning):
#   * Kafka 4.4.0 (KRaft). Kafka 4.x dropped the oldest protocol versions (KIP-896);
#     aiokafka 0.14 was checked against 4.4.0 -- create topics, produce with acks=all
#     and idempotence, consume in a group, commit and read back offsets -- and works,
#     so there is no reason to stay on 3.9.x. The version lives in scripts/kafka/pom.xml.
#   * Elasticsearch 9.5.3, the integ-test-zip distribution: the newest 9.x published
#     on Maven Central, same major as the `elasticsearch` Python client (9.x), which
#     refuses to talk to an 8.x server. It needs Java 21+ and refuses to run as root.
#   * Redis from Debian's redis-server package (7.0 on bookworm).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LOGPIPE_SERVICES_CACHE:-${HOME:-/root}/.cache/logpipe-services}"
STATE="$ROOT/.services"
TIMEOUT="${LOGPIPE_SERVICES_TIMEOUT:-180}"

ES_PORT="${LOGPIPE_ES_PORT:-9200}"
ES_TRANSPORT_PORT="${LOGPIPE_ES_TRANSPORT_PORT:-9300}"
KAFKA_PORT="${LOGPIPE_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${LOGPIPE_KAFKA_CONTROLLER_PORT:-9093}"
REDIS_PORT="${LOGPIPE_REDIS_PORT:-6379}"

ES_VERSION="${LOGPIPE_ES_VERSION:-9.5.3}"
ES_COORDS="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip"
ES_USER="logpipe-es"
KAFKA_POM="$ROOT/scripts/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
M2="$CACHE/m2"

SERVICES=(redis kafka es)

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# generic helpers

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

read_pid() { if [[ -s "$1" ]]; then tr -dc '0-9' <"$1"; fi; }

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid file of a service, and a string that must appear in that process's
# command line for it to count as ours (guards against a recycled pid).
pidfile_of() {
  case "$1" in
    es) echo "$STATE/es/es.pid" ;;
    kafka) echo "$STATE/kafka/kafka.pid" ;;
    redis) echo "$STATE/redis/redis.pid" ;;
  esac
}
marker_of() {
  case "$1" in
    es) echo "org.elasticsearch.bootstrap.Elasticsearch" ;;
    kafka) echo "$STATE/kafka/server.properties" ;;
    redis) echo "redis-server" ;;
  esac
}
logfile_of() {
  case "$1" in
    es) echo "$STATE/es/logs/logpipe-test.log" ;;
    kafka) echo "$STATE/kafka/kafka.log" ;;
    redis) echo "$STATE/redis/redis.log" ;;
  esac
}

# our_pid SERVICE: prints the pid of the running service that `up` started, if any.
our_pid() {
  local pid cmd
  pid="$(read_pid "$(pidfile_of "$1")")"
  pid_alive "$pid" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmd" == *"$(marker_of "$1")"* ]] || return 1
  echo "$pid"
}

show_log_tail() {
  local f
  for f in "$@"; do
    if [[ ! -s "$f" ]]; then log "($f is empty or missing)"; continue; fi
    log "---- last lines of $f ----"
    tail -n 60 "$f" >&2
  done
}

# wait_for DESCRIPTION PID CHECK...: polls CHECK until it succeeds; fails when the
# process dies or the timeout passes.
wait_for() {
  local what="$1" pid="$2"; shift 2
  local deadline=$((SECONDS + TIMEOUT))
  until "$@"; do
    if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
      log "$what exited during start-up"; return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$what not healthy after ${TIMEOUT}s"; return 1
    fi
    sleep 1
  done
}

# stop_pid PID NAME: SIGTERM, wait up to 60 s, then SIGKILL.
stop_pid() {
  local pid="$1" name="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 120; i++)); do
    pid_alive "$pid" || { log "$name stopped"; return 0; }
    sleep 0.5
  done
  log "$name (pid $pid) ignored SIGTERM for 60s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 20; i++)); do pid_alive "$pid" || return 0; sleep 0.5; done
  log "$name (pid $pid) is still alive"; return 1
}

need_cmd() { command -v "$1" >/dev/null 2>&1 || die "$1 is required ($2)"; }

java_major() {
  "$1" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n1
}

# A JDK 21+ for Elasticsearch: LOGPIPE_ES_JAVA_HOME, then ES_JAVA_HOME, JAVA_HOME and
# the JDKs under /usr/lib/jvm, newest first.
find_es_java() {
  local cand major
  local jdks=()
  mapfile -t jdks < <(find /usr/lib/jvm -mindepth 1 -maxdepth 1 2>/dev/null | sort -rV)
  for cand in "${LOGPIPE_ES_JAVA_HOME:-}" "${ES_JAVA_HOME:-}" "${JAVA_HOME:-}" "${jdks[@]}"; do
    cand="${cand%/}"
    [[ -n "$cand" && -x "$cand/bin/java" ]] || continue
    major="$(java_major "$cand/bin/java")"
    if [[ -n "$major" ]] && ((major >= 21)); then echo "$cand"; return 0; fi
  done
  return 1
}

# Java 17+ for Kafka: LOGPIPE_KAFKA_JAVA_HOME, JAVA_HOME, then java on PATH.
find_kafka_java() {
  local cand major
  for cand in "${LOGPIPE_KAFKA_JAVA_HOME:-}" "${JAVA_HOME:-}"; do
    [[ -n "$cand" && -x "$cand/bin/java" ]] || continue
    major="$(java_major "$cand/bin/java")"
    if [[ -n "$major" ]] && ((major >= 17)); then echo "$cand/bin/java"; return 0; fi
  done
  if command -v java >/dev/null 2>&1; then
    major="$(java_major java)"
    if [[ -n "$major" ]] && ((major >= 17)); then command -v java; return 0; fi
  fi
  return 1
}

mvn_quiet() {
  # Maven's own output goes to a log; it is shown only when Maven fails.
  # It runs inside the cache: goals run without a pom write their marker files
  # relative to the working directory.
  local out="$CACHE/mvn.log"
  if ! (cd "$CACHE" && mvn -B -q -Dmaven.repo.local="$M2" "$@") >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    return 1
  fi
}

# ---------------------------------------------------------------------------
# installation (cached)

install_redis() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  need_cmd apt-get "to install Redis"
  ((EUID == 0)) || die "redis-server is missing; install it with: sudo apt-get install -y redis-server"
  log "installing redis-server from Debian packages"
  local apt_log="$CACHE/apt.log"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get install -y -q redis-server ||
         { apt-get update -q && apt-get install -y -q redis-server; }; } >"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    die "apt-get install redis-server failed"
  fi
  # The package may have just started a system-wide instance; that one is not
  # ours and would hold the port.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    systemctl stop redis-server || true
    systemctl disable redis-server >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/redis-server ]] && port_open 6379; then
    /etc/init.d/redis-server stop >/dev/null 2>&1 || true
  fi
}

# The regex benchmark's peers. syslog-ng and rsyslog are both system log daemons
# and Debian will not install both, so neither is installed as a system service:
# their libraries come from apt, the packages themselves are unpacked (dpkg-deb -x)
# under $CACHE/peers/<package>. Nothing is started here; the benchmark runs them on
# 127.0.0.1 with its own configuration (logpipe/bench/peers.py).
PEER_PACKAGES=(syslog-ng-core rsyslog)
PEERS_DIR="$CACHE/peers"

peer_deps() {
  apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "$1" | awk '/Depends:/ {print $2}' | grep -v '^<' || true
}

install_peer() {
  local pkg="$1" root="$PEERS_DIR/$1" deps
  [[ -f "$root/.unpacked" ]] && return 0
  need_cmd apt-get "to install the benchmark peers"
  need_cmd dpkg-deb "to unpack the benchmark peers"
  ((EUID == 0)) || die "installing $pkg's libraries needs root (apt-get install)"
  export DEBIAN_FRONTEND=noninteractive
  local apt_log="$CACHE/apt.log"
  mkdir -p "$PEERS_DIR"
  log "installing the libraries of $pkg, unpacking $pkg under $root"
  mapfile -t deps < <(peer_deps "$pkg")
  if ((${#deps[@]} == 0)); then
    apt-get update -q >"$apt_log" 2>&1 || true
    mapfile -t deps < <(peer_deps "$pkg")
  fi
  if ! { apt-get install -y -q --no-install-recommends "${deps[@]}" ||
         { apt-get update -q && apt-get install -y -q --no-install-recommends "${deps[@]}"; }; } \
       >"$apt_log" 2>&1; then
    tail -n 30 "$apt_log" >&2
    die "apt-get install of $pkg's libraries failed"
  fi
  local tmp
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && apt-get download -q "$pkg" >"$apt_log" 2>&1); then
    tail -n 30 "$apt_log" >&2
    rm -rf "$tmp"
    die "apt-get download $pkg failed"
  fi
  rm -rf "$root"
  mkdir -p "$root"
  dpkg-deb -x "$tmp"/"$pkg"_*.deb "$root"
  rm -rf "$tmp"
  touch "$root/.unpacked"
}

cmd_peers() {
  local pkg
  for pkg in "${PEER_PACKAGES[@]}"; do
    install_peer "$pkg"
  done
  echo "$PEERS_DIR"
}

kafka_home() {
  local sum
  sum="$(sha256sum "$KAFKA_POM" | cut -c1-10)"
  echo "$CACHE/kafka-$KAFKA_VERSION-$sum"
}

install_kafka() {
  local home; home="$(kafka_home)"
  [[ -f "$home/.installed" ]] && return 0
  need_cmd mvn "to fetch Kafka from Maven Central"
  log "fetching Kafka $KAFKA_VERSION and its dependencies from Maven Central"
  rm -rf "$home.tmp"
  mvn_quiet -f "$KAFKA_POM" "$DEP_PLUGIN:copy-dependencies" \
    -DoutputDirectory="$home.tmp/libs" -DincludeScope=runtime ||
    die "could not fetch Kafka $KAFKA_VERSION"
  touch "$home.tmp/.installed"
  rm -rf "$home"; mv "$home.tmp" "$home"
}

es_home() { echo "$CACHE/elasticsearch-$ES_VERSION/elasticsearch-$ES_VERSION"; }

install_es() {
  local dir="$CACHE/elasticsearch-$ES_VERSION"
  [[ -f "$dir/.installed" ]] && return 0
  need_cmd mvn "to fetch Elasticsearch from Maven Central"
  log "fetching Elasticsearch $ES_VERSION ($ES_COORDS) from Maven Central"
  rm -rf "$dir.tmp"
  mvn_quiet "$DEP_PLUGIN:unpack" -Dartifact="$ES_COORDS" -DoutputDirectory="$dir.tmp" \
    -Dmdep.overWriteReleases=true || die "could not fetch Elasticsearch $ES_VERSION"
  # Maven's unpack does not keep the zip's file modes: make the tree readable for
  # the Elasticsearch user and the launch scripts executable.
  chmod -R a+rX "$dir.tmp"
  chmod a+x "$dir.tmp/elasticsearch-$ES_VERSION"/bin/*
  touch "$dir.tmp/.installed"
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
}

ensure_es_user() {
  id -u "$ES_USER" >/dev/null 2>&1 && return 0
  ((EUID == 0)) || die "user $ES_USER is missing and only root can create it"
  log "creating the unprivileged user $ES_USER (Elasticsearch refuses to run as root)"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER" 2>/dev/null ||
    id -u "$ES_USER" >/dev/null 2>&1 || die "useradd $ES_USER failed"
}

# ---------------------------------------------------------------------------
# Redis

redis_healthy() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

start_redis() {
  local dir="$STATE/redis" pid
  if pid="$(our_pid redis)"; then
    log "redis already running (pid $pid)"
  else
    install_redis
    port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by another process; set LOGPIPE_REDIS_PORT"
    mkdir -p "$dir"
    rm -f "$dir/redis.pid"
    cat >"$dir/redis.conf" <<EOF
# written by scripts/services.sh on every start
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
dir $dir
save ""
appendonly no
databases 16
EOF
    log "starting redis on 127.0.0.1:$REDIS_PORT"
    # 9>&-: the daemons must not inherit the lock on $STATE/.lock
    if ! redis-server "$dir/redis.conf" 9>&-; then
      show_log_tail "$dir/redis.log"; die "redis-server failed to start"
    fi
    local deadline=$((SECONDS + 10))
    until [[ -s "$dir/redis.pid" ]] || ((SECONDS >= deadline)); do sleep 0.2; done
  fi
  if ! wait_for redis "$(read_pid "$dir/redis.pid")" redis_healthy; then
    show_log_tail "$dir/redis.log"; die "redis is not healthy"
  fi
}

# ---------------------------------------------------------------------------
# Kafka (KRaft, one node acting as broker and controller)

kafka_healthy() {
  port_open "$KAFKA_PORT" &&
    grep -q 'Kafka Server started' "$STATE/kafka/kafka.log" 2>/dev/null
}

start_kafka() {
  local dir="$STATE/kafka" pid java home
  if pid="$(our_pid kafka)"; then
    log "kafka already running (pid $pid)"
    wait_for kafka "$pid" port_open "$KAFKA_PORT" || { show_log_tail "$dir/kafka.log"; die "kafka is not healthy"; }
    return 0
  fi
  java="$(find_kafka_java)" || die "Kafka needs Java 17 or newer (set LOGPIPE_KAFKA_JAVA_HOME)"
  install_kafka
  home="$(kafka_home)"
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$p" && die "port $p is taken by another process; set LOGPIPE_KAFKA_PORT / LOGPIPE_KAFKA_CONTROLLER_PORT"
  done
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
# written by scripts/services.sh on every start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
# topics are created explicitly (tests, logpipe setup), never by a typo
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# tests start consumer groups all the time; do not wait 3 s for more members
group.initial.rebalance.delay.ms=0
log.retention.hours=24
EOF
  cat >"$dir/log4j2.yaml" <<'EOF'
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        Pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.coordinator
        level: WARN
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
EOF
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    log "formatting Kafka storage in $dir/data"
    local cluster_id
    cluster_id="$("$java" -cp "$home/libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
    if ! "$java" -Dlog4j2.configurationFile="$dir/log4j2.yaml" -cp "$home/libs/*" \
         kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
         >"$dir/format.log" 2>&1; then
      show_log_tail "$dir/format.log"; die "formatting Kafka storage failed"
    fi
  fi
  log "starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
  : >"$dir/kafka.log"
  nohup "$java" -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.yaml" \
    -cp "$home/libs/*" kafka.Kafka "$dir/server.properties" \
    >>"$dir/kafka.log" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$dir/kafka.pid"
  if ! wait_for kafka "$pid" kafka_healthy; then
    show_log_tail "$dir/kafka.log"; die "kafka is not healthy"
  fi
}

# ---------------------------------------------------------------------------
# Elasticsearch

es_healthy() {
  local headers
  headers="$(curl -s -m 5 -o /dev/null -D - \
    "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null)" || return 1
  grep -qi '^x-elastic-product: *Elasticsearch' <<<"$headers" && grep -q '^HTTP/[0-9.]* 200' <<<"$headers"
}

es_can() { runuser -u "$ES_USER" -- "$@" 2>/dev/null; }

# Where the node's config, data and logs live: .services/es, unless the
# Elasticsearch user cannot reach it (a checkout under a 0700 home such as /root);
# then a directory under /var/tmp, with .services/es a symlink to it.
prepare_es_dir() {
  local dir="$STATE/es" alt
  if [[ -L "$dir" ]]; then
    alt="$(readlink "$dir")"
  elif es_can test -x "$STATE"; then
    mkdir -p "$dir"; return 0
  else
    alt="/var/tmp/logpipe-es-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)"
    log "user $ES_USER cannot reach $STATE; keeping the Elasticsearch files in $alt"
    ln -sfn "$alt" "$dir"
  fi
  mkdir -p "$alt"
}

# The installation the node runs from: the cache when the Elasticsearch user can
# read it, else a hard-linked (or copied) mirror inside the node's directory.
es_runtime_home() {
  local home dir mirror
  home="$(es_home)"
  dir="$(readlink -f "$STATE/es")"
  if es_can test -r "$home/lib/elasticsearch-$ES_VERSION.jar"; then echo "$home"; return 0; fi
  mirror="$dir/dist-$ES_VERSION"
  if [[ ! -f "$mirror/.complete" ]]; then
    rm -rf "$mirror"
    cp -al "$home" "$mirror" 2>/dev/null || cp -a "$home" "$mirror"
    touch "$mirror/.complete"
  fi
  echo "$mirror"
}

start_es() {
  local dir="$STATE/es" pid home java
  if pid="$(our_pid es)"; then
    log "elasticsearch already running (pid $pid)"
    wait_for elasticsearch "$pid" es_healthy || { show_log_tail "$(logfile_of es)"; die "elasticsearch is not healthy"; }
    return 0
  fi
  ((EUID == 0)) || die "run as root: Elasticsearch is started as the user $ES_USER"
  need_cmd curl "for the Elasticsearch health check"
  java="$(find_es_java)" || die "Elasticsearch $ES_VERSION needs a JDK 21 or newer (set LOGPIPE_ES_JAVA_HOME)"
  install_es
  ensure_es_user
  local p
  for p in "$ES_PORT" "$ES_TRANSPORT_PORT"; do
    port_open "$p" && die "port $p is taken by another process; set LOGPIPE_ES_PORT / LOGPIPE_ES_TRANSPORT_PORT"
  done

  prepare_es_dir
  dir="$(readlink -f "$STATE/es")"   # the node must never need to traverse $STATE
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
  home="$(es_runtime_home)"
  # A fresh config directory from the distribution on every start, plus ours.
  rm -rf "$dir/config"
  cp -R "$home/config" "$dir/config"
  cat >"$dir/config/elasticsearch.yml" <<EOF
# written by scripts/services.sh on every start
cluster.name: logpipe-test
node.name: logpipe-test-node
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_PORT
transport.port: $ES_TRANSPORT_PORT
path.data: $dir/data
path.logs: $dir/logs
xpack.security.enabled: false
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
EOF
  cat >"$dir/config/jvm.options.d/logpipe.options" <<'EOF'
-Xms1g
-Xmx1g
EOF
  # (not the mirror: its files are hard links into the cache)
  chown "$ES_USER:" "$dir"
  chown -R "$ES_USER:" "$dir/config" "$dir/data" "$dir/logs" "$dir/tmp"
  chmod 0750 "$dir"
  es_can test -r "$home/lib/elasticsearch-$ES_VERSION.jar" -a -w "$dir/data" ||
    die "user $ES_USER cannot read $home or write $dir/data"

  log "starting elasticsearch $ES_VERSION on 127.0.0.1:$ES_PORT (java: $java)"
  rm -f "$dir/es.pid"
  # -d: the launcher returns once the node has started (or failed); -p: pid file.
  if ! (cd "$dir" && runuser -u "$ES_USER" -- env -i PATH=/usr/bin:/bin HOME="$dir" LANG=C.UTF-8 \
          ES_JAVA_HOME="$java" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
          timeout "$TIMEOUT" "$home/bin/elasticsearch" -d -p "$dir/es.pid" \
          >"$dir/launch.log" 2>&1 </dev/null 9>&-); then
    show_log_tail "$dir/launch.log" "$(logfile_of es)"
    die "elasticsearch failed to start"
  fi
  pid="$(read_pid "$dir/es.pid")"
  if ! wait_for elasticsearch "$pid" es_healthy; then
    show_log_tail "$dir/launch.log" "$(logfile_of es)"; die "elasticsearch is not healthy"
  fi
}

# ---------------------------------------------------------------------------
# commands

cmd_up() {
  mkdir -p "$STATE" "$CACHE"
  exec 9>"$STATE/.lock"
  flock -w 900 9 || die "another services.sh holds $STATE/.lock"
  local t0=$SECONDS
  start_redis
  start_kafka
  start_es
  log "all services healthy ($((SECONDS - t0))s)"
  cat <<EOF
export LOGPIPE_TEST_ES=http://127.0.0.1:$ES_PORT
export LOGPIPE_TEST_KAFKA=127.0.0.1:$KAFKA_PORT
export LOGPIPE_TEST_REDIS=redis://127.0.0.1:$REDIS_PORT/0
EOF
}

cmd_down() {
  [[ -d "$STATE" ]] || { log "nothing to stop"; return 0; }
  exec 9>"$STATE/.lock"
  flock -w 900 9 || die "another services.sh holds $STATE/.lock"
  local svc pid rc=0 pf
  for svc in es kafka redis; do
    pf="$(pidfile_of "$svc")"
    if pid="$(our_pid "$svc")"; then
      log "stopping $svc (pid $pid)"
      stop_pid "$pid" "$svc" || rc=1
    else
      log "$svc is not running"
    fi
    rm -f "$pf"
  done
  return "$rc"
}

cmd_status() {
  local svc pid rc=0 port health
  for svc in "${SERVICES[@]}"; do
    case "$svc" in
      es) port=$ES_PORT; es_healthy && health=healthy || health=unhealthy ;;
      kafka) port=$KAFKA_PORT; port_open "$port" && health=healthy || health=unhealthy ;;
      redis) port=$REDIS_PORT; redis_healthy && health=healthy || health=unhealthy ;;
    esac
    if pid="$(our_pid "$svc")"; then
      printf '%-6s running  pid %-8s 127.0.0.1:%-6s %s\n' "$svc" "$pid" "$port" "$health"
      [[ "$health" == healthy ]] || rc=1
    else
      printf '%-6s stopped  %-12s 127.0.0.1:%-6s\n' "$svc" "" "$port"
      rc=1
    fi
  done
  return "$rc"
}

cmd_logs() {
  local svcs=("$@") svc f
  ((${#svcs[@]})) || svcs=("${SERVICES[@]}")
  for svc in "${svcs[@]}"; do
    case "$svc" in
      es | elasticsearch) svc=es ;;
      kafka | redis) ;;
      *) die "unknown service '$svc' (es, kafka, redis)" ;;
    esac
    f="$(logfile_of "$svc")"
    echo "==> $f <=="
    if [[ -f "$f" ]]; then tail -n "${LOGPIPE_LOG_LINES:-100}" "$f"; else echo "(no log yet)"; fi
  done
}

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    peers) cmd_peers ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
