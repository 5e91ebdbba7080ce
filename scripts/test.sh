#!/usr/bin/env bash
# Sets up the machine if needed, builds, and runs every test (unit, integration, e2e) against
# real clang, LLVM, bpftool and the kernel. Ends with the line `N passed, N failed[, N skipped]`.
# Extra arguments go to vitest (e.g. a file filter).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

report=$(mktemp --suffix=.json)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const failedSuites = r.testResults.filter((t) => t.status === "failed" && t.assertionResults.length === 0).length;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" 2>/dev/null || echo "0 passed, 1 failed"
rm -f "$report"
exit $status
