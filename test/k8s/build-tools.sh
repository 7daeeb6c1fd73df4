#!/usr/bin/env bash
# Builds the pinned Kubernetes test tools from the Go module proxy, once:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (test/k8s/tools),
#   kwok and helm (go install <module>@<version>).
# They land in ${LAUNCHBAY_CACHE:-~/.cache/launchbay}/k8s/<k8s>-<etcd>-<kwok>-<helm>/bin,
# outside the repository; a stamp file is written only once every binary is built,
# so an interrupted build starts over and a complete one is reused at once.
#
#   test/k8s/build-tools.sh              build whatever is missing (progress on stderr)
#   test/k8s/build-tools.sh --print-dir  print the bin directory; exit 3 if not built yet
#
# The Kubernetes and etcd versions are the ones required in test/k8s/tools/go.mod;
# kwok's and helm's are below. See test/k8s/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools_module="$here/tools"
kwok_version=v0.7.0
helm_version=v3.17.4

required_version() { awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$tools_module/go.mod"; }
k8s_version=$(required_version k8s.io/kubernetes)
etcd_version=$(required_version go.etcd.io/etcd/server/v3)
if [ -z "$k8s_version" ] || [ -z "$etcd_version" ]; then
  echo "build-tools.sh: $tools_module/go.mod must require k8s.io/kubernetes and go.etcd.io/etcd/server/v3" >&2
  exit 2
fi

cache=${LAUNCHBAY_CACHE:-$HOME/.cache/launchbay}
key="$k8s_version-$etcd_version-$kwok_version-$helm_version"
dir="$cache/k8s/$key"
bin="$dir/bin"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm)
script=build-tools.sh tag=k8s-tools what="the Kubernetes test tools $key"
# shellcheck source=tool-cache.sh
source "$here/tool-cache.sh"
tool_cache_enter "$@"

# Kubernetes' binaries report this version (kubectl, helm and kwok compare it).
minor=${k8s_version#v1.}
minor=${minor%%.*}
build_date=$(cd "$tools_module" && go list -m -f '{{.Time.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes 2>/dev/null || echo 1970-01-01T00:00:00Z)
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

cd "$tools_module"
step "downloading Go modules for Kubernetes $k8s_version and etcd $etcd_version" go mod download
step "building etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (Kubernetes $k8s_version, etcd $etcd_version; the slow part)" \
  go build -trimpath -ldflags "$k8s_ldflags" -o "$bin/" \
  ./etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl

cd "$cache/k8s"
step "building kwok $kwok_version" env GOBIN="$bin" go install -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${kwok_version#v}" \
  "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
# As helm's Makefile: the Kubernetes version its default capabilities report is that of
# the client-go it is built with (v0.32 for helm v3.17).
helm_k8s_minor=32
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_k8s_minor"
done
step "building helm $helm_version" env GOBIN="$bin" go install -trimpath -ldflags "$helm_ldflags" \
  "helm.sh/helm/v3/cmd/helm@$helm_version"

"$bin/kubectl" version --client 2>/dev/null | grep -q "$k8s_version" \
  || fail "kubectl does not report $k8s_version; the version stamping (-ldflags -X) did not apply"

tool_cache_done "${binaries[@]}"
