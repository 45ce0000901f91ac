#!/usr/bin/env bash
# Runs lint and every test suite (each even if an earlier one failed) inside a private network
# namespace, so no test's media or SFU traffic can leave the machine; then prints one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${RINGLINE_NETNS:-}" != 1 ]; then exec bash scripts/in-netns.sh bash "$0" "$@"; fi
mkdir -p test-results
rm -f test-results/*.json
status=0
npx eslint . && npx prettier --check . || { echo "lint: failed"; status=1; }
npm run typecheck:tests || { echo "typecheck: failed"; status=1; }
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/unit.json || status=1
npx vitest run --config e2e/vitest.config.ts \
  --reporter=default --reporter=json --outputFile.json=test-results/e2e.json || status=1
node scripts/test-summary.mjs test-results/unit.json test-results/e2e.json || status=1
exit $status
