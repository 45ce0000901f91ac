#!/usr/bin/env bash
# Runs lint and every test suite (each even if an earlier one failed) inside a private network
# namespace, so no test's media or SFU traffic can leave the machine; then prints one summary line.
# Only the packages test (npm tarballs installed into consumer apps) runs outside it, first.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${RINGLINE_TEST_ALL_STAGE:-}" != netns ]; then
  mkdir -p test-results
  rm -f test-results/*.json test-results/*.status
  # The packages test installs the packed tarballs into consumer apps with dependencies from the
  # npm registry, which the namespace cannot reach: it runs first, out here.
  npx vitest run --config e2e/packages/vitest.config.ts \
    --reporter=default --reporter=json --outputFile.json=test-results/packages.json
  echo $? >test-results/packages.status
  export RINGLINE_TEST_ALL_STAGE=netns
  exec bash scripts/in-netns.sh bash "$0" "$@"
fi
status=0
[ "$(cat test-results/packages.status 2>/dev/null)" = 0 ] || status=1
npx eslint . && npx prettier --check . || { echo "lint: failed"; status=1; }
npm run typecheck:tests || { echo "typecheck: failed"; status=1; }
# The API reference (typedoc): fails on a public type that is not exported, or a broken link.
npm run docs:check || { echo "api docs: failed"; status=1; }
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/unit.json || status=1
npx vitest run --config e2e/vitest.config.ts \
  --reporter=default --reporter=json --outputFile.json=test-results/e2e.json || status=1
node scripts/test-summary.mjs test-results/packages.json test-results/unit.json test-results/e2e.json || status=1
exit $status
