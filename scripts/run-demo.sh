#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-demo.sh - the main job, end to end on any Debian 12 box: installs the
# dependencies, builds, then runs hvkvpd against the emulated Hyper-V host in a
# private namespace and prints what the host sees.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "${HVKVP_SKIP_DEPS:-0}" != 1 ]; then
	./scripts/install-deps.sh
fi
build=$top/build/plain
echo "building into $build ..."
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
mkdir -p "$build"
[ -f "$build/Makefile" ] || (cd "$build" && "$top/configure" >/dev/null)
make -C "$build" -j"$(nproc)" >/dev/null
export top_srcdir=$top top_builddir=$build
exec bash "$top/tests/integration/demo.sh"
