#!/bin/bash
# The Debian 13 (trixie) root that `./check.sh --dovecot 2.4` builds and
# tests in: debootstrap minbase from Debian's packages plus Dovecot 2.4
# (core, imapd, pop3d, lmtpd, dev) and the plugin's build and test
# dependencies. Made once and cached under $MM_D24_DIR (default
# _build/dovecot24): root/ is reused while its stamp is there (a stamp of
# another package list: the missing packages are added with apt-get); the .debs
# stay in apt-cache/ for the next root. Made the way tests/package-test.sh
# makes its Debian 12 root (--foreign, then the second stage with dpkg's
# fsyncs off, a policy-rc.d that keeps every daemon from starting).
#
#   tests/dovecot24-root.sh           make the root (when not cached)
#   . tests/dovecot24-root.sh --lib   only define the functions
set -u
# shellcheck source=tests/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

MM_D24_DIR=${MM_D24_DIR:-$MM_TOP/_build/dovecot24}
MM_D24_MIRROR=${MM_D24_MIRROR:-http://deb.debian.org/debian}
MM_D24_SUITE=trixie
MM_D24_ROOT=$MM_D24_DIR/root
MM_D24_STAMP=$MM_D24_ROOT/.mailmove-dovecot24-ready
# What the build, the unit tests and the integration harness need inside.
# redis-server and redis-tools: the cluster scenarios' shared job table.
MM_D24_PACKAGES=dovecot-core,dovecot-imapd,dovecot-pop3d,dovecot-lmtpd,dovecot-dev,build-essential,autoconf,automake,libtool,pkg-config,libssl-dev,libicu-dev,check,openssl,python3,procps,iproute2,redis-server,redis-tools
# The legacy servers that are not Dovecot, as on 2.3 (tests/setup.sh):
# GNU Mailutils' pop3d (test_pop3), the SASL modules and the libraries of
# the Cyrus that lib/cyrus.py fetches and unpacks (Debian 13's t64 names,
# which its soname-to-package guess does not know), the libraries of the
# Courier that lib/courier.py unpacks, dnsmasq (test_domains, _providers).
# Installed into the root with apt-get after debootstrap, and into a
# cached root that lacks them. Not here, and skipped on 2.4 with their
# reason: Roundcube with Chromium, and PostgreSQL (test_roundcube,
# test_cluster_pgsql).
MM_D24_TEST_PACKAGES=(mailutils-pop3d libsasl2-modules libsasl2-modules-db
	libical3t64 libpcre2-posix3 libxapian30 libxml2
	libcourier-unicode8 libgdbm6t64 libgnutls30t64 libidn2-0 libltdl7 libpcre2-8-0 perl
	dnsmasq-base)
MM_D24_TEST_STAMP=$MM_D24_ROOT/.mailmove-dovecot24-test-packages

# /proc, /dev (and /dev/pts, /dev/shm with it) for the root, which is
# bind-mounted on itself first: its / must be a mount point for the tests
# that make their own mount namespaces in it (`unshare -m` makes / private;
# dnsmasq of test_providers, Courier).
mm_d24_mount() {
	mountpoint -q "$MM_D24_ROOT" || mount --bind "$MM_D24_ROOT" "$MM_D24_ROOT" || return 1
	mountpoint -q "$MM_D24_ROOT/proc" || mount -t proc proc "$MM_D24_ROOT/proc" || return 1
	mountpoint -q "$MM_D24_ROOT/dev" || mount --rbind /dev "$MM_D24_ROOT/dev" || return 1
	mountpoint -q "$MM_D24_ROOT/sys" || mount --rbind /sys "$MM_D24_ROOT/sys" 2>/dev/null
	return 0
}

mm_d24_umount() {
	umount -l "$MM_D24_ROOT/sys" 2>/dev/null
	umount -l "$MM_D24_ROOT/dev" 2>/dev/null
	umount "$MM_D24_ROOT/proc" 2>/dev/null
	umount -l "$MM_D24_ROOT" 2>/dev/null
	return 0
}

# Runs a command in the root with a clean environment.
mm_d24_run() {
	chroot "$MM_D24_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		LC_ALL=C.UTF-8 HOME=/root DEBIAN_FRONTEND=noninteractive "$@"
}

# Installs those of the packages $1 (comma-separated) that the root lacks,
# with the root's apt from Debian's mirror (needs /proc and /dev mounted).
mm_d24_add_packages() {
	local log=$MM_D24_DIR/apt.log missing=() pkg
	for pkg in ${1//,/ }; do
		mm_d24_run dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$pkg")
	done
	[ "${#missing[@]}" = 0 ] && return 0
	mm_say "dovecot 2.4: adding ${missing[*]} to the root"
	cp /etc/resolv.conf "$MM_D24_ROOT/etc/resolv.conf"
	if ! { mm_d24_run apt-get -q update &&
		mm_d24_run apt-get -q install -y --no-install-recommends "${missing[@]}"; } \
		>>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		return 1
	fi
}

mm_d24_make_root() {
	local log=$MM_D24_DIR/debootstrap.log cache=$MM_D24_DIR/apt-cache t=$SECONDS
	# A cached root made with an older package list gets the new ones.
	if [ -f "$MM_D24_STAMP" ]; then
		[ "$(cat "$MM_D24_STAMP")" = "$MM_D24_PACKAGES" ] && return 0
		mm_d24_mount && mm_d24_add_packages "$MM_D24_PACKAGES" || return 1
		echo "$MM_D24_PACKAGES" >"$MM_D24_STAMP"
		return 0
	fi
	mm_require_root || return 1
	mm_d24_umount
	rm -rf "$MM_D24_ROOT"
	mkdir -p "$cache"
	mm_say "dovecot 2.4: creating the Debian 13 root (debootstrap, once)"
	if ! debootstrap --variant=minbase --foreign --cache-dir="$cache" \
		--include="$MM_D24_PACKAGES" "$MM_D24_SUITE" "$MM_D24_ROOT" \
		"$MM_D24_MIRROR" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		return 1
	fi
	mkdir -p "$MM_D24_ROOT/etc/dpkg/dpkg.cfg.d" "$MM_D24_ROOT/usr/sbin"
	echo force-unsafe-io >"$MM_D24_ROOT/etc/dpkg/dpkg.cfg.d/mailmove-unsafe-io"
	printf '#!/bin/sh\nexit 101\n' >"$MM_D24_ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$MM_D24_ROOT/usr/sbin/policy-rc.d"
	mm_d24_mount || return 1
	local status=0
	chroot "$MM_D24_ROOT" /debootstrap/debootstrap --second-stage >>"$log" 2>&1 || status=$?
	# debootstrap's second stage may have left its own mounts behind.
	mm_d24_umount
	if [ "$status" != 0 ]; then
		tail -n 30 "$log" >&2
		return 1
	fi
	cat >"$MM_D24_ROOT/etc/apt/sources.list" <<-EOS
		deb $MM_D24_MIRROR $MM_D24_SUITE main
	EOS
	cp /etc/resolv.conf "$MM_D24_ROOT/etc/resolv.conf"
	echo "$MM_D24_PACKAGES" >"$MM_D24_STAMP"
	mm_say "dovecot 2.4: root made in $((SECONDS - t)) s ($(mm_d24_run dovecot --version 2>/dev/null))"
}

# The test packages (MM_D24_TEST_PACKAGES), when the root does not have
# this list yet; needs the root mounted (mm_d24_mount).
mm_d24_test_packages() {
	local log=$MM_D24_DIR/apt.log t=$SECONDS
	[ "$(cat "$MM_D24_TEST_STAMP" 2>/dev/null)" = "${MM_D24_TEST_PACKAGES[*]}" ] && return 0
	mm_say "dovecot 2.4: installing the legacy servers' packages into the root"
	cp /etc/resolv.conf "$MM_D24_ROOT/etc/resolv.conf" 2>/dev/null
	if ! { mm_d24_run apt-get -q update &&
		mm_d24_run apt-get -q -y --no-install-recommends install "${MM_D24_TEST_PACKAGES[@]}"; } \
		>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		return 1
	fi
	echo "${MM_D24_TEST_PACKAGES[*]}" >"$MM_D24_TEST_STAMP"
	mm_say "dovecot 2.4: packages installed in $((SECONDS - t)) s"
}

if [ "${1:-}" != --lib ]; then
	if [ -z "${MM_D24_UNSHARED:-}" ]; then
		mm_require_root || exit 1
		MM_D24_UNSHARED=1 exec unshare -m --propagation private "$0" "$@"
	fi
	mm_d24_make_root || exit 1
	mm_d24_mount || exit 1
	mm_d24_test_packages
	status=$?
	mm_d24_umount
	exit "$status"
fi
