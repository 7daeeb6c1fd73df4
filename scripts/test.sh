#!/usr/bin/env bash
# The whole test suite (`npm test`, after `pretest` set everything up):
#   1. vitest's unit, integration and k8s projects;
#   2. the real-node project on its own run, so its control plane and real node do not
#      compete for the two cores with the other projects' processes: the images of
#      `npm run images` as real pods on a real kubelet, NetworkPolicies enforced.
#      Without root it is skipped with the reason printed (in CI, where it must run, that
#      fails the run).
# Arguments go to both vitest runs; a JSON report file named vitest.json becomes
# vitest-real-node.json for the second, so CI can add up both.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
npx vitest run --project unit --project integration --project k8s "$@"
status=$?
real_args=()
for arg in "$@"; do real_args+=("${arg//vitest.json/vitest-real-node.json}"); done
LAUNCHBAY_REAL_NODE_TESTS=1 npx vitest run --project real-node "${real_args[@]}"
real=$?
[ $status -ne 0 ] && exit $status
exit $real
