#!/usr/bin/env bash
# The unit tests and the runtime's cross-process tests again on Node 24 LTS (what the
# images run), after `npm test` has set everything up and built on Node 20.
#   scripts/test-node24.sh [vitest args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(bash "$root/scripts/setup.sh" node24)
cd "$root"
PATH="$bin:$PATH" node --version
PATH="$bin:$PATH" npx vitest run --project unit --project integration \
  protocol scheduler worker client kube archive operator web test/src/runtime "$@"
