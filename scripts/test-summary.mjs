// Adds up vitest JSON reports into the one plain line CI reads: "tests: N passed, N failed, N skipped".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`test-summary: ${file} is missing (that suite did not run to the end)`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  // A file whose hook failed (e.g. the packages test without a registry) fails with no test
  // failed, its tests skipped: it counts as one failure.
  const hookFailures = (report.testResults ?? []).filter(
    (file) =>
      file.status === 'failed' && !file.assertionResults?.some((t) => t.status === 'failed'),
  ).length;
  // A test worker that died (a native crash) leaves its file's unfinished tests "pending" (a
  // skipped test is "skipped"): each counts as a failure, named, since vitest names no file.
  let unfinished = 0;
  for (const result of report.testResults ?? []) {
    const left = (result.assertionResults ?? []).filter((t) => t.status === 'pending');
    if (!left.length) continue;
    console.error(`test-summary: ${left.length} test(s) of ${result.name} never finished:`);
    for (const t of left) console.error(`  - ${t.fullName ?? t.title}`);
    unfinished += left.length;
  }
  failed +=
    report.numFailedTests +
    Math.max(report.numRuntimeErrorTestSuites ?? 0, hookFailures) +
    unfinished;
  skipped += (report.testResults ?? [])
    .flatMap((result) => result.assertionResults ?? [])
    .filter((t) => t.status === 'skipped' || t.status === 'todo').length;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
