#!/usr/bin/env bash
# Installs every build/test dependency from Debian 12 packages. Idempotent: does
# nothing (and touches no network) when all packages are already present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache lld
  libboost1.81-dev libhiredis-dev libyaml-cpp-dev prometheus-cpp-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libsqlite3-dev libssl-dev zlib1g-dev
  redis-server redis-tools curl prometheus
  openssl  # the CLI: test certificates for Redis over TLS (tests/support/tls_files)
  clang libclang-rt-14-dev  # fuzz targets (libFuzzer): scripts/fuzz.sh, scripts/test.sh
  python3  # tests/lint: module includes, GCC 12 coroutine rules
)
if [ "${CACHECAR_EXTRA_PACKAGES:-}" ]; then
  # shellcheck disable=SC2206
  packages+=(${CACHECAR_EXTRA_PACKAGES})
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
