#!/usr/bin/env bash
# Run one named check step, print its wall time and exit status.
#   scripts/step.sh [--no-tests-ok] NAME CMD [ARGS...]
# --no-tests-ok: pytest's exit code 5 (no tests collected) counts as success,
# for steps whose test folder may still be empty.
set -uo pipefail
no_tests_ok=0
if [[ "${1:-}" == "--no-tests-ok" ]]; then no_tests_ok=1; shift; fi
name="$1"; shift
echo "==> [$name] $*"
start=$(date +%s)
"$@"
rc=$?
if [[ $rc -eq 5 && $no_tests_ok -eq 1 ]]; then
  echo "    [$name] no tests collected (pytest exit 5): counted as success"
  rc=0
fi
echo "<== [$name] exit $rc after $(( $(date +%s) - start ))s"
exit $rc
