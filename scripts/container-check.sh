#!/usr/bin/env bash
# Builds deploy/Dockerfile for real and checks the image it makes: the binaries start, their
# shared libraries are all there, and the whole system (Redis, product-api, cachecar from the
# image) answers the README's curl lines.
#
#   scripts/container-check.sh                      # podman if it can run containers, else chroots
#   scripts/container-check.sh --ref HEAD           # build context = a clean `git archive HEAD`
#   scripts/container-check.sh --dockerfile FILE    # check another Dockerfile (same context)
#
# Options: --dockerfile FILE (deploy/Dockerfile), --context DIR (the repository), --ref GIT-REF
# (context from `git archive`, so edits in the working tree do not count), --engine
# auto|podman|chroot (auto), --jobs N (parallel compile jobs in the build stage, 2), --nice N
# (niceness of RUN steps, 19), --build-arg NAME=VALUE, --no-cache (rebuild cached stages),
# --keep (leave the runtime root under build/container-check/ for a look).
#
# With podman (where `podman run` of an imported Debian root works) the Dockerfile is built by
# `podman build` and the checks run in containers with the host network. Without it, the
# Dockerfile is replayed in debootstrapped Debian 12 chroots: each stage starts from a fresh
# minimal Debian 12 root (cached as a tarball under build/container-check/), its RUN lines run
# in it (/proc and /dev mounted, as the user USER names), COPY copies from the context or from
# an earlier stage's root; earlier stages are cached by the hash of their instructions and of
# what they copy. The last stage (the runtime image) is always built fresh from its own
# instructions alone, and the checks run in it as a container would: its USER, WORKDIR,
# ENTRYPOINT and CMD, nothing of the build stage but what COPY --from brought.
#
# Needs root (debootstrap, chroot, mount). Installs its own tools (debootstrap, curl,
# redis-server, python3) from Debian packages when missing. Not part of CI: the build stage
# compiles cachecar from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

dockerfile=deploy/Dockerfile
context=""
ref=""
engine=auto
jobs=2
niceness=19
no_cache=false
keep=false
build_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dockerfile) dockerfile=${2:?--dockerfile needs a file}; shift 2 ;;
    --context) context=${2:?--context needs a directory}; shift 2 ;;
    --ref) ref=${2:?--ref needs a git ref}; shift 2 ;;
    --engine) engine=${2:?--engine needs auto, podman or chroot}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
    --nice) niceness=${2:?--nice needs a number}; shift 2 ;;
    --build-arg) build_args+=("${2:?--build-arg needs NAME=VALUE}"); shift 2 ;;
    --no-cache) no_cache=true; shift ;;
    --keep) keep=true; shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "container-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$engine" in auto|podman|chroot) ;; *) echo "container-check: --engine auto|podman|chroot" >&2; exit 2 ;; esac
[ -f "$dockerfile" ] || { echo "container-check: no Dockerfile at $dockerfile" >&2; exit 2; }
dockerfile=$(realpath "$dockerfile")
build_args+=("CMAKE_BUILD_PARALLEL_LEVEL=$jobs")

work="$repo/build/container-check"
rm -rf "$work/logs"
mkdir -p "$work/logs"
run_log="$work/last-run.log"
exec > >(tee "$run_log") 2>&1

started=$SECONDS
say() { printf 'container-check [%4ss] %s\n' "$((SECONDS - started))" "$*"; }
fail() {
  say "FAILED: $*"
  exit 1
}

# --- tools -------------------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || { echo "container-check: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
tools=(debootstrap curl redis-server python3)
packages=(debootstrap curl redis-server python3)
missing=()
for i in "${!tools[@]}"; do
  command -v "${tools[$i]}" >/dev/null || missing+=("${packages[$i]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  unset DEBIAN_FRONTEND
fi

say "$(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), Dockerfile ${dockerfile#"$repo"/}, jobs $jobs, nice $niceness"

# --- cleanup: our processes, our mounts ----------------------------------------------------------
pids=()
podman_containers=()
unmount_under() {  # every mount point below $1, deepest first
  local target
  while read -r target; do
    umount -l "$target" 2>/dev/null || true
  done < <(findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | sort -r)
}
safe_remove() {  # rm -rf that never follows a mount (a bound /dev!) out of $1
  [ -e "$1" ] || return 0
  unmount_under "$1"
  if findmnt -rn -o TARGET | awk -v p="$1/" 'index($0, p) == 1' | grep -q .; then
    fail "mounts left under $1; not removing it"
  fi
  rm -rf --one-file-system "$1"
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for name in "${podman_containers[@]}"; do podman rm -f "$name" >/dev/null 2>&1 || true; done
  unmount_under "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the Debian 12 base: one debootstrap, cached as a tarball -------------------------------------
# The mirror apt uses here (deb822 .sources or one-line .list), so the chroots fetch from the same
# place as the host.
apt_uri_for() {  # apt_uri_for SUITE
  local suite=$1 file
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    awk -v suite="$suite" '
      /^[ \t]*$/ { if (uri != "" && has) { print uri; exit } uri = ""; has = 0; next }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) has = 1 }
      END { if (uri != "" && has) print uri }' "$file"
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    awk -v suite="$suite" '$1 == "deb" { for (i = 2; i < NF; i++) if ($i !~ /^\[/ && $(i + 1) == suite) { print $i; exit } }' "$file"
  done
}
mirror=$(apt_uri_for bookworm | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
security=$(apt_uri_for bookworm-security | head -1)
security=${security:-http://deb.debian.org/debian-security}

base_tar="$work/debian12-minbase.tar"
if [ ! -s "$base_tar" ]; then
  say "debootstrap --variant=minbase bookworm from $mirror (once; cached in ${base_tar#"$repo"/})"
  t0=$SECONDS
  safe_remove "$work/debootstrap"
  if ! debootstrap --variant=minbase bookworm "$work/debootstrap" "$mirror" >"$work/logs/debootstrap.log" 2>&1; then
    unmount_under "$work/debootstrap"
    tail -20 "$work/logs/debootstrap.log"
    fail "debootstrap failed (log: ${work#"$repo"/}/logs/debootstrap.log)"
  fi
  unmount_under "$work/debootstrap"
  # As the debian:12 images have it: the three suites in one deb822 file, no package caches.
  rm -f "$work/debootstrap/etc/apt/sources.list"
  cat >"$work/debootstrap/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Package scripts must not start daemons: a chroot shares the host's processes and network.
  printf '#!/bin/sh\nexit 101\n' >"$work/debootstrap/usr/sbin/policy-rc.d"
  chmod 755 "$work/debootstrap/usr/sbin/policy-rc.d"
  rm -rf "$work/debootstrap/var/cache/apt/archives/"*.deb "$work/debootstrap/var/lib/apt/lists/"*
  tar -C "$work/debootstrap" -cf "$base_tar.tmp" .
  mv "$base_tar.tmp" "$base_tar"
  safe_remove "$work/debootstrap"
  say "base ready: $(du -h "$base_tar" | cut -f1) in $((SECONDS - t0)) s"
fi
base_id=$(stat -c '%s-%Y' "$base_tar")

# --- the build context -------------------------------------------------------------------------
if [ -n "$ref" ]; then
  [ -z "$context" ] || fail "--ref and --context exclude each other"
  commit=$(git -C "$repo" rev-parse --verify "$ref^{commit}") || fail "no commit $ref"
  context="$work/context"
  safe_remove "$context"
  mkdir -p "$context"
  git -C "$repo" archive "$commit" | tar -x -C "$context"
  say "context: git archive ${commit:0:12}"
else
  context=${context:-$repo}
  say "context: ${context}"
fi
context=$(realpath "$context")

# --- engine ------------------------------------------------------------------------------------
# podman where it can run a container: an imported copy of the base, `podman run ... true`.
podman_reason=""
podman_runs() {
  if ! command -v podman >/dev/null; then
    podman_reason="podman is not installed"
    return 1
  fi
  local image="localhost/cachecar-check-base:$base_id" out
  if ! podman image exists "$image" 2>/dev/null; then
    if ! out=$(podman import "$base_tar" "$image" 2>&1); then
      podman_reason="podman import failed: $(tail -1 <<<"$out")"
      return 1
    fi
  fi
  if ! out=$(podman run --rm --network none "$image" /bin/true 2>&1); then
    podman_reason="podman run failed: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
    return 1
  fi
}
if [ "$engine" != chroot ]; then
  if podman_runs; then
    engine=podman
  elif [ "$engine" = podman ]; then
    fail "$podman_reason"
  else
    say "no container engine: $podman_reason"
    engine=chroot
  fi
fi
say "engine: $engine"

# --- the Dockerfile, one instruction per record ------------------------------------------------
# LINE<TAB>INSTRUCTION<TAB>ARGUMENTS: continuation lines joined, comments and blank lines dropped
# (also inside a continued instruction, as Docker does).
parse_dockerfile() {
  awk '
    function flush() { if (buf != "") { print start "\t" buf } buf = "" }
    {
      line = $0; sub(/\r$/, "", line)
      if (buf == "") { if (line ~ /^[ \t]*(#|$)/) next; start = NR }
      else if (line ~ /^[ \t]*(#|$)/) next
      if (line ~ /\\[ \t]*$/) { sub(/\\[ \t]*$/, "", line); buf = buf line " "; next }
      buf = buf line; flush()
    }
    END { flush() }' "$1" |
    while IFS=$'\t' read -r number text; do
      text="${text#"${text%%[![:space:]]*}"}"
      local word=${text%%[[:space:]]*}
      local rest="${text:${#word}}"
      rest="${rest#"${rest%%[![:space:]]*}"}"
      printf '%s\t%s\t%s\n' "$number" "${word^^}" "$rest"
    done
}
lines=() instrs=() argses=()
while IFS=$'\t' read -r number instr args; do
  lines+=("$number") instrs+=("$instr") argses+=("$args")
done < <(parse_dockerfile "$dockerfile")
[ ${#instrs[@]} -gt 0 ] || fail "no instructions in $dockerfile"

json_array() {  # prints a JSON array's strings, one per line
  python3 -c 'import json, sys
v = json.loads(sys.argv[1])
assert isinstance(v, list) and all(isinstance(x, str) for x in v)
print("\n".join(v))' "$1"
}

# Stages: index ranges into the instruction arrays.
stage_first=() stage_name=() stage_from=()
for i in "${!instrs[@]}"; do
  [ "${instrs[$i]}" = FROM ] || continue
  read -r -a from_words <<<"${argses[$i]}"
  name=""
  if [ ${#from_words[@]} -ge 3 ] && [ "${from_words[1],,}" = as ]; then name=${from_words[2]}; fi
  stage_first+=("$i") stage_name+=("$name") stage_from+=("${from_words[0]}")
done
[ ${#stage_first[@]} -gt 0 ] || fail "the Dockerfile has no FROM"
stage_count=${#stage_first[@]}
stage_end() { if [ $(($1 + 1)) -lt "$stage_count" ]; then echo "${stage_first[$(($1 + 1))]}"; else echo "${#instrs[@]}"; fi; }
stage_index() {  # a --from= value or FROM image naming an earlier stage -> its index, else empty
  local s
  for s in "${!stage_name[@]}"; do
    if [ -n "${stage_name[$s]}" ] && [ "${stage_name[$s]}" = "$1" ]; then echo "$s"; return; fi
  done
  if [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -lt "$stage_count" ]; then echo "$1"; fi
}
say "stages: $(for s in "${!stage_first[@]}"; do printf '%s ' "${stage_name[$s]:-#$s}(${stage_from[$s]})"; done)"

# The .dockerignore of the context (plain names and globs of top-level paths; no "!" rules):
# a COPY source it excludes is missing for docker, so it is missing here too.
ignored_by_dockerignore() {
  local pattern first=${1#./}
  first=${first%%/*}
  [ -f "$context/.dockerignore" ] || return 1
  while read -r pattern; do
    pattern=${pattern%/}
    pattern=${pattern#/}
    [ -z "$pattern" ] || [ "${pattern:0:1}" = "#" ] && continue
    # shellcheck disable=SC2053
    [[ "$first" == $pattern ]] && return 0
  done <"$context/.dockerignore"
  return 1
}

# ============================== podman engine ==================================================
image=""
if [ "$engine" = podman ]; then
  image="localhost/cachecar:container-check"
  arg_flags=()
  for a in "${build_args[@]}"; do arg_flags+=(--build-arg "$a"); done
  say "podman build (log: ${work#"$repo"/}/logs/podman-build.log)"
  t0=$SECONDS
  cache_flag=()
  $no_cache && cache_flag=(--no-cache)
  if ! nice -n "$niceness" podman build "${cache_flag[@]}" --network host "${arg_flags[@]}" \
      -f "$dockerfile" -t "$image" "$context" >"$work/logs/podman-build.log" 2>&1; then
    tail -30 "$work/logs/podman-build.log"
    fail "podman build failed"
  fi
  say "image built in $((SECONDS - t0)) s"
fi

# ============================== chroot engine ==================================================
declare -A stage_root=() stage_key=()
stage_workdir="/" stage_user="" entrypoint=() cmd=() stage_env=()
chroot_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

mount_runtime_fs() {  # what a container runtime gives every container: /proc, /dev, DNS
  local root=$1
  mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
  # Not --rbind, and a slave: unmounting it later must never propagate back to the host's /dev.
  if ! mountpoint -q "$root/dev"; then
    mount --bind /dev "$root/dev"
    mount --make-rslave "$root/dev"
  fi
  [ -e "$root/etc/resolv.conf" ] || [ -L "$root/etc/resolv.conf" ] && rm -f "$root/etc/resolv.conf"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
}

user_ids() {  # user_ids ROOT USER[:GROUP] -> uid:gid, names looked up in ROOT's passwd/group
  local root=$1 spec=$2 user group uid gid
  user=${spec%%:*}
  group=""
  [[ "$spec" == *:* ]] && group=${spec#*:}
  if [[ "$user" =~ ^[0-9]+$ ]]; then
    uid=$user
    gid=$(awk -F: -v u="$uid" '$3 == u { print $4; exit }' "$root/etc/passwd")
  else
    uid=$(awk -F: -v u="$user" '$1 == u { print $3; exit }' "$root/etc/passwd")
    gid=$(awk -F: -v u="$user" '$1 == u { print $4; exit }' "$root/etc/passwd")
    [ -n "$uid" ] || return 1
  fi
  if [ -n "$group" ]; then
    if [[ "$group" =~ ^[0-9]+$ ]]; then gid=$group
    else gid=$(awk -F: -v g="$group" '$1 == g { print $3; exit }' "$root/etc/group"); [ -n "$gid" ] || return 1
    fi
  fi
  echo "$uid:${gid:-$uid}"
}

user_home() {  # user_home ROOT UID
  local home
  home=$(awk -F: -v u="$2" '$3 == u { print $6; exit }' "$1/etc/passwd")
  echo "${home:-/}"
}

# in_root NICE ROOT WORKDIR USER [NAME=VALUE...] -- COMMAND...: runs COMMAND in ROOT as a
# container's process would: a clean environment (PATH, HOME, the image's ENV), the image's
# user and work dir.
in_root() {
  local niceness=$1 root=$2 dir=$3 user=$4 ids home
  shift 4
  local env_vars=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do env_vars+=("$1"); shift; done
  shift
  ids=$(user_ids "$root" "${user:-0:0}") || { echo "unknown user '$user'" >&2; return 125; }
  home=$(user_home "$root" "${ids%%:*}")
  nice -n "$niceness" env -i PATH="$chroot_path" HOME="$home" HOSTNAME=container-check \
    "${env_vars[@]}" chroot --userspec="$ids" "$root" \
    /bin/sh -c 'cd "$0" || exit 125; exec "$@"' "$dir" "$@"
}

copy_into() {  # copy_into SRC-ROOT|- DEST-ROOT WORKDIR CHOWN SRC... DEST  (Docker COPY rules)
  local from_root=$1 root=$2 dir=$3 chown_spec=$4
  shift 4
  local dest=${*: -1} src path target as_dir=false ids
  local srcs=("${@:1:$#-1}")
  [[ "$dest" == /* ]] || dest="${dir%/}/$dest"
  { [[ "$dest" == */ ]] || [ ${#srcs[@]} -gt 1 ] || [ -d "$root$dest" ]; } && as_dir=true
  ids=$(user_ids "$root" "${chown_spec:-0:0}") || { echo "COPY --chown: unknown user '$chown_spec'" >&2; return 1; }
  for src in "${srcs[@]}"; do
    if [ "$from_root" = - ]; then
      ignored_by_dockerignore "$src" && { echo "COPY $src: excluded by .dockerignore" >&2; return 1; }
      path="$context/${src#/}"
    else
      path="$from_root/${src#/}"
    fi
    # One level of globbing, as COPY allows (e.g. COPY src/*.yaml ...).
    local matches=() m
    for m in $path; do [ -e "$m" ] || [ -L "$m" ] && matches+=("$m"); done
    [ ${#matches[@]} -gt 0 ] || { echo "COPY $src: no such file or directory" >&2; return 1; }
    for m in "${matches[@]}"; do
      if [ -d "$m" ] && [ ! -L "$m" ]; then
        target="$root$dest"  # a directory's contents, not the directory itself
        mkdir -p "$target"
        cp -a "$m/." "$target/"
      elif $as_dir; then
        mkdir -p "$root$dest"
        target="$root${dest%/}/$(basename "$m")"
        cp -a "$m" "$target"
      else
        mkdir -p "$(dirname "$root$dest")"
        target="$root$dest"
        cp -a "$m" "$target"
      fi
      chown -R "$ids" "$target"
    done
  done
}

# The key of a cached stage: its instructions, the build args, the base, and what it copies.
stage_cache_key() {
  local s=$1 i end words from_stage src
  end=$(stage_end "$s")
  {
    echo "$base_id"
    printf '%s\n' "${build_args[@]}"
    for ((i = stage_first[s]; i < end; i++)); do
      echo "${instrs[$i]} ${argses[$i]}"
      [ "${instrs[$i]}" = COPY ] || [ "${instrs[$i]}" = ADD ] || continue
      read -r -a words <<<"${argses[$i]}"
      from_stage=""
      local srcs=()
      for w in "${words[@]}"; do
        case "$w" in
          --from=*) from_stage=$(stage_index "${w#--from=}") ;;
          --*) ;;
          *) srcs+=("$w") ;;
        esac
      done
      unset 'srcs[-1]'
      if [ -n "$from_stage" ]; then echo "${stage_key[$from_stage]:-}"
      else
        for src in "${srcs[@]}"; do
          (cd "$context" && tar -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
            -- "${src#/}" 2>/dev/null | sha256sum) || echo "missing $src"
        done
      fi
    done
  } | sha256sum | cut -c1-16
}

build_stage() {  # build_stage INDEX
  local s=$1 label="${stage_name[$1]:-#$1}" from=${stage_from[$1]} end i root dir="/" user=""
  local final=false key t0=$SECONDS
  [ "$s" -eq $((stage_count - 1)) ] && final=true
  local -a env_list=()
  end=$(stage_end "$s")
  # An earlier stage's root is kept per cache key (the last complete one, and the one being
  # built), so a failing variant of the Dockerfile does not throw away the good build.
  local stage_dir="$work/stages/$s-${label#\#}"
  if ! $final; then
    key=$(stage_cache_key "$s")
    stage_key[$s]=$key
    stage_dir+="-$key"
  fi
  root="$stage_dir/root"
  if ! $final && ! $no_cache && [ -f "$stage_dir/complete" ]; then
    say "stage $label: cached ($key), skipped"
    stage_root[$s]=$root
    return 0
  fi
  safe_remove "$stage_dir"
  mkdir -p "$root"
  local parent
  parent=$(stage_index "$from")
  if [ -n "$parent" ]; then
    cp -a "${stage_root[$parent]}/." "$root/"
  else
    case "$from" in
      debian:12|debian:12-slim|debian:bookworm|debian:bookworm-slim|docker.io/library/debian:12*) ;;
      *) fail "stage $label: FROM $from: only Debian 12 bases can be replayed in a chroot" ;;
    esac
    tar -C "$root" -xf "$base_tar"
  fi
  say "stage $label: FROM $from$($final && echo ' (runtime: a fresh root, only its own instructions)')"

  # ARG values: --build-arg, else the ARG line's default; visible to RUN, not kept in the image.
  local -A arg_values=()
  local a
  for a in "${build_args[@]}"; do arg_values[${a%%=*}]=${a#*=}; done
  local -a arg_env=()

  mount_runtime_fs "$root"
  for ((i = stage_first[s] + 1; i < end; i++)); do
    local instr=${instrs[$i]} args=${argses[$i]} where="${dockerfile#"$repo"/}:${lines[$i]}"
    case "$instr" in
      RUN)
        # Beside the stage's root, so a cached stage keeps the logs of its build.
        local run_cmd=() log="$stage_dir/run-line-${lines[$i]}.log" t1=$SECONDS
        if [[ "$args" == \[* ]]; then mapfile -t run_cmd < <(json_array "$args")
        else run_cmd=(/bin/sh -c "$args")
        fi
        say "  RUN (line ${lines[$i]}): $(cut -c1-110 <<<"$args")"
        if ! in_root "$niceness" "$root" "$dir" "$user" "${env_list[@]}" "${arg_env[@]}" -- \
            "${run_cmd[@]}" </dev/null >"$log" 2>&1; then
          tail -25 "$log"
          fail "$where: RUN failed (log: ${log#"$repo"/})"
        fi
        say "    ok in $((SECONDS - t1)) s: $(tail -1 "$log" | cut -c1-100)"
        ;;
      COPY|ADD)
        local words=() from_root=- chown_spec="" w paths=()
        read -r -a words <<<"$args"
        for w in "${words[@]}"; do
          case "$w" in
            --from=*)
              local from_stage
              from_stage=$(stage_index "${w#--from=}")
              [ -n "$from_stage" ] && [ "$from_stage" -lt "$s" ] || fail "$where: COPY $w: no earlier stage of that name"
              from_root=${stage_root[$from_stage]}
              ;;
            --chown=*) chown_spec=${w#--chown=} ;;
            --chmod=*|--link) ;;
            --*) fail "$where: COPY option $w is not replayed by this script" ;;
            *) paths+=("$w") ;;
          esac
        done
        [ ${#paths[@]} -ge 2 ] || fail "$where: COPY needs a source and a destination"
        [[ "${paths[0]}" =~ ^https?:// ]] && fail "$where: ADD of a URL is not replayed"
        say "  COPY $args"
        copy_into "$from_root" "$root" "$dir" "$chown_spec" "${paths[@]}" || fail "$where: COPY failed"
        ;;
      WORKDIR)
        [[ "$args" == /* ]] && dir=$args || dir="${dir%/}/$args"
        mkdir -p "$root$dir"
        ;;
      USER) user=$args ;;
      ENV)
        local kv=()
        if [[ "$args" == *=* ]]; then read -r -a kv <<<"$args"
        else kv=("${args%%[[:space:]]*}=${args#*[[:space:]]}")
        fi
        for a in "${kv[@]}"; do
          a=${a/=\"/=}; a=${a%\"}
          env_list+=("$a")
        done
        ;;
      ARG)
        local name=${args%%=*} value=""
        [[ "$args" == *=* ]] && value=${args#*=}
        [ -n "${arg_values[$name]+set}" ] && value=${arg_values[$name]}
        [ -n "$value" ] && arg_env+=("$name=$value")
        ;;
      ENTRYPOINT)
        if [[ "$args" == \[* ]]; then mapfile -t entrypoint < <(json_array "$args"); else entrypoint=(/bin/sh -c "$args"); fi
        cmd=()  # as in Docker: ENTRYPOINT resets an inherited CMD
        ;;
      CMD)
        if [[ "$args" == \[* ]]; then mapfile -t cmd < <(json_array "$args"); else cmd=(/bin/sh -c "$args"); fi
        ;;
      EXPOSE|LABEL|STOPSIGNAL|HEALTHCHECK|SHELL|VOLUME|ONBUILD|MAINTAINER) ;;
      *) fail "$where: unknown instruction $instr" ;;
    esac
  done
  unmount_under "$root"
  rm -f "$root/etc/resolv.conf"
  stage_root[$s]=$root
  stage_workdir=$dir stage_user=$user stage_env=("${env_list[@]}")
  if ! $final; then
    local other
    for other in "$work/stages/$s-${label#\#}"-*; do
      [ "$other" = "$stage_dir" ] || safe_remove "$other"
    done
    touch "$stage_dir/complete"
  fi
  say "stage $label: done in $((SECONDS - t0)) s"
}

if [ "$engine" = chroot ]; then
  for ((s = 0; s < stage_count; s++)); do build_stage "$s"; done
  runtime_root=${stage_root[$((stage_count - 1))]}
  say "runtime root: $(du -sh --one-file-system "$runtime_root" | cut -f1), USER ${stage_user:-root}, WORKDIR $stage_workdir, ENTRYPOINT ${entrypoint[*]:-none}, CMD ${cmd[*]:-none}"
  mount_runtime_fs "$runtime_root"
fi

# ============================== the checks (either engine) =====================================
# run_container [--detach NAME] [--entrypoint PATH] [-e NAME=VALUE]... [--] [ARG...]: what
# `docker run --network host IMAGE [ARG...]` does; ARGs replace CMD, as there.
detached_pid=""
run_container() {
  local detach="" ep=() extra_env=() args=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --detach) detach=$2; shift 2 ;;
      --entrypoint) ep=("$2"); shift 2 ;;
      -e) extra_env+=("$2"); shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  args=("$@")
  if [ "$engine" = podman ]; then
    local flags=(--rm --network host)
    for e in "${extra_env[@]}"; do flags+=(-e "$e"); done
    [ ${#ep[@]} -gt 0 ] && flags+=(--entrypoint "${ep[0]}")
    if [ -n "$detach" ]; then
      podman rm -f "cc-$detach" >/dev/null 2>&1 || true
      podman_containers+=("cc-$detach")
      podman run --name "cc-$detach" "${flags[@]}" "$image" "${args[@]}" >"$work/logs/$detach.log" 2>&1 &
      detached_pid=$!
      pids+=("$detached_pid")
    else
      podman run "${flags[@]}" "$image" "${args[@]}"
    fi
    return
  fi
  local argv=()
  if [ ${#ep[@]} -gt 0 ]; then argv=("${ep[@]}"); else argv=("${entrypoint[@]}"); fi
  if [ ${#args[@]} -gt 0 ]; then argv+=("${args[@]}")
  elif [ ${#ep[@]} -eq 0 ]; then argv+=("${cmd[@]}")
  fi
  if [ -n "$detach" ]; then
    in_root 0 "$runtime_root" "$stage_workdir" "$stage_user" "${stage_env[@]}" "${extra_env[@]}" -- \
      "${argv[@]}" </dev/null >"$work/logs/$detach.log" 2>&1 &
    detached_pid=$!
    pids+=("$detached_pid")
  else
    in_root 0 "$runtime_root" "$stage_workdir" "$stage_user" "${stage_env[@]}" "${extra_env[@]}" -- \
      "${argv[@]}" </dev/null
  fi
}

checks=0
check() {  # check WHAT CONDITION-COMMAND...
  local what=$1
  shift
  if "$@"; then
    checks=$((checks + 1))
    say "  ok: $what"
  else
    fail "$what"
  fi
}
contains() { [[ "$1" == *"$2"* ]]; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
next_free_port() {
  local p=$1
  while port_in_use "$p"; do p=$((p + 1)); done
  echo "$p"
}
wait_for_url() {  # wait_for_url URL LOGNAME PID: up to 20 s
  local i
  for ((i = 0; i < 200; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { tail -20 "$work/logs/$2.log"; return 1; }
    sleep 0.1
  done
  tail -20 "$work/logs/$2.log"
  return 1
}

say "checks in the runtime image"
version=$(sed -n 's/^project(cachecar VERSION \([0-9.]*\).*/\1/p' "$context/CMakeLists.txt")
out=$(run_container -- --version 2>&1) || fail "cachecar --version: $out"
check "ENTRYPOINT --version prints 'cachecar $version' ($out)" [ "$out" = "cachecar $version" ]
for binary in /usr/local/bin/cachecar /usr/local/bin/product-api; do
  out=$(run_container --entrypoint /usr/bin/ldd -- "$binary" 2>&1) || fail "ldd $binary: $out"
  check "every shared library of $binary is in the image" bash -c '! grep -q "not found" <<<"$1"' _ "$out"
done
out=$(run_container --entrypoint /usr/local/bin/product-api -- --help 2>&1) || fail "product-api --help: $out"
check "product-api runs (--help)" contains "$out" "--listen"

port_base=${CONTAINER_CHECK_PORT_BASE:-19480}
redis_port=$(next_free_port "$port_base")
backend_port=$(next_free_port $((redis_port + 1)))
proxy_port=$(next_free_port $((backend_port + 1)))
admin_port=$(next_free_port $((proxy_port + 1)))
tmp="$work/system"
rm -rf "$tmp"
mkdir -p "$tmp"

# Redis is its own image in docker-compose.yml (redis:7.0); here the host's redis-server.
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$tmp" \
  >"$work/logs/redis.log" 2>&1 &
pids+=($!)
redis_pid=$!

# product-api and cachecar as docker-compose.yml runs them, on loopback ports of the host network.
run_container --detach product-api --entrypoint /usr/local/bin/product-api -- \
  --listen "127.0.0.1:$backend_port" --db /data/products.db
backend_pid=$detached_pid
wait_for_url "http://127.0.0.1:$backend_port/health" product-api "$backend_pid" || fail "product-api did not start"
out=$(run_container --entrypoint /usr/bin/curl -- -fsS "http://127.0.0.1:$backend_port/health" 2>&1) || fail "product-api health check (curl in the image): $out"
check "product-api answers its health check from inside the image: $out" contains "$out" '"healthy"'

token=container-check-token
run_container --detach cachecar \
  -e "CACHECAR_LISTEN=127.0.0.1:$proxy_port" -e "CACHECAR_ADMIN_LISTEN=127.0.0.1:$admin_port" \
  -e "CACHECAR_UPSTREAM_URL=http://127.0.0.1:$backend_port" \
  -e "CACHECAR_REDIS_URL=redis://127.0.0.1:$redis_port/0" -e "CACHECAR_ADMIN_TOKEN=$token"
cachecar_pid=$detached_pid
wait_for_url "http://127.0.0.1:$admin_port/health" cachecar "$cachecar_pid" || fail "cachecar did not start"
out=$(run_container --entrypoint /usr/bin/curl -- -fsS "http://127.0.0.1:$admin_port/health" 2>&1) || fail "cachecar health check (curl in the image): $out"
check "cachecar (ENTRYPOINT + CMD, the shipped config) answers /health, Redis connected: $out" \
  contains "$out" '"redis": "connected"'

# The README's curl lines, as written there (its block after "Command 1 starts"), with the proxy
# port changed; a trailing "# X-Cache: WORD" comment is the answer expected.
readme_lines=$(awk '/^Command 1 starts/ { f = 1 } f && /^```sh/ { b = 1; next } b && /^```/ { exit } b' "$context/README.md")
[ -n "$readme_lines" ] || fail "README.md: no curl block after 'Command 1 starts'"
say "  README curl lines:"
shell_state="$tmp/shell"
: >"$shell_state"
id_checked=false
while IFS= read -r line; do
  [ -n "$line" ] || continue
  command=${line%%  #*}
  expect=""
  if [[ "$line" =~ \#\ (X-Cache:\ [A-Z]+) ]]; then expect=${BASH_REMATCH[1]}; fi
  command=${command//127.0.0.1:8080/127.0.0.1:$proxy_port}
  if [[ "$command" == *'$id'* ]] && ! $id_checked; then
    # shellcheck disable=SC1090
    source "$shell_state"
    check "the README's id line found a product id (${id:-none})" [ -n "${id:-}" ]
    id_checked=true
  fi
  # Each line in one shell that keeps the variables of the lines before it (id=...).
  out=$(bash -c "set -o pipefail; source '$shell_state'; $command; rc=\$?; declare -p id >'$shell_state' 2>/dev/null; exit \$rc" 2>&1) ||
    fail "README line failed: $command -> $out"
  say "    \$ $(cut -c1-100 <<<"$line")"
  [ -n "$out" ] && say "      $(tr -d '\r' <<<"$out" | head -c 200)"
  if [ -n "$expect" ]; then
    check "answer is '$expect'" contains "$(tr -d '\r' <<<"${out,,}")" "${expect,,}"
  fi
  if [[ "$command" == *"-X PUT"* ]]; then  # what the README's comment says: it invalidated
    # shellcheck disable=SC1090
    source "$shell_state"
    response=$(curl -si "http://127.0.0.1:$proxy_port/products/${id:-}")
    check "after the PUT a read is a MISS with the new price" \
      bash -c '[[ "$1" == *"X-Cache: MISS"* && "$1" == *9.99* ]]' _ "$response"
  fi
done <<<"$readme_lines"
# shellcheck disable=SC1090
source "$shell_state"

# What the README's lines do not show: the PUT went through and invalidated the entry.
product=$(curl -s "http://127.0.0.1:$proxy_port/products/$id")
check "the PUT reached product-api (price 9.99 now)" contains "$product" '9.99'
response=$(curl -si "http://127.0.0.1:$proxy_port/products/$id")
check "the entry holds the new price (HIT, 9.99)" \
  bash -c '[[ "$1" == *"X-Cache: HIT"* && "$1" == *9.99* ]]' _ "$response"
stats=$(curl -s "http://127.0.0.1:$admin_port/metrics/cache")
check "admin /metrics/cache (the compose file's curl line) counts hits: $stats" contains "$stats" '"hits"'
metrics=$(curl -s "http://127.0.0.1:$admin_port/metrics")
check "admin /metrics has cachecar_requests_total" contains "$metrics" 'cachecar_requests_total{'
check "cachecar talks to Redis (keys under cachecar:)" bash -c '[ "$(redis-cli -p "$1" --scan --pattern "cachecar:*" | wc -l)" -gt 0 ]' _ "$redis_port"

for pid in "$cachecar_pid" "$backend_pid"; do kill "$pid" 2>/dev/null || true; done
for pid in "$cachecar_pid" "$backend_pid"; do wait "$pid" 2>/dev/null || true; done
kill "$redis_pid" 2>/dev/null || true
wait "$redis_pid" 2>/dev/null || true
rm -rf "$tmp"

if [ "$engine" = chroot ]; then
  unmount_under "$runtime_root"
  if $keep; then say "runtime root kept: ${runtime_root#"$repo"/}"
  else safe_remove "$(dirname "$runtime_root")"
  fi
fi
say "PASSED: $checks checks, engine $engine, $((SECONDS - started)) s in all"
