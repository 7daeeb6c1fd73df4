#!/usr/bin/env bash
# Builds the pinned MinIO server from the Go module proxy, once, like build-tools.sh builds
# the Kubernetes tools: the S3-compatible server the archive tests start (test/src/minio).
# It lands in ${LAUNCHBAY_CACHE:-~/.cache/launchbay}/minio/<version>/bin, outside the
# repository; a stamp file is written only once the binary is built.
#
#   test/k8s/build-minio.sh              build it if missing (progress on stderr)
#   test/k8s/build-minio.sh --print-dir  print the bin directory; exit 3 if not built yet
#
# MinIO tags its releases RELEASE.<date>, not semver, so the Go module proxy knows them by
# pseudo-version; this is the newest at the time of pinning (`go list -m github.com/minio/minio@latest`).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
minio_version=v0.0.0-20260212201848-7aac2a2c5b7c

cache=${LAUNCHBAY_CACHE:-$HOME/.cache/launchbay}
dir="$cache/minio/$minio_version"
bin="$dir/bin"
script=build-minio.sh tag=minio what="MinIO $minio_version" part=minio
# shellcheck source=tool-cache.sh
source "$here/tool-cache.sh"
tool_cache_enter "$@"

cd "$cache/minio"
step "building MinIO $minio_version (go install; a few minutes the first time)" \
  env GOBIN="$bin" go install -trimpath -ldflags "-s -w" "github.com/minio/minio@$minio_version"

tool_cache_done minio
