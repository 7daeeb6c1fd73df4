#!/usr/bin/env bash
# Builds launchbay's five images from the project's own Dockerfiles with buildah:
#   scheduler (scheduler/Dockerfile), worker (worker/Dockerfile), notebook
#   (worker/notebook.Dockerfile, on the worker image), web (web/Dockerfile),
#   operator (operator/Dockerfile).
#
#   npm run images                      build what changed, print each image's size
#   scripts/images.sh --print-values    print the path of the chart values file for the built images
#
# The Dockerfiles are built unchanged; only NODE_IMAGE (and the notebook's WORKER_IMAGE)
# is passed in. Without a registry the base is made here (scripts/images/base.sh: Debian
# bookworm minbase + Node 24.11.1 from the npm registry, laid out as the official
# node:24.11.1-bookworm-slim). Set LAUNCHBAY_NODE_IMAGE to build on another base
# (e.g. the official one, as a release does).
#
# Each image is tagged localhost/launchbay/<name>:<hash>, where <hash> covers the
# Dockerfile, every file its COPY lines take from the build context, .dockerignore and the
# base (and, for the notebook, the worker's hash); an unchanged image is not rebuilt. Each
# is also exported as an OCI archive for `ctr images import`. Everything lives outside the
# repository, in ${LAUNCHBAY_CACHE:-~/.cache/launchbay}/images/:
#   <name>-<hash>.oci.tar   the archive
#   images.env              NAME_IMAGE=<ref> and NAME_ARCHIVE=<file> for the last build
#   values.yaml             chart values pointing at these images (pullPolicy IfNotPresent)
#
# TLS: if the host reaches the registries through extra CA certificates (NODE_EXTRA_CA_CERTS,
# npm's cafile, pip's cert, /usr/local/share/ca-certificates), they are bind-mounted into
# the build's RUN steps only (a directory mounted at /root with ~/.npmrc and pip.conf
# naming them), never committed to an image.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${LAUNCHBAY_CACHE:-$HOME/.cache/launchbay}
out="$cache/images"
log() { printf '[images] %s\n' "$*" >&2; }
fail() { printf '[images] error: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" = "--print-values" ]; then
  [ -e "$out/values.yaml" ] || { echo "images.sh: no images built yet; run: npm run images" >&2; exit 3; }
  echo "$out/values.yaml"
  exit 0
elif [ $# -gt 0 ]; then
  echo "images.sh: unknown argument '$1' (expected no argument or --print-values)" >&2
  exit 2
fi

[ "$(id -u)" = 0 ] || fail "buildah here runs as root (rootless buildah needs subuid ranges); run as root"
command -v buildah >/dev/null 2>&1 || fail "buildah is missing; run: bash scripts/setup.sh realnode"
command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is missing; run: bash scripts/setup.sh realnode"
mkdir -p "$out"
exec 9>"$out/.build.lock"
flock -n 9 || { log "another image build is running; waiting for it"; flock 9; }

# Content only (not the paths): a clone elsewhere reuses the same images.
hash_files() { cat "$@" | sha256sum | cut -c1-16; }
image_exists() { buildah inspect --type image "$1" >/dev/null 2>&1; }
started=$SECONDS
timings=()

# ---- build-only TLS trust -------------------------------------------------------------
build_ca=""
for candidate in "${NODE_EXTRA_CA_CERTS:-}" "$(npm config get cafile 2>/dev/null || true)" \
  "${PIP_CERT:-}" /etc/ssl/certs/ca-certificates.crt; do
  if [ -n "$candidate" ] && [ "$candidate" != null ] && [ "$candidate" != undefined ] && [ -s "$candidate" ]; then
    build_ca=$candidate
    break
  fi
done
build_home=""
if [ -n "$build_ca" ] && { [ -n "${NODE_EXTRA_CA_CERTS:-}" ] || ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; }; then
  build_home="$out/build-home"
  log "the host trusts extra CA certificates; the build's RUN steps see them ($build_ca), the images do not"
fi
# RUN steps run as root with HOME=/root, which every Debian image has: a fresh directory
# mounted there for each build holds ~/.npmrc and ~/.config/pip/pip.conf naming the CA.
# npm and pip read them (also with `npm --prefix`), nothing is written into a layer (a
# mount over an existing directory leaves no mount-point stub), and npm's cache stays
# outside the image.
home_mount() {
  [ -n "$build_home" ] || return 0
  rm -rf "$build_home"
  mkdir -p "$build_home/.config/pip"
  chmod 700 "$build_home"
  cp "$build_ca" "$build_home/.launchbay-build-ca.crt"
  printf 'cafile=/root/.launchbay-build-ca.crt\n' >"$build_home/.npmrc"
  printf '[global]\ncert = /root/.launchbay-build-ca.crt\n' >"$build_home/.config/pip/pip.conf"
  printf '%s\n' -v "$build_home:/root:rw"
}

# ---- the base -------------------------------------------------------------------------
if [ -n "${LAUNCHBAY_NODE_IMAGE:-}" ]; then
  base=$LAUNCHBAY_NODE_IMAGE
  base_key=$(printf '%s' "$base" | sha256sum | cut -c1-16)
  log "base: $base (LAUNCHBAY_NODE_IMAGE)"
else
  base_key=$(hash_files "$root/scripts/images/base.sh")
  base=localhost/launchbay/node:24.11.1-bookworm-slim-$base_key
  if image_exists "$base"; then
    log "base: $base (cached)"
  else
    t0=$SECONDS
    log "base: making $base"
    bash "$root/scripts/images/base.sh" "$base" "$out/base-work"
    timings+=("base: $((SECONDS - t0))s")
  fi
fi

# ---- content hash of what an image is built from ----------------------------------------
# Files named by the Dockerfile's COPY lines (not --from=), as the build context sees them:
# tracked and untracked files git does not ignore (node_modules, dist: also .dockerignored).
copy_sources() {
  awk 'toupper($1) == "COPY" {
         from = 0; for (i = 2; i <= NF; i++) if ($i ~ /^--from=/) from = 1
         if (from) next
         for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i
       }' "$1"
}
input_hash() { # input_hash <dockerfile> <extra key...>
  local dockerfile=$1
  shift
  local sources
  mapfile -t sources < <(copy_sources "$dockerfile" | sed 's#/$##; s#^\./##' | sort -u)
  {
    printf '%s\n' "$@"
    sha256sum "$dockerfile" .dockerignore | cut -d' ' -f1
    sha256sum "$root/scripts/images.sh" | cut -d' ' -f1
    git -C "$root" ls-files -co --exclude-standard -z -- "${sources[@]}" |
      sort -z | xargs -0 -r sha256sum
  } | sha256sum | cut -c1-16
}

# ---- the five images --------------------------------------------------------------------
cd "$root"
declare -A refs archives hashes
build() { # build <name> <dockerfile> [--build-arg ...]
  local name=$1 dockerfile=$2
  shift 2
  local extra_key=""
  [ "$name" = notebook ] && extra_key=${hashes[worker]}
  local hash ref archive
  hash=$(input_hash "$dockerfile" "$base_key" "$extra_key")
  ref=localhost/launchbay/$name:$hash
  archive="$out/$name-$hash.oci.tar"
  hashes[$name]=$hash
  refs[$name]=$ref
  archives[$name]=$archive
  if image_exists "$ref" && [ -s "$archive" ]; then
    log "$name: $ref (cached)"
    return
  fi
  if ! image_exists "$ref" && [ -s "$archive" ]; then
    log "$name: restoring $ref from $archive"
    local id
    id=$(buildah pull --quiet "oci-archive:$archive")
    buildah tag "$id" "$ref"
    return
  fi
  local t0=$SECONDS
  log "$name: buildah bud -f $dockerfile (log: $out/$name.build.log)"
  local mounts
  mapfile -t mounts < <(home_mount)
  if ! buildah bud --quiet --network host --layers --format oci "${mounts[@]}" \
    --build-arg "NODE_IMAGE=$base" "$@" -f "$dockerfile" -t "$ref" . >"$out/$name.build.log" 2>&1; then
    tail -30 "$out/$name.build.log" >&2
    fail "building $name from $dockerfile failed (full log: $out/$name.build.log)"
  fi
  [ -n "$build_home" ] && rm -rf "$build_home"
  rm -f "$out/$name"-*.oci.tar
  buildah push --quiet "$ref" "oci-archive:$archive:$ref" >/dev/null
  timings+=("$name: $((SECONDS - t0))s")
}

build scheduler scheduler/Dockerfile
build worker worker/Dockerfile
build notebook worker/notebook.Dockerfile --build-arg "WORKER_IMAGE=${refs[worker]}"
build web web/Dockerfile
build operator operator/Dockerfile

# ---- what the node and the chart need -----------------------------------------------------
{
  for name in scheduler worker notebook web operator; do
    upper=${name^^}
    printf '%s_IMAGE=%s\n%s_ARCHIVE=%s\n' "$upper" "${refs[$name]}" "$upper" "${archives[$name]}"
  done
} >"$out/images.env"
{
  echo "# Chart values for the images built by scripts/images.sh (local only: never pulled)."
  echo "images:"
  echo "  pullPolicy: IfNotPresent"
  for name in operator web scheduler worker notebook; do
    printf '  %s:\n    repository: localhost/launchbay/%s\n    tag: "%s"\n' "$name" "$name" "${hashes[$name]}"
  done
} >"$out/values.yaml"

printf '%-10s %-52s %10s %12s\n' image reference size archive >&2
for name in scheduler worker notebook web operator; do
  size=$(buildah images --format '{{.Size}}' "${refs[$name]}" | head -1)
  printf '%-10s %-52s %10s %12s\n' "$name" "${refs[$name]}" "$size" \
    "$(du -h "${archives[$name]}" | cut -f1)" >&2
done
[ ${#timings[@]} -gt 0 ] && log "built: ${timings[*]}"
log "done in $((SECONDS - started))s; values: $out/values.yaml"
