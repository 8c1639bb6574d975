#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run.sh - runs every tests/integration/test-*.sh (or those named) and prints
# one closing line "N passed, N failed, N skipped". Exit 0 only when none failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
export top_builddir=${top_builddir:-$top_srcdir}
logdir=${HV_TEST_LOGDIR:-$top_builddir/tests/integration/logs}
mkdir -p "$logdir"

if [ $# -gt 0 ]; then
	tests=("$@")
else
	tests=("$here"/test-*.sh)
fi

pass=0 fail=0 skip=0
failed=()
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log="$logdir/$name.log"
	rm -rf "${logdir:?}/$name"
	start=$(date +%s)
	# every test gets its own process group so that nothing it started
	# survives it, and its own log directory (each check's full output)
	HV_LOG_DIR=$logdir/$name timeout --kill-after=10 600 setsid bash "$t" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS: $name (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "SKIP: $name: $(grep -m1 '^SKIP' "$log" | sed 's/^SKIP: //')" ;;
	*) fail=$((fail + 1)); failed+=("$name"); echo "FAIL: $name (exit $rc, ${secs}s); full log: $log"
	   if grep -q '^FAIL - ' "$log"; then
		   # name each failed check, its log and its last lines
		   awk '/^FAIL - /{f=1; print; next} f && /^    /{print; next} {f=0}' "$log" |
			   sed 's/^/    | /' | head -n 100
	   else
		   # the test stopped outside a check: its own last lines say where
		   sed 's/^/    | /' "$log" | tail -n 30
	   fi ;;
	esac
done
[ "$fail" -eq 0 ] || echo "failed: ${failed[*]} (logs in $logdir)"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
