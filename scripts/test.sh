#!/usr/bin/env bash
# Sets up the machine if needed, builds, and runs every test (unit, integration, e2e) against
# real clang, LLVM, bpftool and the kernel. Ends with the line `N passed, N failed, N skipped`.
# Extra arguments go to vitest (e.g. a file filter); then everything runs in one pass.
#
# Without arguments the tests run in two passes: first everything but the two heaviest suites
# (two files at a time), then the C corpus and the qemu kernels alone, so that on a busy 2-core
# machine they are not starved by other test files. The closing line adds both passes up; a test
# file that failed outside its tests (a hook, an import) counts as a failure, and the line never
# says `0 failed` when vitest failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

HEAVY=(e2e/corpus e2e/kernels)
reports=()
status=0

run_pass() {
  local report
  report=$(mktemp --suffix=.json)
  reports+=("$report")
  npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
  local s=$?
  [ $s -ne 0 ] && status=$s
  # vitest writes no report when it cannot start at all: count that pass as a failure.
  [ -s "$report" ] || echo "{\"failedToStart\":$s}" > "$report"
}

if [ $# -gt 0 ]; then
  run_pass "$@"
else
  excludes=()
  for h in "${HEAVY[@]}"; do excludes+=(--exclude "$h/**"); done
  run_pass "${excludes[@]}"
  run_pass --maxWorkers=1 "${HEAVY[@]}"
fi

node -e '
const fs = require("fs");
let passed = 0, failed = 0, skipped = 0;
const failures = [];
// node -e: the arguments start at argv[1].
for (const file of process.argv.slice(1, -1)) {
  let r;
  try { r = JSON.parse(fs.readFileSync(file, "utf8")); } catch { failed++; continue; }
  if (r.failedToStart !== undefined) { if (r.failedToStart !== 0) failed++; continue; }
  passed += r.numPassedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  failed += r.numFailedTests;
  // A file that failed with no failed test: a hook, an import, a timeout outside any test.
  const broken = r.testResults.filter((t) => t.status === "failed" && !t.assertionResults.some((a) => a.status === "failed"));
  failed += broken.length;
  // Name what failed next to the closing line, where a CI log tail shows it.
  const first = (m) => String(m || "").split("\n").find((l) => l.trim()) || "";
  for (const t of r.testResults) {
    const file = require("path").relative(process.cwd(), t.name);
    for (const a of t.assertionResults.filter((a) => a.status === "failed")) failures.push(`${file} > ${a.fullName}: ${first(a.failureMessages && a.failureMessages[0]).slice(0, 300)}`);
  }
  for (const t of broken) failures.push(`${require("path").relative(process.cwd(), t.name)} (outside its tests): ${first(t.message).slice(0, 300)}`);
}
if (failures.length > 0) console.log(`failed:\n${failures.map((f) => `  ${f}`).join("\n")}`);
const vitestFailed = process.argv[process.argv.length - 1] !== "0";
if (vitestFailed && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
' "${reports[@]}" "$status" || echo "0 passed, 1 failed"
rm -f "${reports[@]}"
exit $status
