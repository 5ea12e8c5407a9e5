#!/usr/bin/env bash
# bench/run.sh: every benchmark scenario against the gateway with its
# history stores (SQLite on disk, the default, memory, and Redis: one gateway
# on a Redis, and two gateways sharing their rooms through one Redis with
# the load split between them) and against the Node.js `ws` baseline hub, in
# the same run, and tables of the figures with their ratios: SQLite to
# memory, the gateway to the baseline, Redis to SQLite.
#
# From a fresh clone: installs what is missing (Debian packages, the npm
# lock file's packages), builds into build-bench, runs, prints the table and
# writes the JSON lines to build-bench/bench-results.jsonl.
#
# Servers listen on 127.0.0.1 only, the hub and the load generator are
# pinned to different cores, every scenario is bounded (at most 60 s) and
# every process this script starts is stopped by its PID. The SQLite
# gateway gets a fresh data directory under the build directory for each
# start, removed when it stops; so does each Redis (a redis-server started
# with the hub, on a free port, without persistence), stopped after its
# gateways.
#
# Hubs: gateway (--store sqlite), gateway-memory (--store memory), node,
# gateway-redis (--store redis, one gateway), gateway-redis2 (two gateways
# on one Redis, every kind of connection split between them).
# Environment: BENCH_PORT_BASE (18600), BENCH_ONLY (a regexp of scenario
# names to run), BENCH_HUBS ("gateway gateway-memory node gateway-redis
# gateway-redis2"), BENCH_QUICK=1 (shorter searches), BENCH_SERVER_CPU (0),
# BENCH_GEN_CPU (1), BENCH_REDIS_CPU (the server's), BENCH_WRITE_WINDOW (8:
# messages in flight per sender in `write`), BENCH_FILL_EVENTS (1000000:
# the history of `startup-1m`), BENCH_PROFILE_RATE (2000: msg/s of the
# `profile` scenario, which runs only when BENCH_ONLY names it),
# BENCH_LOGIN_ACCOUNTS (192: the browsers of `login`, each its own account),
# BENCH_FLOOD_CONNS (128: the browsers of `chat-under-login-flood`'s
# flood), BENCH_LOGIN_RETRY_MS (100: a request answered 421 sent again
# after it), BENCH_FLOOD_PROFILE=1 (perf profiles of that scenario's two
# chats), BENCH_FLOOD_CHAT_RATE (100: the msg/s of the chats of
# chat-under-login-flood and chat-under-names-flood; chat-100's by default,
# which takes the whole of the hub's core here, lower leaves the hasher
# some).
#
# Before and after: BENCH_BEFORE=REV (a commit, tag or branch of this
# repository) also builds the gateway of REV (exported with git archive
# into build-bench/before.*, built there like the gateway here, removed at
# the end) and runs it as hub gateway-before (the SQLite store, the flags of
# hub gateway, its own web/), just before hub gateway in every scenario;
# the table then compares the two, after / before. BENCH_BEFORE_BIN=PATH
# runs a gateway already built instead (its web root: BENCH_BEFORE_WEB_ROOT,
# or the web/ of the git tree it sits in, or this tree's).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${WT_BUILD_DIR:-$root/build-bench}
port_base=${BENCH_PORT_BASE:-18600}
only=${BENCH_ONLY:-.}
hubs=${BENCH_HUBS:-gateway gateway-memory node gateway-redis gateway-redis2}
quick=${BENCH_QUICK:-0}
write_window=${BENCH_WRITE_WINDOW:-8}
fill_events=${BENCH_FILL_EVENTS:-1000000}
profile_rate=${BENCH_PROFILE_RATE:-2000}
login_accounts=${BENCH_LOGIN_ACCOUNTS:-192}
flood_conns=${BENCH_FLOOD_CONNS:-128}
login_retry_ms=${BENCH_LOGIN_RETRY_MS:-100}
flood_profile=${BENCH_FLOOD_PROFILE:-0}
flood_chat_rate=${BENCH_FLOOD_CHAT_RATE:-100}
before=${BENCH_BEFORE:-}
before_gateway=${BENCH_BEFORE_BIN:-}
before_web=${BENCH_BEFORE_WEB_ROOT:-}
# The bench build's CMake options, for the gateway here and the one before.
cmake_opts=(-DCMAKE_BUILD_TYPE=Release -DWT_BUILD_TESTS=OFF)

# json_str TEXT: TEXT as a JSON string (for the results' head lines).
json_str() {
  local t=${1//\\/\\\\}
  t=${t//\"/\\\"}
  printf '"%s"' "$t"
}

# ---- the gateway to compare with: checked before anything is installed ----
before_commit=""
before_json="" # the results' head lines of a before/after run
if [[ -n $before || -n $before_gateway || " $hubs " == *" gateway-before "* ]]; then
  if [[ -n $before && -n $before_gateway ]]; then
    echo "run.sh: set BENCH_BEFORE (a revision to build) or BENCH_BEFORE_BIN (a gateway built), not both" >&2
    exit 2
  fi
  if [[ -z $before && -z $before_gateway ]]; then
    echo "run.sh: hub gateway-before runs the gateway of BENCH_BEFORE=REV or BENCH_BEFORE_BIN=PATH: set one" >&2
    exit 2
  fi
  if [[ " $hubs " != *" gateway "* ]]; then
    echo "run.sh: the gateway before is compared with hub gateway: BENCH_HUBS must name gateway" >&2
    exit 2
  fi
  # gateway-before goes just before gateway: scenario by scenario, the two
  # meet the same state of the machine as nearly as it allows.
  list=""
  for h in $hubs; do
    [[ $h == gateway-before ]] && continue
    [[ $h == gateway ]] && list+=" gateway-before"
    list+=" $h"
  done
  hubs=${list# }
  run_date=$(date -u '+%Y-%m-%d %H:%M UTC')
  if [[ -n $before ]]; then
    if ! before_commit=$(git -C "$root" rev-parse --verify --quiet --end-of-options \
      "$before^{commit}" 2>/dev/null); then
      echo "run.sh: BENCH_BEFORE=$before: no such commit, tag or branch in the repository at $root" >&2
      exit 2
    fi
    before_date=$(TZ=UTC git -C "$root" log -1 --date=format-local:'%Y-%m-%d %H:%M UTC' \
      --format=%cd "$before_commit")
    before_json="{\"meta\":\"before\",\"rev\":$(json_str "$before"),\"commit\":\"$before_commit\",\"date\":\"$before_date\"}"
  else
    if [[ ! -f $before_gateway || ! -x $before_gateway ]]; then
      echo "run.sh: BENCH_BEFORE_BIN=$before_gateway: no executable file there" >&2
      exit 2
    fi
    before_gateway=$(realpath "$before_gateway")
    before_version=$("$before_gateway" --version 2>/dev/null | head -1 || true)
    before_json="{\"meta\":\"before\",\"bin\":$(json_str "$before_gateway"),\"version\":$(json_str "$before_version")}"
  fi
  if [[ -n $before_web && ! -d $before_web ]]; then
    echo "run.sh: BENCH_BEFORE_WEB_ROOT=$before_web: no such directory" >&2
    exit 2
  fi
  # The gateway here: its commit, and whether the tree has changes on it.
  after_commit=$(git -C "$root" rev-parse --verify --quiet HEAD 2>/dev/null || true)
  after_changes=false
  if [[ -n $after_commit && -n $(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    after_changes=true
  fi
  after_date=""
  if [[ -n $after_commit ]]; then
    after_date=$(TZ=UTC git -C "$root" log -1 --date=format-local:'%Y-%m-%d %H:%M UTC' \
      --format=%cd "$after_commit")
  fi
  before_json+=$'\n'"{\"meta\":\"after\",\"commit\":\"$after_commit\",\"date\":\"$after_date\",\"changes\":$after_changes,\"run\":\"$run_date\"}"
fi

# ---- install and build ----
"$root/scripts/deps.sh" build
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends nodejs npm
fi
# The Redis hubs need redis-server (redis-cli comes with it), the profile perf.
need=()
[[ $hubs == *gateway-redis* ]] && ! command -v redis-server >/dev/null && need+=(redis-server)
[[ (profile =~ $only && $only != .) || ${BENCH_FLOOD_PROFILE:-0} == 1 ]] &&
  ! command -v perf >/dev/null && need+=(linux-perf)
if [[ ${#need[@]} -gt 0 ]]; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need[@]}"
fi
cmake -S "$root" -B "$build" "${cmake_opts[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target loadgen store_fill wintalk-gateway >/dev/null
(cd "$root/bench/peers" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)

# find_gateway BUILD_DIR: the gateway built there: in gateway/, where the
# directory that defines it has always been, or wherever a layout put it.
find_gateway() {
  local bin=$1/gateway/wintalk-gateway
  [[ -f $bin && -x $bin ]] || bin=$(find "$1" -name wintalk-gateway -type f -perm -u+x -print -quit)
  if [[ -z $bin ]]; then
    echo "run.sh: no wintalk-gateway built in $1" >&2
    return 1
  fi
  echo "$bin"
}

loadgen="$build/bench/loadgen"
store_fill="$build/bench/store_fill"
gateway=$(find_gateway "$build")
results="$build/bench-results.jsonl"
: >"$results"

# Pin the hub and the generator to different cores when there are two.
# As root, both also run at a higher priority than the machine's other work
# (nice -5), which takes some of the noise of a shared machine away.
# Redis goes on the hub's core too: the generator already fills its own
# core in the fastest scenarios (gen_cpu 0.9-1.0), so Redis there would
# slow the generator and measure the generator; and on the hub's core the
# store's whole cost is paid where the SQLite store's is (its commits and
# its checkpoint thread run in the gateway's process, on that core), so the
# ratios to SQLite compare the same thing: what one core of server does.
# Redis' own share is reported (redis_cpu) to tell the two apart.
prio=()
[[ $(id -u) -eq 0 ]] && prio=(nice -n -5)
if [[ $(nproc) -ge 2 ]] && command -v taskset >/dev/null; then
  pin_server=("${prio[@]}" taskset -c "${BENCH_SERVER_CPU:-0}")
  pin_gen=("${prio[@]}" taskset -c "${BENCH_GEN_CPU:-1}")
  pin_redis=("${prio[@]}" taskset -c "${BENCH_REDIS_CPU:-${BENCH_SERVER_CPU:-0}}")
else
  pin_server=("${prio[@]}")
  pin_gen=("${prio[@]}")
  pin_redis=("${prio[@]}")
fi

ulimit -n "$(ulimit -Hn)"

hub_pid=""
hub2_pid=""   # gateway-redis2's second gateway
redis_pid=""  # the Redis of the gateway-redis hubs
http_port=0
tcp_port=0
http_port2=0
tcp_port2=0
redis_port=0
data_dir=""  # the running SQLite gateway's, removed when it stops
redis_dir="" # the running Redis' (its log), removed when it stops
fill_dir=""  # startup-1m's filled data directory, removed at the end
before_dir="" # BENCH_BEFORE's source and build, removed at the end
# stop_pid PID: SIGTERM, at most 5 s, then SIGKILL; reaped.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  # The gateways first, then their Redis (they would only log its loss).
  if [[ -n "$hub_pid" ]]; then
    stop_pid "$hub_pid"
    hub_pid=""
  fi
  if [[ -n "$hub2_pid" ]]; then
    stop_pid "$hub2_pid"
    hub2_pid=""
  fi
  if [[ -n "$redis_pid" ]]; then
    stop_pid "$redis_pid"
    redis_pid=""
  fi
  # Only the directories mktemp made for them.
  if [[ -n "$data_dir" && $data_dir == "$build"/bench-data.* ]]; then
    rm -rf -- "$data_dir"
  fi
  data_dir=""
  if [[ -n "$redis_dir" && $redis_dir == "$build"/bench-redis.* ]]; then
    rm -rf -- "$redis_dir"
  fi
  redis_dir=""
}
cleanup_all() {
  cleanup
  if [[ -n "$fill_dir" && $fill_dir == "$build"/bench-fill.* ]]; then
    rm -rf -- "$fill_dir"
  fi
  fill_dir=""
  if [[ -n "$before_dir" && $before_dir == "$build"/before.* ]]; then
    rm -rf -- "$before_dir"
  fi
  before_dir=""
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

# The gateway of BENCH_BEFORE: its tree as it was committed (git archive:
# no worktree to register, nothing of this tree's build or changes), built
# like the gateway here, only its executable.
if [[ -n $before_commit ]]; then
  before_dir=$(mktemp -d "$build/before.XXXXXX")
  echo "bench: building the gateway of $before ($before_commit) in $before_dir"
  mkdir "$before_dir/src"
  git -C "$root" archive --format=tar "$before_commit" | tar -x -C "$before_dir/src"
  before_log="$build/bench-before-build.log"
  if ! { cmake -S "$before_dir/src" -B "$before_dir/build" "${cmake_opts[@]}" &&
    cmake --build "$before_dir/build" -j"$(nproc)" --target wintalk-gateway; } >"$before_log" 2>&1; then
    tail -n 20 "$before_log" >&2
    echo "run.sh: the gateway of BENCH_BEFORE=$before did not build (the log: $before_log)" >&2
    exit 1
  fi
  before_gateway=$(find_gateway "$before_dir/build")
  # Its own static files: the page of its tree.
  before_web=${before_web:-$before_dir/src/web}
fi
if [[ -n $before_gateway && -z $before_web ]]; then
  # BENCH_BEFORE_BIN: the page of the tree it was built in, if it was built
  # in one, else this tree's.
  before_top=$(git -C "$(dirname "$before_gateway")" rev-parse --show-toplevel 2>/dev/null || true)
  before_web=$root/web
  [[ -n $before_top && -d $before_top/web ]] && before_web=$before_top/web
fi
if [[ -n $before_json ]]; then
  echo "$before_json" >>"$results"
fi

# A port nobody listens on, from the base upwards.
next_port() {
  local p=$1
  while ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; do p=$((p + 1)); done
  echo "$p"
}

# gateway_args KIND DIR: the gateway's command line for KIND (gateway and
# gateway-before: the SQLite store in DIR; gateway-memory: the memory
# store; gateway-redis*: the Redis) into gw_cmd.
gateway_args() {
  # gateway-before: the gateway of BENCH_BEFORE with its own page.
  local gateway=$gateway web=$root/web
  [[ $1 == gateway-before ]] && gateway=$before_gateway web=$before_web
  # The gateway refuses more participants than its ceiling; ask for
  # enough for the largest scenario and fall back to what it allows.
  local max=10010
  if ! "$gateway" --max-participants $max --help >/dev/null 2>&1; then
    max=$({ "$gateway" --max-participants 999999999 --help 2>&1 || true; } |
      grep -o 'from [0-9]* to [0-9]*' | grep -o '[0-9]*$' | head -1 || true)
    max=${max:-4096}
  fi
  # Every client comes from 127.0.0.1: lift the per-address limit too,
  # where the gateway has one. (The help is read whole: a grep -q that
  # stops early would fail the pipeline with the gateway's SIGPIPE.)
  local extra=() help
  help=$("$gateway" --help 2>&1 || true)
  if [[ $help == *--max-per-address* ]]; then
    extra+=(--max-per-address 0)
  fi
  # login registers BENCH_LOGIN_ACCOUNTS accounts from 127.0.0.1: no bound
  # of registrations an hour (with --max-per-address 0 the gateway counts
  # no address anyway; this holds if that changes).
  if [[ $help == *--registrations-per-hour* ]]; then
    extra+=(--registrations-per-hour 0)
  fi
  if [[ $help != *"--store KIND"* ]]; then
    echo "run.sh: $gateway has no --store: it cannot run as $1" >&2
    return 1
  fi
  case $1 in
    gateway | gateway-before) extra+=(--store sqlite --data-dir "$2") ;;
    gateway-memory) extra+=(--store memory) ;;
    gateway-redis*) extra+=(--store redis --redis "redis://127.0.0.1:$redis_port/0") ;;
  esac
  gw_cmd=("$gateway" --bind 127.0.0.1 --http-port "${3:-$http_port}" \
    --tcp-port "${4:-$tcp_port}" --web-root "$web" --rate 0 --any-origin \
    --max-participants "$max" "${extra[@]}")
}

# start_redis: a fresh redis-server on the next free port, in a new
# directory, on the hub's core (see pin_redis). Without persistence (no RDB
# snapshots, no append-only file): the benchmark measures the hub and the
# Redis protocol, not Redis' disk. Sets redis_pid, redis_port, redis_dir.
start_redis() {
  redis_port=$(next_port $((tcp_port + 1)))
  redis_dir=$(mktemp -d "$build/bench-redis.XXXXXX")
  "${pin_redis[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$redis_dir" \
    --save "" --appendonly no --daemonize no --logfile redis.log \
    </dev/null >/dev/null 2>&1 &
  redis_pid=$!
  for _ in $(seq 100); do
    [[ $(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null) == PONG ]] && return 0
    kill -0 "$redis_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "run.sh: redis-server did not start (log: $redis_dir/redis.log)" >&2
  return 1
}

# readyz_ok PORT: the gateway there answers /readyz with 200 (its store
# takes events: for Redis, connected and the epoch known).
readyz_ok() {
  local ans
  ans=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3 &&
    head -c 12 <&3' _ "$1" 2>/dev/null) || return 1
  [[ $ans == "HTTP/1.1 200" ]]
}

# listening PORT...: every port has a listener.
listening() {
  local p
  for p in "$@"; do
    ss -Hltn "sport = :$p" | grep -q . || return 1
  done
}

# start_hub KIND: a fresh hub; sets hub_pid, http_port, tcp_port (and
# data_dir, a new empty one, for the SQLite gateway).
start_hub() {
  cleanup
  http_port=$(next_port "$port_base")
  tcp_port=$(next_port $((http_port + 1)))
  case $1 in
    gateway | gateway-memory | gateway-before)
      [[ $1 != gateway-memory ]] && data_dir=$(mktemp -d "$build/bench-data.XXXXXX")
      gateway_args "$1" "$data_dir/data"
      "${pin_server[@]}" "${gw_cmd[@]}" >"$build/bench-$1.log" 2>&1 &
      ;;
    gateway-redis | gateway-redis2)
      start_redis
      gateway_args "$1" ""
      "${pin_server[@]}" "${gw_cmd[@]}" >"$build/bench-$1.log" 2>&1 &
      ;;
    node)
      "${pin_server[@]}" node "$root/bench/peers/hub.js" --http-port "$http_port" \
        --tcp-port "$tcp_port" >"$build/bench-node.log" 2>&1 &
      ;;
  esac
  hub_pid=$!
  local ports=("$http_port" "$tcp_port")
  if [[ $1 == gateway-redis2 ]]; then
    # The second gateway: same Redis, same core, its own ports (its node
    # is its own, drawn at random as it starts).
    http_port2=$(next_port $((redis_port + 1)))
    tcp_port2=$(next_port $((http_port2 + 1)))
    gateway_args "$1" "" "$http_port2" "$tcp_port2"
    "${pin_server[@]}" "${gw_cmd[@]}" >"$build/bench-$1-2.log" 2>&1 &
    hub2_pid=$!
    ports+=("$http_port2" "$tcp_port2")
  fi
  for _ in $(seq 100); do
    if listening "${ports[@]}"; then
      # A Redis gateway listens before its store is ready: wait for it.
      [[ $1 != gateway-redis* ]] && return 0
      if readyz_ok "$http_port" && { [[ $1 != gateway-redis2 ]] || readyz_ok "$http_port2"; }; then
        return 0
      fi
    fi
    sleep 0.05
  done
  echo "run.sh: the $1 hub did not start" >&2
  return 1
}

# CPU ticks the hub has used so far: its gateways and its Redis.
hub_ticks() {
  local p t=0 v
  for p in $hub_pid $hub2_pid $redis_pid; do
    # After the command name, which may hold spaces: utime and stime.
    v=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || v=0
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# Wait (at most 20 s) until the hub is idle: the previous run's clients are
# gone and their events handled.
wait_idle() {
  local a b
  a=$(hub_ticks)
  for _ in $(seq 40); do
    sleep 0.5
    b=$(hub_ticks)
    [[ $((b - a)) -le 2 ]] && return 0
    a=$b
  done
}

# gen KIND SCENARIO ARGS...: one load generator run; its JSON line goes to
# the results and to stdout.
gen() {
  local kind=$1 label=$2
  shift 2
  local line
  # The gateway's /metrics: its store's counters over the sending.
  local metrics=()
  [[ $kind == gateway* ]] && metrics=(--metrics-port "$http_port")
  # Redis' counters and CPU; the second gateway's ports, PID and /metrics.
  [[ $kind == gateway-redis* ]] && metrics+=(--redis-port "$redis_port" --redis-pid "$redis_pid")
  [[ $kind == gateway-redis2 ]] && metrics+=(--ws-port2 "$http_port2" --tcp-port2 "$tcp_port2" \
    --server-pid2 "$hub2_pid" --metrics-port2 "$http_port2")
  line=$("${pin_gen[@]}" "$loadgen" --ws-port "$http_port" --tcp-port "$tcp_port" \
    --label "$label" --hub "$kind" --server-pid "$hub_pid" "${metrics[@]}" --quiet "$@" || true)
  if [[ -z "$line" ]]; then
    line="{\"label\":\"$label\",\"hub\":\"$kind\",\"error\":\"no report\"}"
  fi
  echo "$line" >>"$results"
  echo "$line"
}

field() { # field NAME: from a JSON line on stdin
  grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2 | tr -d '"'
}

probe_ok() { # probe_ok LINE: everything delivered and p99 under 50 ms
  [[ $(field all_delivered <<<"$1") == true ]] &&
    awk -v p="$(field p99_ms <<<"$1")" 'BEGIN{exit !(p < 50)}'
}

# search KIND LABEL ARGS...: the highest rate (messages/s over all senders)
# whose p99 stays under 50 ms with everything delivered. Doubles from 100
# (or $search_from) until a rate fails, then bisects; each probe sends for
# 4 s, and a probe that fails on latency alone is repeated once.
search() {
  local kind=$1 label=$2
  shift 2
  local lo=0 hi=0 rate=${search_from:-100} line ok best="" steps=0 bisect=4
  [[ "$quick" == 1 ]] && bisect=2
  while :; do
    wait_idle
    line=$(gen "$kind" "$label-probe" --rate "$rate" --duration 4 --drain 3 --timeout 40 "$@")
    ok=0
    if probe_ok "$line"; then
      ok=1
    elif [[ $(field all_delivered <<<"$line") == true ]]; then
      # Everything arrived but p99 was over: on a shared machine one stall
      # of another process does that, so the rate gets a second probe.
      wait_idle
      line=$(gen "$kind" "$label-probe" --rate "$rate" --duration 4 --drain 3 --timeout 40 "$@")
      probe_ok "$line" && ok=1
    fi
    steps=$((steps + 1))
    # A hub that cannot even connect everyone has no rate to find.
    [[ $(field setup_failed <<<"$line") == 0 ]] || break
    if [[ $ok == 1 ]]; then
      lo=$rate
      best=$line
    else
      hi=$rate
    fi
    if [[ $hi == 0 ]]; then
      rate=$((rate * 2))
      [[ $rate -gt 200000 ]] && break
    else
      [[ $bisect -le 0 || $((hi - lo)) -le $((hi / 16)) ]] && break
      bisect=$((bisect - 1))
      rate=$(((lo + hi) / 2))
      [[ $rate -lt 1 ]] && break
    fi
    [[ $steps -ge 14 ]] && break
  done
  if [[ -z "$best" ]]; then
    best="{\"label\":\"$label\",\"hub\":\"$kind\",\"rate\":0,\"all_delivered\":false,\"deliveries_per_s\":0}"
  fi
  best=${best/\"label\":\"$label-probe\"/\"label\":\"$label\"}
  echo "$best" >>"$results"
  echo "$best"
}

want() { [[ $1 =~ $only ]]; }

echo "bench: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "bench: hubs: $hubs; results: $results"
if [[ -n $before_commit ]]; then
  echo "bench: gateway-before: $before = $before_commit ($before_date), web root $before_web"
elif [[ -n $before_gateway ]]; then
  echo "bench: gateway-before: $before_gateway, web root $before_web"
fi
# A gateway before that cannot run as gateway-before stops the run here.
if [[ -n $before_gateway ]]; then
  gateway_args gateway-before "$build/bench-data"
fi
# Scenario by scenario, each against every hub in turn, so that the hubs
# meet the same background load as nearly as a shared machine allows.
each() { # each SCENARIO COMMAND...: COMMAND KIND for every hub
  local name=$1
  shift
  want "$name" || return 0
  for kind in $hubs; do "$@" "$kind"; done
  cleanup
}
idle_1k() {
  start_hub "$1"
  gen "$1" idle-1k --ws 1000 --hold 2 --timeout 40
}
idle_10k() {
  start_hub "$1"
  local line
  line=$(gen "$1" idle-10k --ws 10000 --hold 2 --timeout 60 \
    --concurrency 512)
  echo "$line"
  # The same run measured the set-up of the 10,000 connections.
  echo "${line/\"label\":\"idle-10k\"/\"label\":\"setup-10k\"}" >>"$results"
}
fanout() {
  start_hub "$1"
  gen "$1" fanout --senders 1 --ws 1000 --window 64 --duration 10 --drain 5 --timeout 45
}
# chat: chat-100 and chat-max on one start of the hub; BENCH_ONLY may name
# one of them alone (chat-100 takes 15 s, the search of chat-max minutes).
chat() {
  start_hub "$1"
  if want chat-100; then
    gen "$1" chat-100 --senders 100 --ws 900 --rate 100 --duration 10 --drain 5 --timeout 45
  fi
  if want chat-max; then
    search "$1" chat-max --senders 100 --ws 900
  fi
}
bridge_tcp_web() {
  start_hub "$1"
  search "$1" bridge-tcp-web --senders 100 --sender-proto tcp --ws 900
}
bridge_web_tcp() {
  start_hub "$1"
  search "$1" bridge-web-tcp --senders 100 --sender-proto ws --tcp 900
}
# write: 100 browsers that only send (each gets the other 99's messages),
# as fast as the hub lets them through: events committed per second, from
# the gateway's /metrics over the sending.
write() {
  start_hub "$1"
  gen "$1" write --senders 100 --window "$write_window" --duration 10 --drain 5 --timeout 45
}
# startup-1m: a data directory with a million events in 10 rooms (#lobby,
# which a gateway loads as it starts, and #room2..#room10), made once by
# store_fill; then three starts of the gateway on it, each timed from the
# spawn to its "listening" log line and to /readyz 200. The memory store
# starts with nothing, as a reference; the Node.js hub keeps no history.
fill() {
  [[ -n "$fill_dir" ]] && return 0
  fill_dir=$(mktemp -d "$build/bench-fill.XXXXXX")
  local out
  if ! out=$("${pin_server[@]}" "$store_fill" --lobby "$fill_dir/data" "$fill_events" 10); then
    echo "run.sh: store_fill failed" >&2
  fi
  echo "$out"
  # "store_fill: N events in R rooms in S s: E events/s written (...)"
  fill_json=$(awk -v o="${out%%$'\n'*}" 'BEGIN {
    n = split(o, w, " "); secs = 0; eps = 0
    for (i = 2; i <= n; i++) {
      if (w[i] == "s:") secs = w[i - 1]
      if (w[i] == "events/s") eps = w[i - 1]
    }
    printf ",\"fill_events\":%d,\"fill_s\":%.2f,\"fill_events_per_s\":%d", w[2], secs, eps }')
}
startup_1m() {
  local kind=$1 line size=()
  # The Node.js hub keeps no history; a Redis gateway's start reads only
  # #lobby's latest events from Redis, which store_fill does not write.
  [[ $kind == node || $kind == gateway-redis* ]] && return 0
  fill
  cleanup
  http_port=$(next_port "$port_base")
  tcp_port=$(next_port $((http_port + 1)))
  [[ $kind == gateway || $kind == gateway-before ]] && size=(--data-dir "$fill_dir/data")
  gateway_args "$kind" "$fill_dir/data"
  line=$("${pin_gen[@]}" node "$root/bench/startup.js" --port "$http_port" --runs 3 \
    --label startup-1m --hub "$kind" "${size[@]}" -- "${pin_server[@]}" \
    "${gw_cmd[@]}" 2>"$build/bench-$kind.log" || true)
  if [[ -z "$line" ]]; then
    line="{\"label\":\"startup-1m\",\"hub\":\"$kind\",\"error\":\"no report\"}"
  fi
  [[ $kind == gateway || $kind == gateway-before ]] && line="${line%\}}$fill_json}"
  echo "$line" >>"$results"
  echo "$line"
}
# redis-max: what the Redis store carries. The same search as chat-max,
# but with 10 browsers that all send (each gets the other 9's messages), so
# that each message costs the gateways little and Redis' part of a message
# (one EVALSHA: GET, HINCRBY, XADD, PUBLISH to each gateway, SET) shows: Redis'
# CPU share at the highest rate gives its cost per message, and so the
# messages per second one Redis core carries. Searched from 1,000 msg/s.
redis_max() {
  [[ $1 == gateway-redis* ]] || return 0
  start_hub "$1"
  search_from=1000 search "$1" redis-max --senders 10
}
# profile: where the hub's time goes, with perf (run only when BENCH_ONLY
# names it: perf's sampling costs the hub a little). The chat of chat-max
# at a fixed BENCH_PROFILE_RATE msg/s for 16 s; perf samples the gateway
# (and its Redis: one file, sorted by process) for 10 s of it, from the
# generator's core. Reports in build-bench/perf-KIND.txt.
profile() {
  local kind=$1
  [[ $kind == node || $kind == gateway-memory ]] && return 0
  start_hub "$kind"
  local pids=$hub_pid
  [[ -n "$hub2_pid" ]] && pids+=",$hub2_pid"
  [[ -n "$redis_pid" ]] && pids+=",$redis_pid"
  local data="$build/perf-$kind.data" report="$build/perf-$kind.txt" perf_pid
  rm -f -- "$data"
  # Set-up takes 1-2 s; the recording starts after 4.
  ( sleep 4 && exec "${pin_gen[@]}" perf record -q -g -F 499 -o "$data" -p "$pids" -- sleep 10 ) \
    >"$build/perf-$kind.log" 2>&1 &
  perf_pid=$!
  gen "$kind" profile --senders 100 --ws 900 --rate "$profile_rate" --duration 16 --drain 5 \
    --timeout 45
  wait "$perf_pid" || echo "run.sh: perf record failed (see $build/perf-$kind.log)" >&2
  perf_summary "$data" "$report" "$kind, chat at $profile_rate msg/s (100 senders, 900 browsers), 10 s"
}
# perf_summary DATA REPORT TITLE: perf's samples in DATA summed up into
# REPORT: by thread, by thread and library, by process and library, and
# the first 60 symbols.
perf_summary() {
  local data=$1 report=$2
  [[ -s "$data" ]] || return 0
  # Whole reports into files first: a pipe into head would end perf
  # report with SIGPIPE, which pipefail turns into a failure.
  perf report -i "$data" --no-children -g none --sort pid --stdio >"$report.tid" 2>/dev/null || true
  perf report -i "$data" --no-children -g none --sort pid,dso --stdio >"$report.tdso" 2>/dev/null || true
  perf report -i "$data" --no-children -g none --sort comm,dso --stdio >"$report.dso" 2>/dev/null || true
  perf report -i "$data" --no-children -g none --sort comm,dso,symbol --stdio \
    >"$report.sym" 2>/dev/null || true
  {
    echo "# $3"
    echo "# samples by thread (the gateway's event loop: thread id = process id)"
    grep '%' "$report.tid" | sed -n 1,20p || true
    echo
    echo "# by thread and library (self time)"
    grep '%' "$report.tdso" | sed -n 1,20p || true
    echo
    echo "# samples by process and library (self time)"
    grep '%' "$report.dso" | sed -n 1,30p || true
    echo
    echo "# by symbol (self time), the first 60"
    grep '%' "$report.sym" | sed -n 1,60p || true
  } >"$report"
  rm -f -- "$report.tid" "$report.tdso" "$report.dso" "$report.sym"
  echo "run.sh: profile in $report"
}
# Whether hub KIND offers accounts (a gateway with --registration; the
# Node.js hub and a gateway before accounts do not). gateway-redis2 is
# left out too: the account scenarios measure one gateway.
has_accounts() {
  [[ $1 == node || $1 == gateway-redis2 ]] && return 1
  local bin=$gateway help
  [[ $1 == gateway-before ]] && bin=$before_gateway
  help=$("$bin" --help 2>&1 || true)
  [[ $help == *--registration* ]]
}
# login: what logging in costs. BENCH_LOGIN_ACCOUNTS wintalk.v2 browsers,
# each with a nick of its own, all at once and step by step: register
# (through the protocol, so that every store takes part), log out, log in
# with the right password, log out, log in with a wrong one, log in to a
# nick nobody registered. Per step: answers per second, the latency of the
# request answered, and the 421s (more than GW_ACCOUNT_OPS_MAX at once:
# sent again after BENCH_LOGIN_RETRY_MS).
login() {
  has_accounts "$1" || return 0
  start_hub "$1"
  gen "$1" login --accounts "$login_accounts" --login-retry-ms "$login_retry_ms" --timeout 60
}
# chat-under-login-flood: chat-100's chat twice on one start of the hub,
# quiet and then while BENCH_FLOOD_CONNS other browsers log in with wrong
# passwords to one account as fast as the gateway answers (one login each
# in flight; a 421 or 429 sent again after BENCH_LOGIN_RETRY_MS). The flood's
# browsers are connected (in #lobby, reading the chat) for both, idle for
# the quiet one; the flood runs from 2 s before the second chat's set-up
# to its end. Its own report: wrong logins answered per second, 421s, 429s.
# chat-under-names-flood: the same with loadgen --flood-names: each try a
# new nick nobody registered, each browser connecting again after its 10
# tries (the gateway's bound per connection), in a room of its own
# (#flood): with --max-per-address 0 nothing holds it back, and the hasher
# is busy all through it. Labels chat-quiet-names, chat-names-flood,
# names-flood.
# With BENCH_FLOOD_PROFILE=1, perf record -g samples the hub's processes
# (the gateway, its Redis) for 8 s of each chat, from 3 s after the
# chat's start: build-bench/perf-quiet-KIND.txt and perf-flood-KIND.txt
# (-names-KIND.txt for the names flood).
flood_perf() { # flood_perf TAG: the recording starts in the background
  perf_rec=""
  [[ $flood_profile == 1 ]] || return 0
  local pids=$hub_pid
  [[ -n "$redis_pid" ]] && pids+=",$redis_pid"
  perf_data="$build/perf-$1-$kind.data"
  rm -f -- "$perf_data"
  ( sleep 3 && exec "${pin_gen[@]}" perf record -q -g -F 499 -o "$perf_data" -p "$pids" -- sleep 8 ) \
    >"$build/perf-$1-$kind.log" 2>&1 &
  perf_rec=$!
}
flood_perf_done() { # flood_perf_done TAG
  [[ -n $perf_rec ]] || return 0
  wait "$perf_rec" || echo "run.sh: perf record failed (see $build/perf-$1-$kind.log)" >&2
  perf_summary "$perf_data" "$build/perf-$1-$kind.txt" \
    "$kind, chat-100's chat ($1), 8 s from 3 s after its start"
}
chat_login_flood() {
  chat_flood "$1" login
}
chat_names_flood() {
  chat_flood "$1" names
}
chat_flood() { # chat_flood KIND login|names
  local kind=$1 perf_rec="" perf_data=""
  has_accounts "$kind" || return 0
  local how=() sfx="" quiet_label=chat-quiet flood_label=chat-login-flood gen_label=login-flood
  if [[ $2 == names ]]; then
    how=(--flood-names)
    sfx=-names quiet_label=chat-quiet-names flood_label=chat-names-flood gen_label=names-flood
  fi
  start_hub "$kind"
  local ready="$build/bench-flood.ready" out="$build/bench-flood.json" flood_pid line
  rm -f -- "$ready" "$out"
  "${pin_gen[@]}" "$loadgen" --ws-port "$http_port" --tcp-port "$tcp_port" \
    --flood "$flood_conns" "${how[@]}" --login-retry-ms "$login_retry_ms" --ready-file "$ready" \
    --label "$gen_label" --hub "$kind" --server-pid "$hub_pid" --quiet --timeout 60 \
    >"$out" 2>"$build/bench-flood.log" &
  flood_pid=$!
  for _ in $(seq 400); do
    [[ -s $ready ]] && break
    kill -0 "$flood_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ ! -s $ready ]]; then
    echo "run.sh: the login flood did not get ready (its log: $build/bench-flood.log)" >&2
    stop_pid "$flood_pid"
    return 0
  fi
  wait_idle
  flood_perf "quiet$sfx"
  gen "$kind" "$quiet_label" --senders 100 --ws 900 --rate "$flood_chat_rate" --duration 10 --drain 5 \
    --timeout 45
  flood_perf_done "quiet$sfx"
  wait_idle
  if ! kill -USR1 "$flood_pid" 2>/dev/null; then
    echo "run.sh: the login flood ended before its start (its log: $build/bench-flood.log)" >&2
    wait "$flood_pid" || true
    return 0
  fi
  sleep 2
  flood_perf "flood$sfx"
  gen "$kind" "$flood_label" --senders 100 --ws 900 --rate "$flood_chat_rate" --duration 10 --drain 5 \
    --timeout 45
  flood_perf_done "flood$sfx"
  # SIGTERM ends the flood and it reports (it stops by itself 60 s after
  # its start at the latest).
  kill -TERM "$flood_pid" 2>/dev/null || true
  wait "$flood_pid" || true
  line=$(head -1 "$out" 2>/dev/null || true)
  [[ -n $line ]] || line="{\"label\":\"$gen_label\",\"hub\":\"$kind\",\"error\":\"no report\"}"
  echo "$line" >>"$results"
  echo "$line"
  rm -f -- "$ready" "$out"
}
each idle-1k idle_1k
each 'idle-10k|setup-10k' idle_10k
each fanout fanout
each 'chat-100|chat-max' chat
each bridge-tcp-web bridge_tcp_web
each bridge-web-tcp bridge_web_tcp
each write write
each startup-1m startup_1m
each redis-max redis_max
each login login
each chat-under-login-flood chat_login_flood
each chat-under-names-flood chat_names_flood
[[ $only != . ]] && each profile profile

echo
node "$root/bench/table.js" "$results"
