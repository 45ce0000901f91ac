#!/usr/bin/env bash
# Runs every test suite (each even if an earlier one failed), then prints one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-results
rm -f test-results/*.json
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/unit.json || status=1
bash scripts/in-netns.sh npx vitest run --config e2e/vitest.config.ts \
  --reporter=default --reporter=json --outputFile.json=test-results/e2e.json || status=1
node scripts/test-summary.mjs test-results/unit.json test-results/e2e.json || status=1
exit $status
