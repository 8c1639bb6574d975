#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# install-deps.sh - installs, with apt-get, everything hvkvpd needs to build,
# test and demo on Debian 12. Idempotent: packages already present are kept.
set -eu

packages=(
	# build
	build-essential autoconf automake pkg-config linux-libc-dev
	libsystemd-dev libnl-3-dev libnl-route-3-dev libnm-dev libglib2.0-dev
	libfuse3-dev fuse3 check
	# tests: namespaces, veth, JSON, sanitizers, fuzzing, valgrind, man lint,
	# a notify socket listener (test-hostile.sh)
	iproute2 util-linux procps psmisc jq valgrind clang libclang-rt-14-dev mandoc python3
	# real peers for the integration tests (NetworkManager, systemd-networkd, D-Bus)
	network-manager systemd dbus dbus-daemon
	# what cloud-init's KVP reporter (fetched with apt-get download and
	# unpacked by test-pool-cotenants.sh, never installed) imports
	python3-yaml python3-jinja2 python3-jsonpatch python3-jsonschema python3-configobj
	python3-requests python3-netifaces python3-oauthlib python3-serial
	# packages and booted guests (tests/system): Debian and RPM packaging and
	# their linters, debootstrap and systemd-nspawn
	debhelper dh-autoreconf dpkg-dev lintian rpm rpmlint debootstrap systemd-container
	# the QEMU guest (tests/system/test-qemu.sh): TCG, qcow2 overlays, mkfs.ext4 -d
	qemu-system-x86 qemu-utils e2fsprogs
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (apt-get needs it)" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps.sh: all ${#packages[@]} packages already installed"
	exit 0
fi
echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# NetworkManager's postinst would start it on a real system; in a container
# without systemd as PID 1 it cannot, which is fine: the tests start their own.
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps.sh: done"
