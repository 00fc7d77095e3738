#!/usr/bin/env bash
# README command (2), and what CI runs: installs dependencies, builds everything with
# AddressSanitizer + UndefinedBehaviorSanitizer and warnings as errors (CACHECAR_WERROR, off in a
# plain CMake build), replays the fuzz corpora (clang, libFuzzer), and runs the whole test suite
# with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

# Fuzz regression (clang + libFuzzer, build/fuzz): each target replays its committed seeds and
# every input that once crashed it, then runs a short fixed-seed batch of new mutations; a crash,
# leak, sanitizer report or timeout fails. Longer fuzzing: scripts/fuzz.sh.
fuzz_regression() {
  CACHECAR_WERROR=ON bash scripts/fuzz.sh --build-only
  local source name inputs out
  for source in fuzz/*_fuzz.cpp; do
    name=$(basename "$source" _fuzz.cpp)
    out=build/fuzz/regression/$name
    rm -rf "$out" && mkdir -p "$out/new"
    inputs=("fuzz/corpus/$name")
    [ -d "fuzz/crashes/$name" ] && inputs+=("fuzz/crashes/$name")
    # New inputs land in the first directory, a scratch one: the committed corpus stays as is.
    if ! "build/fuzz/fuzz/${name}_fuzz" -runs=5000 -seed=1 -timeout=10 \
        -artifact_prefix="$out/" "$out/new" "${inputs[@]}" >"$out/log" 2>&1; then
      tail -n 60 "$out/log" >&2
      echo "fuzz regression: ${name}_fuzz failed; input saved in $out/" >&2
      return 1
    fi
  done
  echo "fuzz regression: all targets passed" >&2
}

build_dir=${CACHECAR_TEST_BUILD_DIR:-build/test}
sanitize=${CACHECAR_SANITIZE-address,undefined}
jobs=${CACHECAR_JOBS:-$(nproc)}

cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCACHECAR_SANITIZE="$sanitize" \
  -DCACHECAR_WERROR=ON \
  -DCACHECAR_BUILD_TESTS=ON >/dev/null
ninja -C "$build_dir" -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fuzz_regression
ctest --test-dir "$build_dir" --output-on-failure --timeout 180 -j "$jobs" "$@"
