#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# fuzz.sh - build the libFuzzer targets (clang, ASan + UBSan) in their own tree, run each in turn, print a table.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  how long each target runs (default 60)
#   TARGET   fuzz-dispatch, dispatch, ... (default: every tests/fuzz/fuzz-*.c)
#
# One target at a time, one process each: the machines this runs on have
# two cores, shared. The build lives in $HV_FUZZ_BUILDDIR (default
# build/fuzz); per target, what libFuzzer adds to the corpus goes to
# <build>/corpus/<name> (the committed seeds in tests/fuzz/corpus/<name>
# are read, never written), crashes to <build>/artifacts/<name>/, the full
# output to <build>/logs/<target>.log. Copy an input worth keeping into
# tests/fuzz/corpus/<name>/ so that `make check` replays it from then on.
#
# Table columns: executions and exec/s from libFuzzer's final stats, cov and
# ft from its last status line, crashes = new crash/leak/timeout/oom files.
# Exit status: 0 when no target crashed, 1 when one did, 2 on a build error.
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${HV_FUZZ_BUILDDIR:-$srcdir/build/fuzz}
secs=60
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
	secs=$1
	shift
fi
# the dispatcher takes up to three messages of 7432 bytes in one input
max_len=${HV_FUZZ_MAX_LEN:-22296}

targets=()
if [ $# -gt 0 ]; then
	for t in "$@"; do
		t=${t#fuzz-}
		[ -f "$srcdir/tests/fuzz/fuzz-$t.c" ] || { echo "fuzz.sh: no target fuzz-$t" >&2; exit 2; }
		targets+=("fuzz-$t")
	done
else
	for f in "$srcdir"/tests/fuzz/fuzz-*.c; do
		targets+=("$(basename "$f" .c)")
	done
fi

command -v clang >/dev/null || { echo "fuzz.sh: clang is needed (libFuzzer)" >&2; exit 2; }

# ---- build ------------------------------------------------------------------------------
if [ ! -x "$srcdir/configure" ]; then
	(cd "$srcdir" && ./autogen.sh >/dev/null 2>&1) || { echo "fuzz.sh: autogen.sh failed" >&2; exit 2; }
fi
mkdir -p "$builddir"
cd "$builddir"
if [ ! -f Makefile ]; then
	echo "# configuring $builddir (clang, libFuzzer, ASan, UBSan)"
	"$srcdir/configure" CC=clang --enable-fuzzers --enable-asan --enable-ubsan \
		--enable-werror >configure.log 2>&1 ||
		{ echo "fuzz.sh: configure failed, see $builddir/configure.log" >&2; exit 2; }
fi
echo "# building ${#targets[@]} targets in $builddir"
make -j2 "${targets[@]/#/tests/fuzz/}" >make.log 2>&1 ||
	{ tail -n 20 make.log >&2; echo "fuzz.sh: build failed, see $builddir/make.log" >&2; exit 2; }

# ---- run ----------------------------------------------------------------------------------
mkdir -p logs tmp
# the dispatcher target keeps its pool files under TMPDIR
export TMPDIR=$builddir/tmp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

rows=()
status=0
for t in "${targets[@]}"; do
	name=${t#fuzz-}
	seeds=$srcdir/tests/fuzz/corpus/$name
	corpus=$builddir/corpus/$name
	artifacts=$builddir/artifacts/$name
	log=$builddir/logs/$t.log
	mkdir -p "$corpus" "$artifacts" "$seeds"
	before=$(find "$artifacts" -type f | wc -l)
	echo "# $t: ${secs}s"
	rc=0
	"./tests/fuzz/$t" -max_total_time="$secs" -max_len="$max_len" -timeout=25 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$corpus" "$seeds" >"$log" 2>&1 </dev/null || rc=$?
	crashes=$(($(find "$artifacts" -type f | wc -l) - before))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n 1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
		# died without an artifact (e.g. a sanitizer report at exit)
		crashes=1
	fi
	[ "$crashes" -eq 0 ] || status=1
	rows+=("$(printf '%-22s %12s %9s %6s %7s %7s' "$t" "${execs:--}" "${rate:--}" \
		"${cov:--}" "${ft:--}" "$crashes")")
	if [ "$crashes" -ne 0 ]; then
		echo "#   $t crashed (exit $rc): $log, artifacts in $artifacts"
	fi
done

echo
printf '%-22s %12s %9s %6s %7s %7s\n' target executions exec/s cov ft crashes
for r in "${rows[@]}"; do
	echo "$r"
done
exit $status
