# shellcheck shell=bash
# Shared by ./check.sh and ./demo.sh (source it; bash): installs what the
# build and the tests need on Debian bookworm and builds and installs the
# plugin the way README.md tells an admin to.
#
# Functions return non-zero instead of exiting, so the caller decides what
# a failure means. Output of long steps goes to files under $MM_LOGDIR
# (the end of it is printed when a step fails).

MM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MM_LOGDIR=${MM_LOGDIR:-$MM_TOP/_build/logs}
MM_JOBS=${MM_JOBS:-2}
# Debian's own Python: the tests use the standard library only.
MM_PYTHON=${MM_PYTHON:-/usr/bin/python3}
MM_CONFIGURE_ARGS=(--prefix=/usr --with-dovecot=/usr/lib/dovecot)
MM_PACKAGES=(dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-dev
	build-essential autoconf automake libtool pkg-config libssl-dev libicu-dev
	check openssl python3 procps
	# a second legacy POP3 server for tests/integration/test_pop3.py; it
	# installs beside dovecot-pop3d (no service is started, see below)
	mailutils-pop3d
	# SASL mechanisms and the sasldb for the Cyrus IMAP that
	# tests/integration/lib/cyrus.py runs from a private root (Cyrus
	# itself conflicts with dovecot-imapd and is not installed)
	libsasl2-modules libsasl2-modules-db
	# libFuzzer targets (fuzz/) and their sanitizers
	clang-14 libclang-rt-14-dev
	# the libraries of the Courier-IMAP/POP3 and courier-authlib that
	# tests/integration/lib/courier.py unpacks into a private root (the
	# servers conflict with dovecot-imapd/pop3d and are not installed)
	libidn12 libcourier-unicode4 libgamin0 gamin libgdbm6 libltdl7 libgnutls30
	# tests/package-test.sh: builds the .deb, checks it and installs it
	# into a debootstrap root
	debhelper lintian debootstrap man-db curl
	# the DNS server (dnsmasq without its system service) and `ip` of
	# tests/integration/test_providers.py's private network namespace
	dnsmasq-base iproute2
	# tests/integration/test_roundcube.py: Debian's Roundcube with SQLite
	# served by php-cli's built-in server (php8.2-cgi only keeps `php`
	# from pulling in Apache), driven by headless Chromium through the
	# DevTools protocol (lib/devtools.py)
	roundcube-core roundcube-sqlite3 php8.2-cgi php8.2-cli php8.2-sqlite3 chromium
	# the shared job table of tests/integration/test_cluster.py (the test
	# starts its own redis-server on a free loopback port; the system one
	# is not started, see below), and the same table in PostgreSQL through
	# Dovecot's SQL dict (tests/integration/test_cluster_pgsql.py runs a
	# private PostgreSQL cluster)
	redis-server dovecot-pgsql postgresql)

mm_say() {
	printf '==> %s\n' "$*"
}

# The scripts install packages, write to /usr and start Dovecot instances
# that switch to the mail users' uids: all of it needs root.
mm_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "error: $(basename "$0") must run as root" >&2
		return 1
	fi
}

mm_missing_packages() {
	local pkg
	for pkg in "${MM_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null |
			grep -q '^install ok installed$' || printf '%s\n' "$pkg"
	done
}

# Installs the missing packages (none: no apt at all, so reruns are fast).
# The system Dovecot must not start: a policy-rc.d denies every service
# start during the installation, and a Dovecot that runs afterwards but
# did not before is stopped.
mm_install_packages() {
	local missing policy=/usr/sbin/policy-rc.d created_policy=no was_running=no
	mapfile -t missing < <(mm_missing_packages)
	if [ "${#missing[@]}" -eq 0 ]; then
		mm_say "packages: all present"
		return 0
	fi
	mm_require_root || return 1
	mm_say "packages: installing ${missing[*]}"
	if [ -s /run/dovecot/master.pid ] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
		was_running=yes
	fi
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# Written by dovecot-mailmove tests/setup.sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		created_policy=yes
	fi
	local status=0
	export DEBIAN_FRONTEND=noninteractive
	mkdir -p "$MM_LOGDIR"
	{ apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
		>"$MM_LOGDIR/apt.log" 2>&1 || status=$?
	[ "$created_policy" = yes ] && rm -f "$policy"
	if [ "$was_running" = no ] && [ -s /run/dovecot/master.pid ] &&
		kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
		mm_say "packages: stopping the system Dovecot the installation started"
		doveadm stop >/dev/null 2>&1 || kill "$(cat /run/dovecot/master.pid)"
	fi
	if [ "$status" != 0 ]; then
		tail -n 30 "$MM_LOGDIR/apt.log" >&2
		echo "error: apt-get failed (full log: $MM_LOGDIR/apt.log)" >&2
	fi
	return "$status"
}

# True when the tree is configured with exactly our configure arguments.
mm_configured() {
	[ -x "$MM_TOP/config.status" ] && [ -f "$MM_TOP/Makefile" ] || return 1
	local config
	config=$(cd "$MM_TOP" && ./config.status --config)
	for arg in "${MM_CONFIGURE_ARGS[@]}"; do
		# config.status quotes the arguments or not, by autoconf version.
		case " $config " in
		*" $arg "* | *" '$arg' "*) ;;
		*) return 1 ;;
		esac
	done
}

# autogen + configure when needed, make, make install. Returns non-zero on
# failure after printing the end of the failing step's output.
mm_build_and_install() {
	mkdir -p "$MM_LOGDIR"
	local step
	(
		cd "$MM_TOP" || exit 1
		if ! mm_configured; then
			./autogen.sh >"$MM_LOGDIR/autogen.log" 2>&1 || exit 11
			./configure "${MM_CONFIGURE_ARGS[@]}" >"$MM_LOGDIR/configure.log" 2>&1 || exit 12
		fi
		make -j"$MM_JOBS" >"$MM_LOGDIR/make.log" 2>&1 || exit 13
		make install >"$MM_LOGDIR/install.log" 2>&1 || exit 14
	)
	local status=$?
	case $status in
	0) mm_say "build: configured, built and installed"; return 0 ;;
	11) step="autogen" ;;
	12) step="configure" ;;
	13) step="make" ;;
	14) step="install" ;;
	*) step="build" ;;
	esac
	tail -n 40 "$MM_LOGDIR/$step.log" >&2
	echo "error: $step failed (full log: $MM_LOGDIR/$step.log)" >&2
	return 1
}

# Stops every Dovecot instance whose config lies in $1/*/dovecot.conf (the
# test harness's layout) and kills what is left of it: the safety net for
# a harness that was itself killed.
mm_stop_instances() {
	local conf pid_file master
	local -a children
	for conf in "$1"/*/dovecot.conf; do
		[ -f "$conf" ] || continue
		pid_file=$(dirname "$conf")/run/master.pid
		[ -s "$pid_file" ] || continue
		master=$(cat "$pid_file")
		kill -0 "$master" 2>/dev/null || continue
		mapfile -t children < <(ps -o pid= --ppid "$master" | tr -d " ")
		timeout 10 doveadm -c "$conf" stop >/dev/null 2>&1
		kill -KILL "$master" "${children[@]}" 2>/dev/null
	done
	return 0
}
