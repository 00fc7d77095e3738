#!/usr/bin/env bash
# README command (1): builds cachecar and runs it locally in front of an upstream, with a
# private redis-server on loopback. Ctrl-C stops everything it started.
#
#   scripts/run-local.sh [UPSTREAM_URL]      (default http://127.0.0.1:8000)
#
# Environment: CACHECAR_REDIS_URL to use an existing Redis instead of starting one;
# CACHECAR_LISTEN / CACHECAR_ADMIN_LISTEN to move the listeners.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCACHECAR_BUILD_TESTS=OFF \
  >/dev/null
ninja -C build/release cachecar

upstream=${1:-${CACHECAR_UPSTREAM_URL:-http://127.0.0.1:8000}}
run_dir="$root/run"
mkdir -p "$run_dir"
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local port=$1
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port"
}

if [ -z "${CACHECAR_REDIS_URL:-}" ]; then
  redis_port=$(free_port 6390)
  mkdir -p "$run_dir/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$run_dir/redis" --daemonize no >"$run_dir/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  export CACHECAR_REDIS_URL="redis://127.0.0.1:$redis_port/0"
fi

export CACHECAR_UPSTREAM_URL="$upstream"
cat <<INFO
cachecar is starting:
  proxy     http://${CACHECAR_LISTEN:-0.0.0.0:8080}  ->  upstream $CACHECAR_UPSTREAM_URL
  redis     $CACHECAR_REDIS_URL
  rules     config/cachecar.yaml
Try:  curl -i http://127.0.0.1:8080/   (twice: X-Cache goes MISS -> HIT on cached routes)
Ctrl-C stops everything.
INFO
build/release/src/cachecar --config config/cachecar.yaml &
pids+=($!)
wait "${pids[-1]}"
