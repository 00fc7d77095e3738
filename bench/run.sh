#!/usr/bin/env bash
# cachecar benchmark harness (issue 5): one command on a fresh Debian 12 machine.
#
#   bench/run.sh              # full run: 3 interleaved rounds x 10 s per contender and scenario,
#                             # about 20 minutes; writes bench/RESULTS.md
#   bench/run.sh --quick      # 1 round x 3 s, scenarios c50 and mixed: a few minutes; writes
#                             # bench/out/quick-<time>.md (git-ignored) and prints it
#
# Options:
#   --quick                 short mode (see above)
#   --rounds N              interleaved rounds per scenario (default 3; quick 1)
#   --duration S            seconds per wrk run (default 10; quick 3)
#   --scenarios LIST        comma-separated subset of: c50,c50-304,c200,list64k,gz-plain,gz-gzip,
#                           vary,revalidate,miss,mixed
#   --contenders LIST       comma-separated subset of: ceiling,origin,cachecar-redis,cachecar-gzip,
#                           cachecar-l1,cachecar-memory,nginx-cache-1w,nginx-cache-2w,varnish
#   --cachecar PATH         benchmark this cachecar binary instead of building build/bench
#   --no-install            do not install missing packages
#   --profile               also perf-record cachecar (+ its Redis) during an extra run of the c50
#                           hit load, and count its syscalls per request
#   --profile-scenario S    profile under scenario S's load instead (one of the --scenarios)
#   --wait-idle SECONDS     before each wrk run, wait up to SECONDS while compilers (cc1plus) run
#   --output FILE           write the markdown report here instead
#   --note TEXT             add TEXT to the report's header (what was being tested, known issues)
#   --keep-tmp              keep the temporary directory (configs, data, logs)
#   --report DIR            only rebuild the markdown from an earlier run's raw data (bench/out/<run>/),
#                           e.g. after changing bench/report.awk; runs nothing
#
# Environment: BENCH_PORT_BASE (first of 19 loopback ports, default 19400), BENCH_BUILD_JOBS (ninja
# -j for the build), BENCH_THREADS (cachecar worker threads; default nproc - 1, the cores wrk -t1
# leaves free), BENCH_CONNS_LOW/HIGH (connections of the two hit scenarios, 50/200).
# Everything listens on 127.0.0.1 only; every load is bounded by wrk -d; every process this script
# starts is stopped on exit, and the temporary directory is removed.
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."
root=$(pwd)
bench_dir=$root/bench
command_line="bench/run.sh"
for arg in "$@"; do
  case "$arg" in
    *[!A-Za-z0-9_./:=,+-]*|"") command_line+=" '${arg//\'/\'\\\'\'}'" ;;
    *) command_line+=" $arg" ;;
  esac
done

quick=0 rounds="" duration="" scenarios="" contenders="" cachecar_bin="" install=1 profile=0
output="" keep_tmp=0 wait_idle=0 profile_scenario=c50 note="" report_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --scenarios) scenarios=${2:?}; shift 2 ;;
    --contenders) contenders=${2:?}; shift 2 ;;
    --cachecar) cachecar_bin=${2:?}; shift 2 ;;
    --no-install) install=0; shift ;;
    --profile) profile=1; shift ;;
    --profile-scenario) profile=1; profile_scenario=${2:?}; shift 2 ;;
    --wait-idle) wait_idle=${2:?}; shift 2 ;;
    --output) output=${2:?}; shift 2 ;;
    --note) note=${2:?}; shift 2 ;;
    --keep-tmp) keep_tmp=1; shift ;;
    --report) report_dir=${2:?}; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

all_scenarios="c50 c50-304 c200 list64k gz-plain gz-gzip vary revalidate miss mixed"
all_contenders="ceiling origin cachecar-redis cachecar-gzip cachecar-l1 cachecar-memory nginx-cache-1w nginx-cache-2w varnish"
if [ "$quick" = 1 ]; then
  : "${rounds:=1}" "${duration:=3}" "${scenarios:=c50,mixed}"
else
  : "${rounds:=3}" "${duration:=10}" "${scenarios:=${all_scenarios// /,}}"
fi
: "${contenders:=${all_contenders// /,}}"
in_list() { case ",$2," in *",$1,"*) return 0 ;; esac; return 1; }
for s in ${scenarios//,/ }; do in_list "$s" "${all_scenarios// /,}" || { echo "bench: unknown scenario $s" >&2; exit 2; }; done
in_list "$profile_scenario" "${all_scenarios// /,}" || { echo "bench: unknown scenario $profile_scenario" >&2; exit 2; }
for c in ${contenders//,/ }; do in_list "$c" "${all_contenders// /,}" || { echo "bench: unknown contender $c" >&2; exit 2; }; done
# Canonical order: the hit scenarios first, the mixed one (which invalidates) last.
selected_scenarios=() selected_contenders=()
for s in $all_scenarios; do in_list "$s" "$scenarios" && selected_scenarios+=("$s"); done
for c in $all_contenders; do in_list "$c" "$contenders" && selected_contenders+=("$c"); done

# The markdown report: header (written at the end of the run), tables (bench/report.awk over the
# raw tables), profile section. --report rebuilds it from an earlier run's directory.
# Redis → cachecar bytes per hit (INFO stats total_net_output_bytes over a run / its requests,
# median of the rounds) and the stored size of the list's entry (STRLEN), per scenario.
redis_bytes_report() {  # redis_bytes_report RAW-DIR
  local dir=$1
  [ -s "$dir/redis_bytes.tsv" ] || return 0
  echo "## Redis bytes per hit"
  echo
  echo "Bytes Redis sent per request during each run (\`INFO stats\` total_net_output_bytes, median of the rounds), and the Redis value of the list's entry (\`STRLEN\`) after warming."
  echo
  echo "| scenario | contender | Redis bytes / hit | stored entry bytes |"
  echo "|---|---|---:|---:|"
  awk -F'\t' 'FILENAME ~ /stored_sizes/ { size[$1, $2] = $3; next }
    { k = $1 SUBSEP $2; if (!(k in n)) order[++m] = k; v[k, ++n[k]] = $6 }
    END {
      for (i = 1; i <= m; i++) {
        k = order[i]; c = n[k]
        for (a = 1; a <= c; a++) for (b = a + 1; b <= c; b++) if (v[k, b] < v[k, a]) { t = v[k, a]; v[k, a] = v[k, b]; v[k, b] = t }
        med = (c % 2) ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2
        split(k, p, SUBSEP)
        printf "| %s | %s | %.0f | %s |\n", p[1], p[2], med, ((k in size) ? size[k] : "—")
      }
    }' "$dir/stored_sizes.tsv" "$dir/redis_bytes.tsv"
  echo
}
assemble_report() {  # assemble_report RAW-DIR OUTPUT
  local dir=$1 out=$2 l1=1
  awk -F'\t' '$1 == "cachecar-l1" && $3 == 0 { found = 1 } END { exit !found }' "$dir/labels.tsv" && l1=0
  {
    cat "$dir/header.md"
    awk -v dir="$dir" -v l1_supported="$l1" -f "$bench_dir/report.awk"
    redis_bytes_report "$dir"
    [ -f "$dir/profile.md" ] && cat "$dir/profile.md"
    echo "Raw data: \`${dir#"$root"/}/\` (per-run wrk output, results.tsv; git-ignored)."
  } >"$out.tmp"
  mv "$out.tmp" "$out"
  cp "$out" "$dir/report.md"
}
if [ -n "$report_dir" ]; then
  report_dir=$(cd "$report_dir" && pwd)
  [ -f "$report_dir/results.tsv" ] || { echo "bench: no results.tsv in $report_dir" >&2; exit 2; }
  if [ ! -f "$report_dir/header.md" ] && [ -f "$report_dir/report.md" ]; then
    # A run from before header.md/profile.md were kept separately: take them from its report.
    awk '/^## / { exit } { print }' "$report_dir/report.md" >"$report_dir/header.md"
    awk '/^## Profile/ { on = 1 } /^Raw data: / { on = 0 } on { print }' "$report_dir/report.md" >"$report_dir/profile.md"
  fi
  if ! grep -q 'rebuilt from this run' "$report_dir/header.md"; then
    sed -i "/^- Machine: /i - Tables rebuilt from this run's raw data by \`bench/run.sh --report ${report_dir#"$root"/}\` at $(git -C "$root" describe --always 2>/dev/null || echo unknown) (same measurements, current report format)." "$report_dir/header.md"
  fi
  if [ -z "$output" ]; then
    case "$(basename "$report_dir")" in
      full-*) output=$bench_dir/RESULTS.md ;;
      *) output=$bench_dir/out/$(basename "$report_dir").md ;;
    esac
  fi
  assemble_report "$report_dir" "$output"
  echo "bench: report written to ${output#"$root"/}" >&2
  exit 0
fi

stamp=$(date -u +%Y%m%d-%H%M%S)
mode=$([ "$quick" = 1 ] && echo quick || echo full)
raw=$bench_dir/out/$mode-$stamp
if [ -z "$output" ]; then
  if [ "$quick" = 1 ]; then output=$bench_dir/out/quick-$stamp.md; else output=$bench_dir/RESULTS.md; fi
fi
mkdir -p "$raw"
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
count_compilers() { local n=0 f; for f in /proc/[0-9]*/comm; do [ "$(cat "$f" 2>/dev/null)" = cc1plus ] && n=$((n + 1)); done; echo "$n"; }

# --- 1. dependencies ------------------------------------------------------------------------
if [ "$install" = 1 ]; then
  extra="wrk nginx varnish redis-server curl"
  [ "$profile" = 1 ] && extra="$extra linux-perf"
  CACHECAR_EXTRA_PACKAGES="$extra" bash scripts/install-deps.sh
fi
for tool in wrk nginx varnishd redis-server redis-cli curl awk; do
  command -v "$tool" >/dev/null || die "$tool is missing (run without --no-install, or install it)"
done
[ "$profile" = 1 ] && { command -v perf >/dev/null || die "perf is missing (Debian: linux-perf)"; }

# --- 2. build cachecar (Release, its own build dir) -----------------------------------------
if [ -z "$cachecar_bin" ]; then
  n=$(count_compilers)
  [ "$n" -gt 0 ] && log "note: $n other compilations (cc1plus) are running; the build competes with them"
  log "building cachecar (Release) in build/bench"
  # -Werror off: GCC 12 at -O3 reports false positives (e.g. -Wstringop-overflow in
  # RedisStore::run_script) that must not stop a benchmark; the warnings are still printed.
  cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DCACHECAR_BUILD_TESTS=OFF \
    -DCACHECAR_WERROR=OFF >/dev/null
  ninja -C build/bench ${BENCH_BUILD_JOBS:+-j"$BENCH_BUILD_JOBS"} cachecar >&2
  cachecar_bin=$root/build/bench/src/cachecar
fi
[ -x "$cachecar_bin" ] || die "no cachecar binary at $cachecar_bin"
cachecar_bin=$(cd "$(dirname "$cachecar_bin")" && pwd)/$(basename "$cachecar_bin")

# --- 3. temp dir, ports, process bookkeeping ------------------------------------------------
# Leftovers of a previous run that was killed hard (SIGKILL skips the trap): stop them. Only
# processes whose command line names a cachecar-bench temp dir are touched.
pid_file=$bench_dir/out/.pids
if [ -f "$pid_file" ]; then
  while read -r pid; do
    [ -n "$pid" ] && grep -qs cachecar-bench. "/proc/$pid/cmdline" && kill "$pid" 2>/dev/null || true
  done <"$pid_file"
  rm -f "$pid_file"
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cachecar-bench.XXXXXX")
chmod 755 "$tmp"  # nginx workers and Varnish's child run as unprivileged users when we are root
pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
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
  # Keep configs and server logs next to the raw results (small), then drop the temp dir.
  if [ -d "$tmp" ]; then
    mkdir -p "$raw/logs"
    find "$tmp" -maxdepth 2 \( -name '*.log' -o -name '*.conf' -o -name '*.yaml' -o -name '*.vcl' \) \
      -size -2M -exec cp {} "$raw/logs/" \; 2>/dev/null || true
    if [ "$keep_tmp" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_base=${BENCH_PORT_BASE:-19400}
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for off in $(seq 0 18); do
  port_in_use $((port_base + off)) && die "port $((port_base + off)) is in use (set BENCH_PORT_BASE)"
done
p_ceiling=$port_base p_origin=$((port_base + 1)) p_stub=$((port_base + 2))
p_ngx1=$((port_base + 3)) p_ngx2=$((port_base + 4)) p_varnish=$((port_base + 5))
p_varnish_admin=$((port_base + 6)) p_cc_redis=$((port_base + 7)) p_cc_redis_admin=$((port_base + 8))
p_cc_l1=$((port_base + 9)) p_cc_l1_admin=$((port_base + 10)) p_cc_mem=$((port_base + 11))
p_cc_mem_admin=$((port_base + 12)) p_redis_a=$((port_base + 13)) p_redis_b=$((port_base + 14))
p_cc_gz=$((port_base + 16)) p_cc_gz_admin=$((port_base + 17)) p_redis_c=$((port_base + 18))

cores=$(nproc)
threads=${BENCH_THREADS:-$((cores > 1 ? cores - 1 : 1))}
conns_low=${BENCH_CONNS_LOW:-50}
conns_high=${BENCH_CONNS_HIGH:-200}
ids=1000
clk_tck=$(getconf CLK_TCK)

start() {  # start NAME COMMAND...: background, output to $tmp/NAME.log; sets last_pid
  local name=$1
  shift
  "$@" >"$tmp/$name.log" 2>&1 &
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

declare -A url hit_header root_pid redis_pid redis_port label idle_rss available
for c in "${selected_contenders[@]}"; do available[$c]=1; done

# --- 4. the data: 1,000 product documents of 1 KiB and a ~64 KiB list -----------------------
mkdir -p "$tmp/www/products"
awk -v dir="$tmp/www" -v n="$ids" 'BEGIN {
  lorem = "Sturdy, light and repairable: this product is built from recycled aluminium and " \
          "ships with a five-year warranty. Lorem ipsum dolor sit amet, consectetur adipiscing " \
          "elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. "
  while (length(lorem) < 2048) lorem = lorem lorem
  for (i = 1; i <= n; i++) {
    head = sprintf("{\"id\": %d, \"sku\": \"SKU-%06d\", \"name\": \"Product %d\", \"price\": %d.%02d, " \
                   "\"stock_quantity\": %d, \"category\": \"category-%d\", \"description\": \"",
                   i, i, i, 5 + (i * 37) % 500, (i * 13) % 100, (i * 7) % 250, i % 20)
    tail = "\"}"
    doc[i] = head substr(lorem, 1, 1023 - length(head) - length(tail)) tail  # 1023 + "\n" = 1 KiB
    file = dir "/products/" i
    print doc[i] > file
    close(file)
  }
  list = "["
  for (i = 1; i <= 64; i++) list = list (i > 1 ? "," : "") doc[i]
  print list "]" > (dir "/list64k")
}'
product_bytes=$(wc -c <"$tmp/www/products/1")
list_bytes=$(wc -c <"$tmp/www/list64k")

# --- 5. servers ------------------------------------------------------------------------------
nginx_user=""
[ "$(id -u)" = 0 ] && nginx_user="user nobody nogroup;"
nginx_conf() {  # nginx_conf DIR WORKERS: the shared preamble; the caller appends servers and "}"
  mkdir -p "$1"
  cat <<EOF
$nginx_user
worker_processes $2;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile off;
  tcp_nopush off;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  server_tokens off;
  client_body_temp_path $1/client_body;
  proxy_temp_path $1/proxy_temp;
  fastcgi_temp_path $1/fastcgi_temp;
  uwsgi_temp_path $1/uwsgi_temp;
  scgi_temp_path $1/scgi_temp;
  types { }
  default_type application/json;
EOF
}
static_server() {  # static_server PORT: the product files, PUT answered 200 without touching them
  cat <<EOF
  server {
    listen 127.0.0.1:$1;
    root $tmp/www;
    location /products/ {
      # The origin of the mixed scenario must accept writes; nginx cannot write files, so a PUT
      # is answered here with a tiny 200 (the request body is read and discarded).
      if (\$request_method = PUT) { return 200 '{"updated": true}\n'; }
    }
    location = /list64k { }
    # The compression scenarios: the same list under its own path, so that Varnish compresses
    # it (do_gzip) without changing what the list64k scenario measures.
    location = /gz/list64k { alias $tmp/www/list64k; }
    # The HTTP-caching scenarios: the product files again, with the fields an API behind CORS
    # and compression middleware sends (vary), or a one-second lifetime (revalidate: nginx adds
    # ETag and Last-Modified to static files and answers If-None-Match with 304 itself).
    location /vary/ {
      alias $tmp/www/products/;
      add_header Vary "Origin, Accept-Encoding";
      add_header Cache-Control "max-age=60";
    }
    location /reval/ {
      alias $tmp/www/products/;
      add_header Cache-Control "max-age=1";
    }
  }
EOF
}
start_nginx() {  # start_nginx NAME PORT WORKERS CONFIG-BODY
  local dir=$tmp/$1
  { nginx_conf "$dir" "$3"; printf '%s\n}\n' "$4"; } >"$tmp/$1.conf"
  nginx -t -q -p "$dir" -c "$tmp/$1.conf" -e "$dir/error.log" 2>"$tmp/$1.log" || {
    cat "$tmp/$1.log" >&2
    die "nginx config $1 is invalid"
  }
  start "$1" nginx -p "$dir" -c "$tmp/$1.conf" -e "$dir/error.log" -g 'daemon off;'
  root_pid[$1]=$last_pid
  wait_port "$1" "$2" "$last_pid"
}

log "starting the origin (nginx, 1 worker) on 127.0.0.1:$p_origin"
start_nginx origin "$p_origin" 1 "$(static_server "$p_origin")
  server { listen 127.0.0.1:$p_stub; location / { stub_status; } }"
url[origin]=http://127.0.0.1:$p_origin hit_header[origin]=""
label[origin]="origin: nginx static, 1 worker"
origin_requests() { curl -fsS -m 5 "http://127.0.0.1:$p_stub/" | awk 'NR == 3 { print $3 }'; }

if [ "${available[ceiling]:-}" ]; then
  log "starting the ceiling (nginx static, 1 worker) on 127.0.0.1:$p_ceiling"
  start_nginx ceiling "$p_ceiling" 1 "$(static_server "$p_ceiling")"
  url[ceiling]=http://127.0.0.1:$p_ceiling hit_header[ceiling]=""
  label[ceiling]="ceiling: nginx static, 1 worker"
fi

proxy_cache_server() {  # proxy_cache_server NAME PORT
  cat <<EOF
  proxy_cache_path $tmp/$1/cache levels=1:2 keys_zone=bench_$1:16m max_size=1g inactive=24h use_temp_path=off;
  upstream origin { server 127.0.0.1:$p_origin; keepalive 64; }
  server {
    listen 127.0.0.1:$2;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench_$1;
      proxy_cache_valid 200 24h;
      proxy_cache_lock on;
      proxy_cache_revalidate on;
      add_header X-Cache-Status \$upstream_cache_status;
    }
  }
EOF
}
for spec in "nginx-cache-1w $p_ngx1 1" "nginx-cache-2w $p_ngx2 2"; do
  read -r name port workers <<<"$spec"
  [ "${available[$name]:-}" ] || continue
  log "starting $name (nginx proxy_cache, $workers worker(s)) on 127.0.0.1:$port"
  start_nginx "$name" "$port" "$workers" "$(proxy_cache_server "$name" "$port")"
  url[$name]=http://127.0.0.1:$port hit_header[$name]=X-Cache-Status
  label[$name]="nginx proxy_cache, $workers worker$([ "$workers" = 1 ] || echo s)"
done

if [ "${available[varnish]:-}" ]; then
  log "starting Varnish (malloc) on 127.0.0.1:$p_varnish"
  cat >"$tmp/varnish.vcl" <<EOF
vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "$p_origin"; }
sub vcl_backend_response {
  # The HTTP-caching scenarios keep the origin's lifetime (and Vary); keep lets a stale entry
  # be revalidated with If-None-Match instead of refetched.
  if (bereq.url ~ "^/(vary|reval)/") { set beresp.grace = 0s; set beresp.keep = 1h; return (deliver); }
  # /gz/: stored gzip, gunzipped for clients without gzip (as cache.compression does).
  if (bereq.url ~ "^/gz/") { set beresp.do_gzip = true; }
  set beresp.ttl = 24h; set beresp.grace = 0s;
}
sub vcl_deliver {
  if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
}
EOF
  start varnish varnishd -F -n "$tmp/varnish" -f "$tmp/varnish.vcl" -a "127.0.0.1:$p_varnish" \
    -T "127.0.0.1:$p_varnish_admin" -s malloc,256m
  root_pid[varnish]=$last_pid
  wait_port varnish "$p_varnish" "$last_pid"
  url[varnish]=http://127.0.0.1:$p_varnish hit_header[varnish]=X-Cache
  label[varnish]="Varnish $(varnishd -V 2>&1 | grep -o 'varnish-[0-9.]*' | head -1 | cut -d- -f2), malloc"
fi

start_redis() {  # start_redis NAME PORT
  mkdir -p "$tmp/$1"
  start "$1" redis-server --port "$2" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp/$1" \
    --daemonize no --protected-mode yes
  wait_port "$1" "$2" "$last_pid"
}
cachecar_config() {  # cachecar_config PORT ADMIN-PORT STORE-URL CACHE-LINES [HTTP-CACHING-RULES]
  cat <<EOF
listen: "127.0.0.1:$1"
threads: $threads
upstream:
  url: "http://127.0.0.1:$p_origin"
  max_idle_connections: 64
redis:
  url: "$3"
  key_prefix: "bench:"
  connections: 1
  memory_max_size: 64MiB
admin:
  listen: "127.0.0.1:$2"
cache:
  default_ttl: 24h
  max_ttl: 24h
$4
log:
  level: warn
  access_log: false
rules:
  - match: "GET /products/{id}"
    ttl: 24h
  - match: "GET /list64k"
    ttl: 24h
  - match: "GET /gz/list64k"
    ttl: 24h
  - match: "PUT /products/{id}"
    invalidate: ["GET /products/{id}"]
${5:-}
EOF
}
# The HTTP-caching scenarios' rules: freshness from the origin's Cache-Control.
http_caching_rules='  - match: "GET /vary/{id}"
    freshness: upstream
  - match: "GET /reval/{id}"
    freshness: upstream'

# Does this build know the L1 tier (cache.l1, issue 5)? When it does, the other two cachecar
# contenders say l1 off explicitly, so a future default cannot change what they measure.
l1_on="  l1: {enabled: true, max_bytes: 64MiB}"
l1_off=""
cachecar_config 1 2 "redis://127.0.0.1:1/0" "$l1_on" >"$tmp/l1-probe.yaml"
if l1_check=$("$cachecar_bin" --config "$tmp/l1-probe.yaml" --check-config 2>&1); then
  l1_supported=1
  l1_off="  l1: {enabled: false}"
else
  l1_supported=0
  l1_reason=$(printf '%s' "$l1_check" | head -1)
  log "L1 tier not available in this build: $l1_reason"
fi
# Does this build know freshness: upstream? Without it the vary and revalidate scenarios have
# no cachecar to measure and are left out.
cachecar_config 1 2 "redis://127.0.0.1:1/0" "$l1_off" "$http_caching_rules" >"$tmp/freshness-probe.yaml"
if freshness_check=$("$cachecar_bin" --config "$tmp/freshness-probe.yaml" --check-config 2>&1); then
  freshness_supported=1
else
  freshness_supported=0 http_caching_rules=""
  log "freshness: upstream not available in this build ($(printf '%s' "$freshness_check" | head -1)): skipping the vary and revalidate scenarios"
fi
vm_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
start_cachecar() {  # start_cachecar NAME PORT ADMIN-PORT STORE-URL L1-LINE
  cachecar_config "$2" "$3" "$4" "$5" "$http_caching_rules" >"$tmp/$1.yaml"
  "$cachecar_bin" --config "$tmp/$1.yaml" --check-config >"$tmp/$1.check" 2>&1 || {
    cat "$tmp/$1.check" >&2
    die "$1: config rejected"
  }
  start "$1" "$cachecar_bin" --config "$tmp/$1.yaml"
  root_pid[$1]=$last_pid
  wait_port "$1" "$2" "$last_pid"
  sleep 1
  idle_rss[$1]=$(vm_kb "$last_pid" VmRSS)
  url[$1]=http://127.0.0.1:$2 hit_header[$1]=X-Cache
}
if [ "${available[cachecar-redis]:-}" ]; then
  log "starting cachecar with the Redis store on 127.0.0.1:$p_cc_redis ($threads threads)"
  start_redis redis-a "$p_redis_a"
  redis_pid[cachecar-redis]=$last_pid redis_port[cachecar-redis]=$p_redis_a
  start_cachecar cachecar-redis "$p_cc_redis" "$p_cc_redis_admin" "redis://127.0.0.1:$p_redis_a/0" "$l1_off"
  label[cachecar-redis]="cachecar, Redis store"
  if [ "$l1_supported" = 1 ]; then label[cachecar-redis]+=", L1 off"; fi
fi
if [ "${available[cachecar-l1]:-}" ]; then
  label[cachecar-l1]="cachecar, L1 (64 MiB) + Redis"
  if [ "$l1_supported" = 1 ]; then
    log "starting cachecar with L1 + Redis on 127.0.0.1:$p_cc_l1"
    start_redis redis-b "$p_redis_b"
    redis_pid[cachecar-l1]=$last_pid redis_port[cachecar-l1]=$p_redis_b
    start_cachecar cachecar-l1 "$p_cc_l1" "$p_cc_l1_admin" "redis://127.0.0.1:$p_redis_b/0" "$l1_on"
  else
    unset 'available[cachecar-l1]'
  fi
fi
if [ "${available[cachecar-memory]:-}" ]; then
  log "starting cachecar with memory:// on 127.0.0.1:$p_cc_mem"
  start_cachecar cachecar-memory "$p_cc_mem" "$p_cc_mem_admin" memory:// "$l1_off"
  label[cachecar-memory]="cachecar, memory://"
fi
if [ "${available[cachecar-gzip]:-}" ]; then
  label[cachecar-gzip]="cachecar, Redis store, cache.compression on"
  gz_on="  compression: {enabled: true, min_size: 1KiB, level: 6}"
  cachecar_config 1 2 "redis://127.0.0.1:1/0" "$gz_on" >"$tmp/gz-probe.yaml"
  if gz_check=$("$cachecar_bin" --config "$tmp/gz-probe.yaml" --check-config 2>&1); then
    log "starting cachecar with the Redis store and compression on 127.0.0.1:$p_cc_gz"
    start_redis redis-c "$p_redis_c"
    redis_pid[cachecar-gzip]=$last_pid redis_port[cachecar-gzip]=$p_redis_c
    start_cachecar cachecar-gzip "$p_cc_gz" "$p_cc_gz_admin" "redis://127.0.0.1:$p_redis_c/0" \
      "$l1_off
$gz_on"
  else
    log "cache.compression not available in this build: $(printf '%s' "$gz_check" | head -1)"
    unset 'available[cachecar-gzip]'
  fi
fi
label[cachecar-l1]=${label[cachecar-l1]:-"cachecar, L1 (64 MiB) + Redis"}
for c in ceiling origin nginx-cache-1w nginx-cache-2w varnish; do
  [ "${root_pid[$c]:-}" ] && idle_rss[$c]=$(vm_kb "${root_pid[$c]}" VmRSS)
done

# --- 6. measurement helpers -----------------------------------------------------------------
tree_pids() {  # the pid and all its descendants
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '{
      pid = $1; sub(/^[^)]*\) /, ""); parent[pid] = $2
    } END {
      keep[root] = 1; changed = 1
      while (changed) { changed = 0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } }
      for (p in keep) if (p in parent) printf "%s ", p
    }'
}
contender_pids() {  # server processes (+ its Redis)
  local c=$1
  tree_pids "${root_pid[$c]}"
  [ "${redis_pid[$c]:-}" ] && printf '%s ' "${redis_pid[$c]}"
  return 0
}
cpu_ticks() {  # utime + stime of the given pids, in clock ticks
  local files=() p
  for p in "$@"; do [ -r "/proc/$p/stat" ] && files+=("/proc/$p/stat"); done
  [ ${#files[@]} -eq 0 ] && { echo 0; return; }
  cat "${files[@]}" 2>/dev/null | awk '{ sub(/^[^)]*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
machine_busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
children_ticks() {  # sets child_ticks: CPU of this shell's waited-for children (wrk), in ticks
  # The builtin `times` must run in this shell, not in a $(...) subshell, whose children differ.
  times >"$tmp/times"
  child_ticks=$(awk -v hz="$clk_tck" 'NR == 2 {
      t = 0
      for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
      printf "%d\n", t * hz + 0.5
    }' "$tmp/times")
}
hwm_kb() {  # summed VmHWM / VmRSS over the pids
  local sum=0 p v
  for p in "${@:2}"; do v=$(vm_kb "$p" "$1"); sum=$((sum + ${v:-0})); done
  echo "$sum"
}

warm_and_check() {  # warm_and_check CONTENDER SCENARIO: fill the cache, then count HITs
  local c=$1 s=$2 base=${url[$1]} hdr=${hit_header[$1]} cfg=$tmp/warm-$1.curl
  {
    [ -z "$sc_origin" ] || printf 'header = "Origin: %s"\n' "$sc_origin"
    [ -z "$sc_accept_encoding" ] || printf 'header = "Accept-Encoding: %s"\n' "$sc_accept_encoding"
    if [ -n "$sc_list_path" ]; then
      printf 'url = "%s%s"\noutput = "/dev/null"\n' "$base" "$sc_list_path"
    else
      for i in $(seq 1 "$ids"); do printf 'url = "%s%s/%d"\noutput = "/dev/null"\n' "$base" "$sc_prefix" "$i"; done
      [ "$sc_prefix" != /products ] || printf 'url = "%s/list64k"\noutput = "/dev/null"\n' "$base"
    fi
  } >"$cfg"
  curl -s -m 10 -K "$cfg" -w '%{http_code}\n' >"$tmp/warm-$c.1" || true
  if [ -n "$hdr" ]; then
    curl -s -m 10 -K "$cfg" -w "%{http_code} %header{$hdr}\n" >"$tmp/warm-$c.2" || true
  else
    curl -s -m 10 -K "$cfg" -w '%{http_code} HIT\n' >"$tmp/warm-$c.2" || true
  fi
  local hits total
  read -r hits total < <(awk '{ total++; if ($1 == 200 && toupper($2) ~ /^HIT/) hits++ }
                              END { print hits + 0, total + 0 }' "$tmp/warm-$c.2")
  printf '%s\t%s\t%s\t%s\n' "$s" "$c" "$hits" "$total" >>"$raw/warm.tsv"
  [ "$hits" = "$total" ] || log "warning: $c: only $hits of $total requests were cache hits after warming"
}

scenario_setup() {  # sets sc_* for a scenario
  sc_query="" sc_path="/products/<id>" sc_script=products.lua sc_prefix=/products sc_origin=""
  sc_if_none_match="" sc_list_path="" sc_accept_encoding=""
  case "$1" in
    c50) sc_title="Cache hits, 1 KiB JSON over $ids ids, $conns_low connections"
      sc_conns=$conns_low sc_kind=hit sc_list="$all_contenders" ;;
    c50-304) sc_title="Conditional hits answered 304 (If-None-Match: *), 1 KiB JSON over $ids ids, $conns_low connections"
      sc_conns=$conns_low sc_kind=hit sc_list="$all_contenders" sc_if_none_match="*"
      sc_path="/products/<id>, If-None-Match: *" ;;
    c200) sc_title="Cache hits, 1 KiB JSON over $ids ids, $conns_high connections"
      sc_conns=$conns_high sc_kind=hit sc_list="$all_contenders" ;;
    list64k) sc_title="Cache hits, the $list_bytes-byte list, $conns_low connections"
      sc_conns=$conns_low sc_kind=hit sc_list="$all_contenders" sc_script=list.lua sc_path=/list64k ;;
    gz-plain | gz-gzip)
      sc_list_path=/gz/list64k sc_script=list.lua sc_conns=$conns_low sc_kind=hit
      sc_list="ceiling cachecar-redis cachecar-gzip varnish"
      if [ "$1" = gz-gzip ]; then
        sc_accept_encoding="gzip, deflate, br"
        sc_title="Cache hits, the $list_bytes-byte list from Redis, a client with Accept-Encoding: gzip (compression off / on; Varnish with do_gzip), $conns_low connections"
        sc_path="/gz/list64k, Accept-Encoding: gzip, deflate, br"
      else
        sc_title="Cache hits, the $list_bytes-byte list from Redis, a client without Accept-Encoding (compression off / on: decompressed per hit; Varnish with do_gzip), $conns_low connections"
        sc_path="/gz/list64k, no Accept-Encoding"
      fi ;;
    vary) sc_title="Cache hits through Vary: Origin, Accept-Encoding (max-age=60, one fixed Origin), 1 KiB JSON over $ids ids, $conns_low connections"
      sc_conns=$conns_low sc_kind=hit sc_list="$all_contenders" sc_prefix=/vary
      sc_origin="https://app.example" sc_path="/vary/<id>, Origin: https://app.example" ;;
    revalidate) sc_title="Revalidation: max-age=1 + ETag, each entry stale every second and revalidated with a 304, 1 KiB JSON over $ids ids, $conns_low connections"
      sc_conns=$conns_low sc_kind=hit sc_list="$all_contenders" sc_prefix=/reval sc_path="/reval/<id>" ;;
    miss) sc_title="Miss path: GET /products/<id>?nocache=1 (bypass, forwarded, refreshes the entry), 1 connection"
      sc_conns=1 sc_kind=miss sc_list="origin cachecar-redis cachecar-l1 cachecar-memory"
      sc_query="?nocache=1" sc_path="/products/<id>?nocache=1" ;;
    mixed) sc_title="90 % GET / 10 % PUT (each PUT invalidates its GET), $conns_low connections"
      sc_conns=$conns_low sc_kind=mixed sc_script=mixed.lua sc_path="/products/<id>, 10 % PUT"
      sc_list="ceiling origin cachecar-redis cachecar-l1 cachecar-memory" ;;
  esac
  sc_contenders=()
  local c
  case "$1" in vary | revalidate) [ "$freshness_supported" = 1 ] || sc_list="" ;; esac
  for c in $sc_list; do [ "${available[$c]:-}" ] && sc_contenders+=("$c"); done
  return 0
}

run_one() {  # run_one SCENARIO CONTENDER ROUND
  local s=$1 c=$2 r=$3 wlog=$raw/wrk-$1-$2-r$3.txt
  local cpids opids o0 o1 c0 c1 og0 og1 m0 m1 w0 w1 t0 t1
  # shellcheck disable=SC2207
  cpids=($(contender_pids "$c"))
  # shellcheck disable=SC2207
  opids=($([ "$c" = origin ] || tree_pids "${root_pid[origin]}"))
  o0=$(origin_requests)
  local rb0=0 rb1=0
  [ -z "${redis_port[$c]:-}" ] || rb0=$(redis_out_bytes "${redis_port[$c]}")
  c0=$(cpu_ticks "${cpids[@]}") og0=$(cpu_ticks "${opids[@]}")
  children_ticks
  m0=$(machine_busy_ticks) w0=$child_ticks t0=$EPOCHREALTIME
  BENCH_WRK_DIR=$bench_dir/wrk BENCH_IDS=$ids BENCH_QUERY=$sc_query BENCH_PREFIX=$sc_prefix \
    BENCH_ORIGIN=$sc_origin BENCH_IF_NONE_MATCH=$sc_if_none_match \
    BENCH_LIST_PATH=${sc_list_path:-/list64k} BENCH_ACCEPT_ENCODING=$sc_accept_encoding \
    timeout $((duration + 30)) wrk -t1 -c"$sc_conns" -d"${duration}s" --latency \
    -s "$bench_dir/wrk/$sc_script" "${url[$c]}/" >"$wlog" 2>&1 || true
  t1=$EPOCHREALTIME m1=$(machine_busy_ticks)
  children_ticks
  w1=$child_ticks
  c1=$(cpu_ticks "${cpids[@]}") og1=$(cpu_ticks "${opids[@]}")
  o1=$(origin_requests)
  if [ -n "${redis_port[$c]:-}" ]; then
    rb1=$(redis_out_bytes "${redis_port[$c]}")
    awk -v s="$s" -v c="$c" -v r="$r" -v b=$((rb1 - rb0)) '/^BENCH / {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        if (v["requests"] > 0) printf "%s\t%s\t%s\t%d\t%.0f\t%.0f\n", s, c, r, v["requests"], b, b / v["requests"] }' \
      "$wlog" >>"$raw/redis_bytes.tsv"
  fi
  awk -v s="$s" -v c="$c" -v r="$r" -v hz="$clk_tck" -v dc=$((c1 - c0)) -v dorig=$((og1 - og0)) \
      -v dm=$((m1 - m0)) -v dw=$((w1 - w0)) -v t0="$t0" -v t1="$t1" -v o=$((o1 - o0 - 1)) \
      -v self="$([ "$c" = origin ] && echo 1 || echo 0)" '
    /^BENCH / {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      found = 1
    }
    END {
      if (!found) { printf "%s\t%s\t%s\t0\t0\t0\t0\t0\t0\t0\t0\t-1\t0\t0\tFAILED\t0\n", s, c, r; exit }
      req = v["requests"]; secs = v["duration_us"] / 1e6
      cpu_us = req > 0 ? dc * 1e6 / hz / req : 0
      wall = t1 - t0
      other = (dm - dc - dw - dorig) / hz / wall * 100   # % of one core
      if (other < 0) other = 0
      sock = v["err_connect"] + v["err_read"] + v["err_write"] + v["err_timeout"]
      printf "%s\t%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f\t%s\t%d\t%d\tok\t%.1f\n",
        s, c, r, req, req / secs, v["p50_us"], v["p90_us"], v["p99_us"], v["max_us"], cpu_us, other,
        (self ? -1 : o), sock, v["err_status"], dw / hz / wall * 100
    }' "$wlog" >>"$raw/results.tsv"
  tail -n 1 "$raw/results.tsv" | awk -F'\t' '{
      printf "[bench] %-8s r%s %-16s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %5.1f us/req  wrk CPU %3.0f%%  other CPU %3.0f%%%s%s\n",
        $1, $3, $2, $5, $6 / 1000, $8 / 1000, $10, $16, $11,
        ($13 + $14 > 0 ? "  errors " $13 "/" $14 : ""), ($15 != "ok" ? "  WRK FAILED" : "") }' >&2
}

redis_out_bytes() {  # total_net_output_bytes of the Redis on port $1
  redis-cli -p "$1" INFO stats 2>/dev/null | awk -F: '$1 == "total_net_output_bytes" { printf "%.0f\n", $2 + 0 }'
}
# The size of each stored copy of a list path (STRLEN of its entry), per contender with a Redis.
record_stored_sizes() {  # record_stored_sizes SCENARIO
  local c key
  [ -n "$sc_list_path" ] || return 0
  for c in "${sc_contenders[@]}"; do
    [ -n "${redis_port[$c]:-}" ] || continue
    key=$(redis-cli -p "${redis_port[$c]}" --scan --pattern "bench:GET:$sc_list_path *" | head -1)
    [ -n "$key" ] || continue
    printf '%s\t%s\t%s\n' "$1" "$c" "$(redis-cli -p "${redis_port[$c]}" STRLEN "$key")" >>"$raw/stored_sizes.tsv"
  done
}

record_memory() {  # record_memory SCENARIO: peak (VmHWM) and current RSS of every contender
  local s=$1 c
  for c in "${selected_contenders[@]}"; do
    [ "${root_pid[$c]:-}" ] || continue
    # shellcheck disable=SC2046
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$c" "$(hwm_kb VmHWM $(tree_pids "${root_pid[$c]}"))" \
      "$(hwm_kb VmRSS $(tree_pids "${root_pid[$c]}"))" \
      "$([ "${redis_pid[$c]:-}" ] && vm_kb "${redis_pid[$c]}" VmHWM || echo 0)" \
      "${idle_rss[$c]:-0}" >>"$raw/memory.tsv"
  done
}

wait_until_quiet() {
  [ "$wait_idle" -gt 0 ] || return 0
  local waited=0
  while [ "$(count_compilers)" -gt 0 ] && [ "$waited" -lt "$wait_idle" ]; do
    [ "$waited" = 0 ] && log "compilers are running; waiting up to ${wait_idle}s for them to finish"
    quiet_waits=$((quiet_waits + 1))
    sleep 5
    waited=$((waited + 5))
  done
}

# --- 7. run -------------------------------------------------------------------------------------
printf 'scenario\tcontender\tround\trequests\trps\tp50_us\tp90_us\tp99_us\tmax_us\tcpu_us_per_req\tother_cpu_pct\torigin_requests\tsocket_errors\tnon2xx\tstatus\twrk_cpu_pct\n' >"$raw/results.tsv"
: >"$raw/warm.tsv"
: >"$raw/memory.tsv"
: >"$raw/redis_bytes.tsv"
: >"$raw/stored_sizes.tsv"
: >"$raw/scenarios.tsv"
start_load=$(cut -d' ' -f1-3 /proc/loadavg)
quiet_waits=0
start_compilers=$(count_compilers)
start_date=$(date -u '+%Y-%m-%d %H:%M UTC')
log "load average at start: $start_load; compilers running: $start_compilers"

for s in "${selected_scenarios[@]}"; do
  scenario_setup "$s"
  [ ${#sc_contenders[@]} -gt 0 ] || continue
  printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$sc_kind" "$sc_conns" "$sc_path" "$sc_title" >>"$raw/scenarios.tsv"
  log "scenario $s: $sc_title"
  if [ "$sc_kind" != miss ]; then
    for c in "${sc_contenders[@]}"; do warm_and_check "$c" "$s"; done
    record_stored_sizes "$s"
  fi
  for r in $(seq 1 "$rounds"); do
    for c in "${sc_contenders[@]}"; do
      wait_until_quiet
      run_one "$s" "$c" "$r"
      sleep 1
    done
  done
  record_memory "$s"
done
end_load=$(cut -d' ' -f1-3 /proc/loadavg)
end_compilers=$(count_compilers)
record_memory end

# --- 8. optional profile --------------------------------------------------------------------
profiles=() stat_pids=() trace_events=""
if [ "$profile" = 1 ]; then
  for dir in /sys/kernel/tracing /sys/kernel/debug/tracing; do
    [ -d "$dir/events/raw_syscalls" ] || continue
    trace_events=raw_syscalls:sys_enter,context-switches
    for sc in read readv recvfrom recvmsg write writev sendto sendmsg epoll_wait epoll_pwait \
              epoll_pwait2 epoll_ctl io_uring_enter futex accept4 close timerfd_settime; do
      [ -d "$dir/events/syscalls/sys_enter_$sc" ] && trace_events+=",syscalls:sys_enter_$sc"
    done
    break
  done
  scenario_setup "$profile_scenario"
  for c in cachecar-redis cachecar-l1 cachecar-memory; do
    [ "${available[$c]:-}" ] || continue
    [ "$sc_kind" = miss ] || warm_and_check "$c" "profile"
    log "profiling $c with perf during a ${duration}s run of the $profile_scenario load ($sc_conns connections)"
    pid_csv=$(contender_pids "$c" | tr ' ' ',' | sed 's/,$//')
    perf record -F 999 -o "$raw/perf-$c.data" -p "$pid_csv" -- sleep "$((duration + 1))" >"$raw/perf-$c.log" 2>&1 &
    perf_pid=$!
    sleep 0.3
    BENCH_WRK_DIR=$bench_dir/wrk BENCH_IDS=$ids BENCH_QUERY=$sc_query BENCH_PREFIX=$sc_prefix \
      BENCH_ORIGIN=$sc_origin BENCH_IF_NONE_MATCH=$sc_if_none_match \
      BENCH_LIST_PATH=${sc_list_path:-/list64k} BENCH_ACCEPT_ENCODING=$sc_accept_encoding wrk -t1 -c"$sc_conns" \
      -d"${duration}s" -s "$bench_dir/wrk/$sc_script" "${url[$c]}/" >"$raw/perf-$c-wrk.txt" 2>&1 || true
    wait "$perf_pid" || true
    if perf report -i "$raw/perf-$c.data" --stdio --no-children --sort comm,dso \
         >"$raw/perf-$c-dso.txt" 2>>"$raw/perf-$c.log" &&
       perf report -i "$raw/perf-$c.data" --stdio --no-children --sort comm,dso,symbol \
         --percent-limit 0.5 >"$raw/perf-$c.txt" 2>>"$raw/perf-$c.log"; then
      profiles+=("$c")
    else
      log "perf report failed for $c (see $raw/perf-$c.log)"
    fi
    # Syscalls per request (tracepoints), for cachecar and for its Redis separately.
    if [ -n "$trace_events" ]; then
      log "counting syscalls of $c during a ${duration}s run of the $profile_scenario load"
      for part in server redis; do
        if [ "$part" = server ]; then p=${root_pid[$c]}; else p=${redis_pid[$c]:-}; fi
        [ -n "$p" ] || continue
        perf stat -x, -o "$raw/syscalls-$c-$part.csv" -e "$trace_events" -p "$p" -- sleep "$((duration + 1))" \
          >>"$raw/perf-$c.log" 2>&1 &
        stat_pids+=($!)
      done
      sleep 0.3
      BENCH_WRK_DIR=$bench_dir/wrk BENCH_IDS=$ids BENCH_QUERY=$sc_query BENCH_PREFIX=$sc_prefix \
        BENCH_ORIGIN=$sc_origin BENCH_IF_NONE_MATCH=$sc_if_none_match \
        BENCH_LIST_PATH=${sc_list_path:-/list64k} BENCH_ACCEPT_ENCODING=$sc_accept_encoding wrk -t1 -c"$sc_conns" \
        -d"${duration}s" -s "$bench_dir/wrk/$sc_script" "${url[$c]}/" >"$raw/syscalls-$c-wrk.txt" 2>&1 || true
      for p in "${stat_pids[@]}"; do wait "$p" || true; done
      stat_pids=()
    fi
  done
fi

# --- 9. report ------------------------------------------------------------------------------
for c in "${selected_contenders[@]}"; do
  printf '%s\t%s\t%s\n' "$c" "${label[$c]:-$c}" "$([ "${available[$c]:-}" ] && echo 1 || echo 0)"
done >"$raw/labels.tsv"
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
commit=$(git -C "$root" describe --always 2>/dev/null || echo unknown)
dirty_src=$(git -C "$root" status --porcelain -- src 2>/dev/null | wc -l)
# Busy = other processes took CPU during the runs (the load average at the end includes our own
# load, so it says nothing about others).
read -r disturbed_runs total_runs < <(awk -F'\t' 'NR > 1 && $15 == "ok" { n++; if ($11 > 25) d++ }
  END { print d + 0, n + 0 }' "$raw/results.tsv")
busy_note=""
if [ "$disturbed_runs" -gt 0 ]; then
  busy_note="**The machine was busy during $disturbed_runs of $total_runs runs** (other processes used more than 25 % of a core: see the \"other CPU\" column and the notes); compare ratios within this run, preferably of quiet rounds."
else
  busy_note="The machine was quiet during all $total_runs runs (other CPU ≤ 25 % of a core)."
fi
{
  if [ "$quick" = 1 ]; then
    echo "# cachecar benchmark (quick mode, not for quoting)"
  else
    echo "# cachecar benchmark results"
  fi
  echo
  echo "Produced by \`$command_line\` on $start_date; method and caveats in [bench/README.md](README.md)."
  echo
  echo "- Machine: $cores cores ($cpu_model), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- Load average (1/5/15 min) before the first run: $start_load; after the last: $end_load (includes the benchmark's own load). Compilers running at start/end: $start_compilers/$end_compilers."
  [ -n "$busy_note" ] && echo "- $busy_note"
  [ -n "$note" ] && echo "- Note from the operator: $note"
  [ "$wait_idle" -gt 0 ] && echo "- \`--wait-idle $wait_idle\`: $quiet_waits run(s) first waited for running compilers to finish (at most ${wait_idle} s each)."
  echo "- cachecar: \`$commit\`$([ "$dirty_src" -gt 0 ] && echo " (with $dirty_src uncommitted change(s) under src/)"), $( [ "$cachecar_bin" = "$root/build/bench/src/cachecar" ] && echo "Release build in build/bench" || echo "binary $cachecar_bin"), \`threads: $threads\`, access log off, log level warn. L1 tier: $([ "$l1_supported" = 1 ] && echo "available" || echo "not available in this build (\`--check-config\`: ${l1_reason:-rejected})")."
  echo "- Load generator: $(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }'), \`wrk -t1 -c<connections> -d${duration}s --latency\` with the Lua scripts in bench/wrk/; $rounds interleaved round(s) per scenario."
  echo "- Servers: $(nginx -v 2>&1 | sed 's/.*: //'), $(varnishd -V 2>&1 | grep -o 'varnish-[0-9.]*' | head -1), $(redis-server --version | awk '{ print "redis " $3 }' | sed 's/v=//'); data: $ids product files of $product_bytes bytes, one list of $list_bytes bytes."
  echo
} >"$raw/header.md"
{
  if [ ${#profiles[@]} -gt 0 ]; then
    echo "## Profile (perf record -F 999, $duration s of the $profile_scenario load: $sc_title)"
    echo
    echo "Self time by process and binary, then the symbols with ≥ 0.5 % of the samples ($(perf report -i "$raw/perf-${profiles[0]}.data" --header-only 2>/dev/null | awk -F'name = ' '/# event : name/ { split($2, a, ","); print a[1]; exit }') events)."
    echo
    for c in "${profiles[@]}"; do
      echo "### $c"
      echo
      echo "wrk under perf: $(awk '/^Requests\/sec/ { print $2 }' "$raw/perf-$c-wrk.txt") req/s."
      echo
      echo '```'
      perf_clean() { grep -v '^#' "$1" | grep -v '^$' | sed 's/  *-  *-  *$//; s/ *$//' | cut -c1-160; }
      perf_clean "$raw/perf-$c-dso.txt" | head -n 8
      echo
      perf_clean "$raw/perf-$c.txt" | head -n 40
      echo '```'
      echo
      if [ -f "$raw/syscalls-$c-server.csv" ]; then
        reqs=$(awk '/BENCH / { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "requests") print kv[2] } }' \
          "$raw/syscalls-$c-wrk.txt")
        echo "Syscalls and context switches per request (perf stat tracepoints, ${reqs:-?} requests; a separate run):"
        echo
        echo "| event | $c | its Redis |"
        echo "|---|---:|---:|"
        has_redis=0
        [ -f "$raw/syscalls-$c-redis.csv" ] && has_redis=1
        awk -F, -v reqs="${reqs:-0}" -v has_redis="$has_redis" '
          FNR == 1 { part++ }
          /^[0-9]/ { name = $3; sub(/^(raw_)?syscalls:sys_enter_?/, "", name); if (name == "") name = "all syscalls"
                     if (!(name in seen)) { seen[name] = 1; order[++n] = name }
                     v[part, name] = $1 }
          END { for (i = 1; i <= n; i++) {
                  a = v[1, order[i]] + 0; b = v[2, order[i]] + 0
                  if (a + b == 0) continue
                  printf "| %s | %.3f | %s |\n", order[i], (reqs > 0 ? a / reqs : 0),
                    (has_redis ? sprintf("%.3f", (reqs > 0 ? b / reqs : 0)) : "—") } }' \
          "$raw/syscalls-$c-server.csv" $([ -f "$raw/syscalls-$c-redis.csv" ] && echo "$raw/syscalls-$c-redis.csv")
        echo
      fi
    done
  fi
} >"$raw/profile.md"
assemble_report "$raw" "$output"
log "report written to ${output#"$root"/}"
[ "$quick" = 1 ] && cat "$output"
exit 0
