#!/usr/bin/env bash
# cachecar soak test: mixed load against a real cachecar in front of the bundled product-api with
# a private redis-server, while Redis is killed, paused and the upstream is killed on a schedule.
#
#   bench/soak.sh                     # 10 minutes; writes bench/out/soak-<time>/report.md
#   bench/soak.sh --duration 60       # a short run (the schedule scales with the duration)
#
# Options:
#   --duration SECONDS      length of the load (default 600)
#   --cachecar PATH         use this cachecar binary instead of building build/bench
#   --product-api PATH      use this product-api binary instead of building it in build/bench
#   --grace SECONDS         errors this long after the upstream listens again still count as
#                           downtime (default 3)
#   --skip-bad LIST         comma-separated bad-request kinds not to send (e.g. huge_trailer while
#                           a known crash is being fixed); names in bench/soak.py
#   --readers N             reader threads of the load client (default 3)
#   --keep-tmp              keep the temporary directory (configs, data, logs)
#   --self-test             check the checker: its writes go to product-api directly, around the
#                           cache, so the run must FAIL with stale reads
#
# Load (bench/soak.py, Python 3 standard library): readers (GET /products/<id>, GET
# /products?limit=..), a writer (PUT a new price), bypasses (?nocache=true), two id-partitioned
# checkers (PUT a price, then GET it through the cache: must be that price), bad requests (garbage,
# oversize heads, invalid chunked bodies, bad Transfer-Encoding, a huge trailer, missing/duplicate
# Host), slow clients (a head trickled 1 byte/s on a new and on a kept-alive connection; a client
# that stops reading large responses). Faults at 15 %, 35 % and 55 % of the run: Redis SIGKILLed
# and restarted, Redis SIGSTOPped then SIGCONTed, product-api SIGKILLed and restarted.
# Every 10 s: cachecar's VmRSS, open fds, connections, pending invalidations, counts by outcome.
#
# Exit status: 0 when cachecar is alive at the end, no read after a write was stale and no good
# request failed (connection error, timeout, 5xx, unexpected status) outside the upstream's
# downtime windows; 1 otherwise; 2 for a usage error.
#
# Environment: SOAK_PORT_BASE (first of 4 loopback ports, default 19460), SOAK_BUILD_JOBS (ninja
# -j). The build is not locked here: on a shared machine run the whole script under the team's
# lock, e.g. `flock /tmp/cachecar-build.lock bench/soak.sh`. Everything listens on 127.0.0.1; every
# process this script starts is stopped on exit; the temp dir is removed unless --keep-tmp.
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
root=$(pwd)
command_line="bench/soak.sh"
for arg in "$@"; do command_line+=" $arg"; done

duration=600 cachecar_bin="" product_api_bin="" grace=3 skip_bad="" readers=3 keep_tmp=0 self_test=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=${2:?}; shift 2 ;;
    --cachecar) cachecar_bin=${2:?}; shift 2 ;;
    --product-api) product_api_bin=${2:?}; shift 2 ;;
    --grace) grace=${2:?}; shift 2 ;;
    --skip-bad) skip_bad=${2:?}; shift 2 ;;
    --readers) readers=${2:?}; shift 2 ;;
    --keep-tmp) keep_tmp=1; shift ;;
    --self-test) self_test=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "soak: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$duration" in ''|*[!0-9]*) echo "soak: --duration takes whole seconds" >&2; exit 2 ;; esac
[ "$duration" -ge 30 ] || { echo "soak: --duration must be at least 30" >&2; exit 2; }

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
for tool in redis-server python3 curl awk; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: redis-server, python3, curl)"
done

# --- build (Release, build/bench, as bench/run.sh does) -------------------------------------
need=()
[ -z "$cachecar_bin" ] && need+=(cachecar)
[ -z "$product_api_bin" ] && need+=(product-api)
if [ ${#need[@]} -gt 0 ]; then
  log "building ${need[*]} (Release) in build/bench"
  # -Werror off: GCC 12 at -O3 reports false positives (see bench/run.sh).
  cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCACHECAR_BUILD_TESTS=OFF \
    -DCACHECAR_WERROR=OFF >/dev/null
  ninja -C build/bench ${SOAK_BUILD_JOBS:+-j"$SOAK_BUILD_JOBS"} "${need[@]}" >&2
fi
: "${cachecar_bin:=$root/build/bench/src/cachecar}" "${product_api_bin:=$root/build/bench/src/product-api}"
for b in "$cachecar_bin" "$product_api_bin"; do [ -x "$b" ] || die "no executable at $b"; done
cachecar_bin=$(cd "$(dirname "$cachecar_bin")" && pwd)/$(basename "$cachecar_bin")
product_api_bin=$(cd "$(dirname "$product_api_bin")" && pwd)/$(basename "$product_api_bin")

# --- temp dir, results dir, process bookkeeping ---------------------------------------------
mkdir -p "$root/bench/out"
pid_file=$root/bench/out/.soak-pids
if [ -f "$pid_file" ]; then  # leftovers of a run killed hard (SIGKILL skips the trap)
  while read -r pid; do
    [ -n "$pid" ] && grep -qs cachecar-soak. "/proc/$pid/cmdline" && kill "$pid" 2>/dev/null || true
  done <"$pid_file"
  rm -f "$pid_file"
fi
stamp=$(date -u +%Y%m%d-%H%M%S)
results=$root/bench/out/soak-$stamp
mkdir -p "$results"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cachecar-soak.XXXXXX")
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; done  # a stopped Redis cannot exit
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -f "$pid_file"
  if [ -d "$tmp" ]; then
    find "$tmp" -maxdepth 1 \( -name '*.log' -o -name '*.yaml' \) -size -20M \
      -exec cp {} "$results/" \; 2>/dev/null || true
    if [ "$keep_tmp" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_base=${SOAK_PORT_BASE:-19460}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
p_proxy=$port_base p_admin=$((port_base + 1)) p_upstream=$((port_base + 2)) p_redis=$((port_base + 3))
for p in "$p_proxy" "$p_admin" "$p_upstream" "$p_redis"; do
  port_in_use "$p" && die "port $p is in use (set SOAK_PORT_BASE)"
done

start() {  # start NAME COMMAND...: background, output appended to $tmp/NAME.log; sets last_pid
  local name=$1
  shift
  "$@" >>"$tmp/$name.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
  echo "$last_pid" >>"$pid_file"
}
wait_port() {  # wait_port NAME PORT PID
  for _ in $(seq 200); do
    port_in_use "$2" && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.05
  done
  tail -n 20 "$tmp/$1.log" >&2 || true
  die "$1 did not start listening on 127.0.0.1:$2 (log above)"
}
alive() {  # alive PID: running (not a zombie)
  local state
  state=$(awk '{ sub(/^[^)]*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# --- servers ---------------------------------------------------------------------------------
mkdir -p "$tmp/redis"
start_redis() {
  start redis redis-server --port "$p_redis" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$tmp/redis" --daemonize no --protected-mode yes
  redis_pid=$last_pid
  wait_port redis "$p_redis" "$redis_pid"
}
start_upstream() {
  # A file database, so the products survive the upstream's restart.
  start product-api "$product_api_bin" --listen "127.0.0.1:$p_upstream" --db "$tmp/products.db" --no-seed
  upstream_pid=$last_pid
  wait_port product-api "$p_upstream" "$upstream_pid"
}
log "starting redis-server on 127.0.0.1:$p_redis and product-api on 127.0.0.1:$p_upstream"
start_redis
start_upstream

# The shipped config (routes and cache rules of product-api), with this run's addresses through
# the documented environment overrides, and without the access log (it would cost more CPU than
# the requests it logs on this small machine).
sed 's/^\(  *access_log:\) *true/\1 false/' config/cachecar.yaml >"$tmp/cachecar.yaml"
export CACHECAR_LISTEN=127.0.0.1:$p_proxy CACHECAR_ADMIN_LISTEN=127.0.0.1:$p_admin \
  CACHECAR_UPSTREAM_URL=http://127.0.0.1:$p_upstream CACHECAR_REDIS_URL=redis://127.0.0.1:$p_redis/0 \
  CACHECAR_LOG_LEVEL=warn
"$cachecar_bin" --config "$tmp/cachecar.yaml" --check-config >"$tmp/check.log" 2>&1 || {
  cat "$tmp/check.log" >&2
  die "cachecar rejected the config"
}
log "starting cachecar on 127.0.0.1:$p_proxy (admin :$p_admin)"
start cachecar "$cachecar_bin" --config "$tmp/cachecar.yaml"
cachecar_pid=$last_pid
wait_port cachecar "$p_proxy" "$cachecar_pid"
for _ in $(seq 100); do  # until every worker has its Redis connection (bounded: 10 s)
  curl -fsS -m 2 "http://127.0.0.1:$p_admin/health" 2>/dev/null | grep -q '"redis": *"connected"' && break
  sleep 0.1
done

log "creating 200 products"
python3 bench/soak.py setup --upstream "http://127.0.0.1:$p_upstream" --count 200 --out "$tmp/ids.tsv"

# --- meta -------------------------------------------------------------------------------------
commit=$(git -C "$root" describe --always 2>/dev/null || echo unknown)
dirty_src=$(git -C "$root" status --porcelain -- src 2>/dev/null | wc -l)
{
  printf 'command\t`%s`\n' "$command_line"
  printf 'commit\t`%s`%s\n' "$commit" "$([ "$dirty_src" -gt 0 ] && echo " with $dirty_src uncommitted change(s) under src/")"
  # The commit describes the tree now; a binary given with --cachecar may be older: its time says.
  printf 'binary\t%s, built %s\n' "$([ "$cachecar_bin" = "$root/build/bench/src/cachecar" ] && echo "Release build in build/bench" || echo "$cachecar_bin")" \
    "$(date -u -r "$cachecar_bin" '+%Y-%m-%d %H:%M UTC')"
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'machine\t%s cores, load average at start %s\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'config\tconfig/cachecar.yaml (access log off, log level warn), Redis %s without persistence\n' \
    "$(redis-server --version | awk '{ sub("v=", "", $3); print $3 }')"
} >"$results/meta.tsv"

# --- load + fault schedule ---------------------------------------------------------------------
log "load for ${duration}s; results in ${results#"$root"/}"
load_extra=()
[ "$self_test" = 1 ] && load_extra+=(--checker-write-base "http://127.0.0.1:$p_upstream")
start load timeout $((duration + 180)) python3 bench/soak.py load \
  --base "http://127.0.0.1:$p_proxy" --admin "http://127.0.0.1:$p_admin" --pid "$cachecar_pid" \
  --ids "$tmp/ids.tsv" --duration "$duration" --out "$results" --readers "$readers" \
  --skip-bad "$skip_bad" "${load_extra[@]}"
load_pid=$last_pid
for _ in $(seq 100); do [ -s "$results/started" ] && break; sleep 0.1; done
[ -s "$results/started" ] || die "the load client did not start (see $tmp/load.log)"
t0=$(cat "$results/started")

schedule=$results/schedule.tsv
printf 'epoch\toffset\tevent\tdetail\n' >"$schedule"
record() {  # record EVENT DETAIL
  local t=$EPOCHREALTIME
  printf '%s\t%s\t%s\t%s\n' "$t" "$(awk -v a="$t" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')" "$1" "$2" >>"$schedule"
  log "t=$(awk -v a="$t" -v b="$t0" 'BEGIN { printf "%.0f", a - b }')s $1 $2"
}
sleep_until() {  # sleep_until OFFSET (seconds after t0); returns 1 if cachecar or the load ended
  local left
  while :; do
    left=$(awk -v t="$1" -v t0="$t0" -v now="$EPOCHREALTIME" 'BEGIN { d = t0 + t - now; print (d > 1 ? 1 : (d > 0 ? d : 0)) }')
    [ "$left" = 0 ] && return 0
    alive "$cachecar_pid" && kill -0 "$load_pid" 2>/dev/null || return 1
    sleep "$left"
  done
}
# Outage length: 15 s in a 10-minute run, at least 3 s.
outage=$(( duration / 40 < 3 ? 3 : (duration / 40 > 15 ? 15 : duration / 40) ))
at_redis_kill=$((duration * 15 / 100)) at_redis_stop=$((duration * 35 / 100))
at_upstream_kill=$((duration * 55 / 100))
kill_and_restart() {  # kill_and_restart NAME AT PID-VARIABLE START-FUNCTION NOTE: one outage
  local name=$1 at=$2 var=$3 restart=$4 note=$5 pid=${!3}
  sleep_until "$at" || return 1
  # Recorded before the signal: requests in flight when it lands fail inside the window.
  record "${name}_kill" "SIGKILL pid $pid"
  kill -KILL "$pid" || true
  wait "$pid" 2>/dev/null || true
  sleep_until $((at + outage)) || return 1
  "$restart"
  record "${name}_up" "restarted, pid ${!var} ($note)"
}
run_schedule() {
  kill_and_restart redis "$at_redis_kill" redis_pid start_redis \
    "no persistence: the cache is empty" || return 0

  sleep_until "$at_redis_stop" || return 0
  record redis_stop "SIGSTOP pid $redis_pid (accepts TCP, answers nothing)"
  kill -STOP "$redis_pid" || true
  sleep_until $((at_redis_stop + outage)) || { kill -CONT "$redis_pid" || true; return 0; }
  kill -CONT "$redis_pid" || true
  record redis_cont "SIGCONT pid $redis_pid"

  kill_and_restart upstream "$at_upstream_kill" upstream_pid start_upstream \
    "product-api on the same SQLite file" || return 0
}
run_schedule
wait "$load_pid" || log "the load client exited with status $? (see $tmp/load.log)"
cat "$tmp/load.log" >&2 2>/dev/null || true

# --- verdict ------------------------------------------------------------------------------------
cachecar_alive=0
if alive "$cachecar_pid" && curl -fsS -m 5 "http://127.0.0.1:$p_admin/health" >"$results/health-end.json" 2>/dev/null; then
  cachecar_alive=1
else
  status=0
  alive "$cachecar_pid" || { wait "$cachecar_pid" 2>/dev/null || status=$?; }
  log "cachecar is not alive/answering at the end (exit status $status); last lines of its log:"
  tail -n 20 "$tmp/cachecar.log" >&2 || true
fi
curl -fsS -m 5 "http://127.0.0.1:$p_admin/metrics" >"$results/metrics-end.txt" 2>/dev/null || true
rc=0
python3 bench/soak.py report --out "$results" --grace "$grace" --alive "$cachecar_alive" || rc=$?
log "report: ${results#"$root"/}/report.md"
exit "$rc"
