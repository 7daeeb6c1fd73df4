#!/usr/bin/env bash
# Builds what a real test node runs beside containerd (npm run k8s:up -- --real-node), once:
#   kubelet, kube-proxy   test/k8s/tools (the control plane's module: same Kubernetes version)
#   coredns               test/k8s/coredns (CoreDNS v1.15.0 with the plugins the node uses)
#   kube-router           go install .../kube-router/v2/cmd/kube-router@v2.1.0 (NetworkPolicy)
#   pause                 test/k8s/pause/pause.c, gcc -static (the pod sandbox image's process)
# and two one-file images as OCI archives for `ctr images import`: pause (containerd's
# sandbox_image) and coredns (cluster DNS runs as a pod).
# Into ${LAUNCHBAY_CACHE:-~/.cache/launchbay}/k8s-node/<versions>-<source hash>/{bin,images};
# a stamp file is written only once everything is built.
#
#   test/k8s/build-node-tools.sh              build whatever is missing (progress on stderr)
#   test/k8s/build-node-tools.sh --print-dir  print the directory; exit 3 if not built yet
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
coredns_version=v1.15.0
kube_router_version=v2.1.0
required_version() { # required_version <module> <dir>: also `require <module> <version>` on one line
  awk -v m="$1" '$1 == "require" { $1 = ""; $0 = $0 } $1 == m && $2 ~ /^v/ { print $2; exit }' "$here/$2/go.mod"
}
k8s_version=$(required_version k8s.io/kubernetes tools)
[ "$(required_version github.com/coredns/coredns coredns)" = "$coredns_version" ] ||
  { echo "build-node-tools.sh: test/k8s/coredns/go.mod must require coredns $coredns_version" >&2; exit 2; }

cache=${LAUNCHBAY_CACHE:-$HOME/.cache/launchbay}
sources=$(cat "$here/pause/pause.c" "$here/coredns/main.go" "$here/coredns/go.sum" "$here/tools/go.sum" "$0" | sha256sum | cut -c1-12)
key="$k8s_version-coredns-$coredns_version-kube-router-$kube_router_version-$sources"
dir="$cache/k8s-node/$key"
bin="$dir/bin"
images="$dir/images"
stamp="$dir/.complete"
log() { printf '[k8s-node-tools] %s\n' "$*" >&2; }
fail() { printf '[k8s-node-tools] error: %s\n' "$*" >&2; exit 1; }

if [ "${1:-}" = "--print-dir" ]; then
  if [ -e "$stamp" ]; then echo "$dir"; exit 0; fi
  echo "build-node-tools.sh: the real node's tools $key are not built yet; run: bash scripts/setup.sh realnode" >&2
  exit 3
elif [ $# -gt 0 ]; then
  echo "build-node-tools.sh: unknown argument '$1' (expected no argument or --print-dir)" >&2
  exit 2
fi
if [ -e "$stamp" ]; then log "cached in $dir"; exit 0; fi

command -v go >/dev/null 2>&1 || fail "the Go toolchain is not on PATH; install Go >= 1.26 and run again"
command -v gcc >/dev/null 2>&1 || fail "gcc is missing; run: bash scripts/setup.sh realnode"
command -v buildah >/dev/null 2>&1 || fail "buildah is missing; run: bash scripts/setup.sh realnode"

mkdir -p "$cache/k8s-node"
exec 9>"$cache/k8s-node/.build.lock"
flock -n 9 || { log "another build of the node tools is running; waiting for it"; flock 9; }
if [ -e "$stamp" ]; then log "cached in $dir"; exit 0; fi

export GOTOOLCHAIN=local CGO_ENABLED=0
case " ${GOFLAGS:-} " in *" -buildvcs=false "*) ;; *) export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false" ;; esac
rm -rf "$dir"
mkdir -p "$bin" "$images"
started=$SECONDS
timings=()
step() { # step <label> <command...>
  local label=$1 t0=$SECONDS
  shift
  log "$label"
  "$@" || fail "$label failed (see the output above); nothing was cached"
  timings+=("$label: $((SECONDS - t0))s")
}

# Stamped as build-tools.sh stamps the control plane (kubectl compares versions).
minor=${k8s_version#v1.}
minor=${minor%%.*}
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

step "building the pause binary (gcc -static)" \
  gcc -Os -static -s -Wall -Werror -o "$bin/pause" "$here/pause/pause.c"
step "building kubelet and kube-proxy (Kubernetes $k8s_version)" env -C "$here/tools" \
  go build -trimpath -ldflags "$k8s_ldflags" -o "$bin/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
step "building CoreDNS $coredns_version" env -C "$here/coredns" \
  go build -trimpath -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$coredns_version" -o "$bin/coredns" .
step "building kube-router $kube_router_version" env -C "$cache/k8s-node" GOBIN="$bin" go install -trimpath \
  -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$kube_router_version" \
  "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$kube_router_version"

# One-file images (no shell, no libc: static binaries only).
one_file_image() { # one_file_image <name> <tag> <binary> <entrypoint> [user]
  local name=$1 tag=$2 binary=$3 entrypoint=$4 user=${5:-} ctr ref
  ref=localhost/launchbay/$name:$tag
  ctr=$(buildah from scratch)
  buildah copy --quiet --chmod 0755 "$ctr" "$binary" "/$entrypoint" >/dev/null
  buildah config --entrypoint "[\"/$entrypoint\"]" --os linux --arch amd64 ${user:+--user "$user"} "$ctr"
  buildah commit --quiet --rm "$ctr" "$ref" >/dev/null
  rm -f "$images/$name.oci.tar"
  buildah push --quiet "$ref" "oci-archive:$images/$name.oci.tar:$ref" >/dev/null
  echo "$ref" >"$images/$name.ref"
}
step "making the pause and coredns images" bash -c "$(declare -f one_file_image); images='$images'; \
  one_file_image pause 3.10-static-$sources '$bin/pause' pause 65535:65535 && \
  one_file_image coredns $coredns_version-$sources '$bin/coredns' coredns 65534:65534"

for b in kubelet kube-proxy coredns kube-router pause; do
  [ -x "$bin/$b" ] || fail "$bin/$b was not produced; nothing was cached"
done
"$bin/kubelet" --version | grep -q "$k8s_version" || fail "kubelet does not report $k8s_version"
{
  printf 'built %s on %s with %s, %s cores\n' "$key" "$(date -u +%FT%TZ)" "$(go version | cut -d' ' -f3-)" "$(nproc)"
  printf '%s\n' "${timings[@]}" "total: $((SECONDS - started))s"
} >"$dir/build-times.txt"
touch "$stamp"
log "built in $((SECONDS - started))s into $dir"
