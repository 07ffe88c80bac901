#!/usr/bin/env bash
# Runs every test: installs what is missing (see ensure-tools.sh), builds, lints, type-checks the
# tests and benchmarks, then vitest.
# Ends with a plain "N passed, N failed" line so any CI can read the result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh --test
echo "==> building"
pnpm -s build
echo "==> lint"
pnpm -s exec biome check . --diagnostic-level=error
echo "==> type-check of the tests and benchmarks (vitest runs them without checking types)"
pnpm -s typecheck
echo "==> tests"
report=$(mktemp)
status=0
pnpm -s exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" 2>/dev/null || true
rm -f "$report"
exit $status
