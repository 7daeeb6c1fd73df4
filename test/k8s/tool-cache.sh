# Sourced by build-tools.sh and build-lint-tools.sh: the cache protocol they share.
# Before sourcing, set: script (its name), tag (log prefix), what (a phrase), dir (cache
# directory of this key), bin (what --print-dir prints). Then call
#   tool_cache_enter "$@"   handles --print-dir and bad arguments, returns early (exit 0)
#                           when built, takes the build lock, checks for Go, clears $dir
# and run each build step with `step <label> <command...>`; finish with tool_cache_done.
stamp="$dir/.complete"
log() { printf '[%s] %s\n' "$tag" "$*" >&2; }
fail() { printf '[%s] error: %s\n' "$tag" "$*" >&2; exit 1; }

tool_cache_enter() {
  if [ "${1:-}" = "--print-dir" ]; then
    if [ -e "$stamp" ]; then echo "$bin"; exit 0; fi
    echo "$script: not built yet ($what); run: bash scripts/setup.sh ${part:-k8s}" >&2
    exit 3
  elif [ $# -gt 0 ]; then
    echo "$script: unknown argument '$1' (expected no argument or --print-dir)" >&2
    exit 2
  fi
  if [ -e "$stamp" ]; then log "cached in $bin"; exit 0; fi
  command -v go >/dev/null 2>&1 || fail "the Go toolchain is not on PATH; install Go >= 1.26 (https://go.dev/dl/) and run again"
  local parent; parent=$(dirname "$dir")
  mkdir -p "$parent"
  # One build at a time, also across checkouts sharing the cache.
  exec 9>"$parent/.build.lock"
  if ! flock -n 9; then
    log "another build of $what is running; waiting for it"
    flock 9
  fi
  if [ -e "$stamp" ]; then log "cached in $bin"; exit 0; fi
  export GOTOOLCHAIN=local CGO_ENABLED=0
  case " ${GOFLAGS:-} " in *" -buildvcs=false "*) ;; *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;; esac
  rm -rf "$dir"
  mkdir -p "$bin"
  started=$SECONDS
  timings=()
}

step() { # step <label> <command...>
  local label=$1 t0=$SECONDS
  shift
  log "$label"
  "$@" || fail "$label failed (see the output above); nothing was cached"
  timings+=("$label: $((SECONDS - t0))s")
}

# tool_cache_done <binary...>: checks each was produced, records the timings, writes the stamp.
tool_cache_done() {
  local b
  for b in "$@"; do
    [ -x "$bin/$b" ] || fail "$bin/$b was not produced; nothing was cached"
  done
  {
    printf 'built %s on %s with %s, %s cores\n' "$(basename "$dir")" "$(date -u +%FT%TZ)" "$(go version | cut -d' ' -f3-)" "$(nproc)"
    printf '%s\n' "${timings[@]}" "total: $((SECONDS - started))s"
  } > "$dir/build-times.txt"
  touch "$stamp"
  log "built in $((SECONDS - started))s into $bin"
}
