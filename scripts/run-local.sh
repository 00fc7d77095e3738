#!/usr/bin/env bash
# README command (1): installs what is missing, builds, and runs the whole system on this
# machine: a private redis-server, the bundled product-api backend and cachecar in front of it.
# Ctrl-C stops everything it started. No Docker needed.
#
#   scripts/run-local.sh                      # the full system
#   scripts/run-local.sh --upstream URL       # cachecar (+ redis) in front of your own API instead
#
# Ports: proxy 8080, admin 8081, product-api 8000 (override with CACHECAR_PORT, CACHECAR_ADMIN_PORT,
# PRODUCT_API_PORT); redis on the first free port from 6390 unless CACHECAR_REDIS_URL is given.
# PRODUCT_API_DELAY (e.g. 20ms) slows the backend down so that caching is visible.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

upstream=""
while [ $# -gt 0 ]; do
  case "$1" in
    --upstream) upstream=${2:?--upstream needs a URL}; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run-local: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

proxy_port=${CACHECAR_PORT:-8080}
admin_port=${CACHECAR_ADMIN_PORT:-8081}
backend_port=${PRODUCT_API_PORT:-8000}
run_dir="$root/run"
pid_file="$run_dir/pids"
mkdir -p "$run_dir"

# Leftovers of a previous run that was killed hard: stop them (only our own binaries).
if [ -f "$pid_file" ]; then
  while read -r pid; do
    if [ -n "$pid" ] && grep -qs -e cachecar -e product-api -e redis-server "/proc/$pid/cmdline"; then
      kill "$pid" 2>/dev/null || true
    fi
  done <"$pid_file"
  rm -f "$pid_file"
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=("$proxy_port" "$admin_port")
[ -z "$upstream" ] && ports+=("$backend_port")
for port in "${ports[@]}"; do
  if port_in_use "$port"; then
    echo "run-local: port $port is already in use; stop what uses it or set the *_PORT variables" >&2
    exit 1
  fi
done

bash scripts/install-deps.sh
# -Werror guards our code in the test build; a user's build should not fail on a new
# compiler's false positive.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCACHECAR_BUILD_TESTS=OFF \
  -DCACHECAR_WERROR=OFF >/dev/null
ninja -C build/release cachecar product-api

pids=()
start() {  # start LOGNAME COMMAND...: runs in the background, logs to run/LOGNAME.log
  local log="$run_dir/$1.log"
  shift
  "$@" >"$log" 2>&1 &
  pids+=($!)
  echo $! >>"$pid_file"
}
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -f "$pid_file"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # wait_for NAME CHECK-COMMAND...
  local name=$1
  shift
  for _ in $(seq 200); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "run-local: $name did not start; see $run_dir/$name.log" >&2
  exit 1
}

if [ -z "${CACHECAR_REDIS_URL:-}" ]; then
  redis_port=6390
  while port_in_use "$redis_port"; do redis_port=$((redis_port + 1)); done
  mkdir -p "$run_dir/redis"
  start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$run_dir/redis" --daemonize no
  wait_for redis redis-cli -p "$redis_port" ping
  export CACHECAR_REDIS_URL="redis://127.0.0.1:$redis_port/0"
fi

if [ -z "$upstream" ]; then
  start product-api build/release/src/product-api --listen "127.0.0.1:$backend_port" \
    --db "$run_dir/products.db" --delay "${PRODUCT_API_DELAY:-0ms}"
  wait_for product-api curl -fsS "http://127.0.0.1:$backend_port/health"
  upstream="http://127.0.0.1:$backend_port"
fi

export CACHECAR_UPSTREAM_URL="$upstream"
export CACHECAR_LISTEN="${CACHECAR_LISTEN:-127.0.0.1:$proxy_port}"
export CACHECAR_ADMIN_LISTEN="${CACHECAR_ADMIN_LISTEN:-127.0.0.1:$admin_port}"
start cachecar build/release/src/cachecar --config config/cachecar.yaml
wait_for cachecar bash -c "exec 3<>/dev/tcp/127.0.0.1/$proxy_port"

cat <<INFO

cachecar is running (logs in run/*.log):
  proxy        http://127.0.0.1:$proxy_port      (rules: config/cachecar.yaml)
  admin        http://127.0.0.1:$admin_port      (/health, /metrics, /metrics/cache)
  backend      $upstream
  redis        $CACHECAR_REDIS_URL

Try:
  curl -s http://127.0.0.1:$proxy_port/products | head -c 300; echo
  id=\$(curl -s "http://127.0.0.1:$proxy_port/products?limit=1" | grep -o '"id": "[^"]*"' | cut -d'"' -f4)
  curl -si http://127.0.0.1:$proxy_port/products/\$id | grep -i x-cache     # MISS, then HIT
  curl -si http://127.0.0.1:$proxy_port/products/\$id | grep -i x-cache
  curl -s -X PUT http://127.0.0.1:$proxy_port/products/\$id -d '{"price": 9.99}'
  curl -si http://127.0.0.1:$proxy_port/products/\$id | grep -i x-cache     # MISS: the PUT invalidated it
  curl -s http://127.0.0.1:$admin_port/metrics/cache

Ctrl-C stops everything.
INFO

# Exit (and clean up) as soon as any of the processes dies.
wait -n "${pids[@]}"
echo "run-local: a process exited; see run/*.log" >&2
exit 1
