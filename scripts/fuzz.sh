#!/usr/bin/env bash
# Fuzzes cachecar's parsers with libFuzzer (clang, ASan + UBSan).
#   scripts/fuzz.sh [TARGET|all] [SECONDS]   fuzz one target (or each in turn) for SECONDS (60)
#   scripts/fuzz.sh --build-only             only configure and build build/fuzz
# TARGET is a fuzz/<TARGET>_fuzz.cpp name (request_parser, resp_reply, ...). Each run starts
# from fuzz/corpus/<TARGET>/ plus a working copy in build/fuzz/corpus/<TARGET>/ that keeps what
# earlier runs found; inputs that crash are saved in fuzz/crashes/<TARGET>/ (commit them with the
# fix: scripts/test.sh replays them). Copy new inputs worth keeping into fuzz/corpus/ by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build/fuzz
jobs=${CACHECAR_JOBS:-$(nproc)}

# -O1 without NDEBUG: Beast's and our asserts stay on; line tables are enough for stack traces.
# Warnings are errors when CACHECAR_WERROR=ON (scripts/test.sh sets it), as in the test build.
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCACHECAR_FUZZ=ON -DCACHECAR_BUILD_TESTS=OFF -DCACHECAR_WERROR="${CACHECAR_WERROR:-OFF}" \
  -DCACHECAR_SANITIZE=address,undefined >/dev/null

all_targets=()
for source in fuzz/*_fuzz.cpp; do
  name=$(basename "$source" _fuzz.cpp)
  all_targets+=("$name")
done

if [ "${1:-}" = --build-only ]; then
  ninja -C "$build_dir" -j "$jobs" cachecar_fuzz
  exit 0
fi

target=${1:-all}
seconds=${2:-60}
if [ "$target" = all ]; then
  targets=("${all_targets[@]}")
elif [ -f "fuzz/${target}_fuzz.cpp" ]; then
  targets=("$target")
else
  echo "fuzz.sh: unknown target '$target' (known: ${all_targets[*]})" >&2
  exit 2
fi
ninja -C "$build_dir" -j "$jobs" "${targets[@]/%/_fuzz}"

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=()
for name in "${targets[@]}"; do
  work="$build_dir/corpus/$name"
  crashes="fuzz/crashes/$name"
  mkdir -p "$work" "$crashes"
  echo "fuzz.sh: $name for ${seconds}s" >&2
  # New inputs go to the first directory (the working copy); the others are only read.
  if ! "$build_dir/fuzz/${name}_fuzz" -max_total_time="$seconds" -timeout=10 \
      -artifact_prefix="$crashes/" -print_final_stats=1 \
      "$work" "fuzz/corpus/$name" "$crashes"; then
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz.sh: crashes in ${failed[*]} (inputs in fuzz/crashes/)" >&2
  exit 1
fi
