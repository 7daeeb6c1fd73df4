#!/usr/bin/env bash
# Builds the pinned chart linters once, like build-tools.sh builds the Kubernetes tools:
#   ct (chart-testing, from the module in test/k8s/lint-tools), kubeconform and kube-score
#   (go install <module>@<version>) from the Go module proxy, and a small Python venv with
#   yamllint and yamale, which `ct lint` runs. They land in
#   ${LAUNCHBAY_CACHE:-~/.cache/launchbay}/lint/<key>/, outside the repository; a stamp file
#   is written only once everything is there.
#
#   test/k8s/build-lint-tools.sh              build whatever is missing (progress on stderr)
#   test/k8s/build-lint-tools.sh --print-dir  print the bin directory; exit 3 if not built yet
#
# ct reads its Chart.yaml schema and yamllint rules from <bin>/etc (copied from the
# chart-testing module). See test/k8s/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ct_version=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/helm/chart-testing/v3") { print $(i + 1); exit } }' "$here/lint-tools/go.mod")
[ -n "$ct_version" ] || { echo "build-lint-tools.sh: $here/lint-tools/go.mod must require github.com/helm/chart-testing/v3" >&2; exit 2; }
kubeconform_version=v0.7.0
kube_score_version=v1.20.0
yamllint_version=1.38.0
yamale_version=6.1.0

cache=${LAUNCHBAY_CACHE:-$HOME/.cache/launchbay}
key="ct-$ct_version-kubeconform-$kubeconform_version-kube-score-$kube_score_version-yamllint-$yamllint_version-yamale-$yamale_version"
dir="$cache/lint/$key"
bin="$dir/bin"
script=build-lint-tools.sh tag=lint-tools what="the chart linters $key"
# shellcheck source=tool-cache.sh
source "$here/tool-cache.sh"
tool_cache_enter "$@"
command -v python3 >/dev/null 2>&1 || fail "python3 is not on PATH (yamllint and yamale, which ct lint runs, are Python)"
mkdir -p "$bin/etc"

cd "$cache/lint"
step "building kubeconform $kubeconform_version" env GOBIN="$bin" go install -trimpath -ldflags "-s -w" \
  "github.com/yannh/kubeconform/cmd/kubeconform@$kubeconform_version"
step "building kube-score $kube_score_version" env GOBIN="$bin" go install -trimpath \
  -ldflags "-s -w -X main.version=${kube_score_version#v}" \
  "github.com/zegl/kube-score/cmd/kube-score@$kube_score_version"
# `go install ct@version` reads the module's version list, which the proxy refuses (403);
# a build inside a module that requires it does not.
step "building ct $ct_version" env -C "$here/lint-tools" go build -trimpath \
  -ldflags "-s -w -X github.com/helm/chart-testing/v3/ct/cmd.Version=${ct_version#v}" \
  -o "$bin/ct" github.com/helm/chart-testing/v3/ct
ct_src=$(go env GOMODCACHE)/github.com/helm/chart-testing/v3@$ct_version
cp "$ct_src/etc/chart_schema.yaml" "$ct_src/etc/lintconf.yaml" "$bin/etc/" \
  || fail "chart-testing's etc/chart_schema.yaml and etc/lintconf.yaml were not found in $ct_src"
chmod u+w "$bin/etc/"*

# yamllint and yamale for ct: their own venv (the Jupyter venv's key stays untouched).
step "installing yamllint $yamllint_version and yamale $yamale_version (pip)" python3 -m venv "$dir/venv"
step "pip install" "$dir/venv/bin/pip" install --quiet --disable-pip-version-check \
  "yamllint==$yamllint_version" "yamale==$yamale_version"
ln -s ../venv/bin/yamllint "$bin/yamllint"
ln -s ../venv/bin/yamale "$bin/yamale"

tool_cache_done ct kubeconform kube-score yamllint yamale
