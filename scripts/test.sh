#!/usr/bin/env bash
# README command (2), and what CI runs: installs dependencies, builds everything with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

build_dir=${CACHECAR_TEST_BUILD_DIR:-build/test}
sanitize=${CACHECAR_SANITIZE-address,undefined}
jobs=${CACHECAR_JOBS:-$(nproc)}

cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCACHECAR_SANITIZE="$sanitize" \
  -DCACHECAR_BUILD_TESTS=ON >/dev/null
ninja -C "$build_dir" -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" --output-on-failure --timeout 180 -j "$jobs" "$@"
