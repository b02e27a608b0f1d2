#!/bin/bash
# The Debian package test (run by ./check.sh; as root, on Debian bookworm):
#
#   1. builds dovecot-mailmove_<version>_<arch>.deb from a copy of this
#      tree's files with the admin guide's commands (mk-build-deps, then
#      dpkg-buildpackage) in a fresh Debian 12 root, and checks its version,
#      contents, stripping, the man pages and lintian;
#   2. installs it into a fresh Debian 12 root made with debootstrap from
#      Debian's packages with the stock dovecot-core, -imapd and -pop3d;
#   3. there: doveconf -n accepts the configuration, the installed
#      configuration is inert (a login queues nothing), a domain enabled
#      with a userdb field gets its user's mail moved from a legacy
#      Dovecot (in the same root, 127.0.0.1 only) at a real IMAP login and
#      `doveadm mailmove status` shows it done;
#   4. apt-get remove, then purge: no file of the package is left (but the
#      conffile after remove) and Dovecot still starts and logs users in.
#
# Prints "PASS  package/<step>" or "FAIL  package/<step>" per step and,
# last, "package: N passed, M failed". Work and cache directory:
# $MM_PKG_DIR (default _build/package): the debootstrap root is made once
# (root-base/, reused while its stamp is there) and copied for each run;
# the .deb is rebuilt only when the tree's files changed.
#   tests/package-test.sh [--keep]     --keep leaves the test root behind
set -u
# shellcheck source=tests/setup.sh
. "$(dirname "$0")/setup.sh"

MM_PKG_DIR=${MM_PKG_DIR:-$MM_TOP/_build/package}
MM_PKG_MIRROR=${MM_PKG_MIRROR:-http://deb.debian.org/debian}
MM_PKG_SUITE=bookworm
base=$MM_PKG_DIR/root-base
root=$MM_PKG_DIR/root
logdir=$MM_PKG_DIR/logs
keep=no
[ "${1:-}" = --keep ] && keep=yes

# Mounts made for the test root (/proc, /dev) vanish with this private
# mount namespace, whatever happens to the script.
if [ -z "${MM_PKG_UNSHARED:-}" ]; then
	mm_require_root || { echo "package: 0 passed, 1 failed"; exit 1; }
	MM_PKG_UNSHARED=1 exec unshare -m --propagation private "$0" "$@"
fi

passed=0
failed=0
pkg_pass() {
	printf 'PASS  package/%s  %s\n' "$1" "${2:-}"
	passed=$((passed + 1))
}
pkg_fail() {
	printf 'FAIL  package/%s  %s\n' "$1" "${2:-}"
	failed=$((failed + 1))
}
# Shows a log's end under a failure line.
pkg_show() {
	tail -n "${2:-30}" "$1" 2>/dev/null | sed 's/^/      | /'
}
pkg_summary() {
	echo "package: $passed passed, $failed failed"
	exit 0
}

mkdir -p "$MM_PKG_DIR" "$logdir"

# --- 1. the .deb ---------------------------------------------------------

version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$MM_TOP/configure.ac")

# The tree's files as git sees them (tracked and new, not ignored), so no
# in-tree build output reaches the package build.
copy_sources() {
	local dest=$1
	rm -rf "$dest"
	mkdir -p "$dest"
	(cd "$MM_TOP" && git ls-files -z -co --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$dest"
}

# The .deb is built the way the admin guide says, in a fresh copy of the
# Debian 12 root that holds nothing the build needs but what the guide's
# commands install: devscripts and equivs, then mk-build-deps from
# debian/control. A build dependency missing from debian/control fails
# here, not on an admin's build machine.
build_deb() {
	local src=$MM_PKG_DIR/src hash out log=$logdir/dpkg-buildpackage.log
	if ! copy_sources "$src" || [ ! -f "$src/debian/control" ]; then
		pkg_fail build "could not copy the tree (needs a git checkout)"
		return 1
	fi
	hash=$(cd "$src" && tar --sort=name --mtime=@0 --owner=0 --group=0 \
		--numeric-owner -cf - . | sha256sum | cut -c1-16)
	out=$MM_PKG_DIR/deb/$hash
	if [ -f "$out/.built" ]; then
		pkg_pass build "cached .deb of the same sources ($out)"
	else
		local t=$SECONDS
		rm -rf "$MM_PKG_DIR/deb"
		mkdir -p "$out"
		if ! build_in_root "$src" "$out" >"$log" 2>&1; then
			pkg_fail build "the guide's build in a fresh Debian 12 root failed (log: $log)"
			pkg_show "$log"
			return 1
		fi
		touch "$out/.built"
		local how="devscripts equivs, mk-build-deps -i -r debian/control"
		pkg_pass build "$how, dpkg-buildpackage -us -uc -b in a fresh root: $((SECONDS - t)) s"
	fi
	deb=$(ls "$out"/dovecot-mailmove_"$version"_*.deb 2>/dev/null)
	dbgsym=$(ls "$out"/dovecot-mailmove-dbgsym_"$version"_*.deb 2>/dev/null)
	changes=$(ls "$out"/dovecot-mailmove_"$version"_*.changes 2>/dev/null)
	[ -n "$deb" ]
}

# Copies the sources into a copy of the base root and runs the guide's
# commands there (mk-build-deps asks before installing: an admin answers
# yes). The unit tests ran in check.sh's unit phase, on the same sources.
build_in_root() {
	local src=$1 out=$2 broot=$MM_PKG_DIR/build-root status
	[ "$root_made" = 0 ] || { echo "no base root (see debootstrap.log)"; return 1; }
	rm -rf "$broot"
	cp -a "$base" "$broot"
	mkdir -p "$broot/build"
	cp -a "$src" "$broot/build/dovecot-mailmove"
	mount_root "$broot" &&
		mount --bind "$MM_PKG_DIR/apt-cache" "$broot/var/cache/apt/archives" || return 1
	chroot "$broot" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive \
		DEB_BUILD_OPTIONS="nocheck parallel=$MM_JOBS" sh -exc '
			apt-get update
			apt-get install -y --no-install-recommends devscripts equivs
			cd /build/dovecot-mailmove
			yes | mk-build-deps -i -r debian/control
			dpkg-buildpackage -us -uc -b'
	status=$?
	umount "$broot/var/cache/apt/archives"
	umount_root "$broot"
	if [ "$status" = 0 ]; then
		mv "$broot"/build/dovecot-mailmove*_"$version"_* "$out"/ || status=1
	fi
	rm -rf "$broot"
	return "$status"
}

check_version() {
	local changelog deb_version
	changelog=$(dpkg-parsechangelog -l "$MM_TOP/debian/changelog" -S Version)
	deb_version=$(dpkg-deb -f "$deb" Version)
	if [ "$changelog" = "$version" ] && [ "$deb_version" = "$version" ]; then
		pkg_pass version "configure.ac, debian/changelog and the .deb: $version"
	else
		pkg_fail version "configure.ac $version, debian/changelog $changelog, .deb $deb_version"
	fi
}

check_contents() {
	local list=$logdir/contents.txt path missing=() unstripped=() tmp
	dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$list"
	for path in /etc/dovecot/conf.d/90-mailmove.conf \
		/usr/share/dovecot-mailmove/90-mailmove.conf \
		/usr/share/dovecot-mailmove/providers.conf \
		/usr/lib/dovecot/mailmove /usr/lib/dovecot/mailmove-worker \
		/usr/lib/dovecot/modules/lib90_mailmove_plugin.so \
		/usr/lib/dovecot/modules/doveadm/lib10_doveadm_mailmove_plugin.so \
		/usr/share/man/man1/doveadm-mailmove.1.gz \
		/usr/share/man/man7/dovecot-mailmove.7.gz \
		/usr/share/doc/dovecot-mailmove/admin-guide.md.gz \
		/usr/share/doc/dovecot-mailmove/grafana-dashboard.json; do
		grep -qx "$path" "$list" || missing+=("$path")
	done
	if grep -q '\.la$' "$list"; then
		missing+=("(no .la files: $(grep '\.la$' "$list" | tr '\n' ' '))")
	fi
	if [ "${#missing[@]}" = 0 ] && dpkg-deb -I "$deb" conffiles |
		grep -qx /etc/dovecot/conf.d/90-mailmove.conf; then
		pkg_pass contents "$(wc -l <"$list") paths; 90-mailmove.conf is a conffile"
	else
		pkg_fail contents "missing: ${missing[*]:-the conffile entry} (list: $list)"
	fi

	# Stripped binaries, their symbols in the -dbgsym package.
	tmp=$MM_PKG_DIR/unpacked
	rm -rf "$tmp"
	dpkg-deb -x "$deb" "$tmp"
	for path in usr/lib/dovecot/mailmove usr/lib/dovecot/mailmove-worker \
		usr/lib/dovecot/modules/lib90_mailmove_plugin.so \
		usr/lib/dovecot/modules/doveadm/lib10_doveadm_mailmove_plugin.so; do
		readelf -S "$tmp/$path" | grep -q '\.debug_info\|\.symtab' && unstripped+=("$path")
	done
	if [ "${#unstripped[@]}" = 0 ] && [ -n "$dbgsym" ]; then
		pkg_pass stripped "$(cd "$tmp" && du -k usr/lib/dovecot/mailmove \
			usr/lib/dovecot/mailmove-worker | awk '{printf "%s %d KiB; ", $2, $1}')dbgsym $(basename "$dbgsym")"
	else
		pkg_fail stripped "not stripped: ${unstripped[*]:-}; dbgsym: ${dbgsym:-missing}"
	fi
	# Hardening: PIE, RELRO, BIND_NOW, stack protector, _FORTIFY_SOURCE.
	local weak=()
	for path in usr/lib/dovecot/mailmove usr/lib/dovecot/mailmove-worker; do
		readelf -d "$tmp/$path" | grep -q 'FLAGS.*BIND_NOW' || weak+=("$path:bindnow")
		readelf -l "$tmp/$path" | grep -q GNU_RELRO || weak+=("$path:relro")
		readelf -h "$tmp/$path" | grep -q 'DYN (Position-Independent' || weak+=("$path:pie")
		readelf -W --dyn-syms "$tmp/$path" | grep -q __stack_chk_fail || weak+=("$path:stack-protector")
	done
	if [ "${#weak[@]}" = 0 ]; then
		pkg_pass hardening "PIE, RELRO, BIND_NOW, stack protector"
	else
		pkg_fail hardening "${weak[*]}"
	fi
}

check_man_pages() {
	local page out bad=()
	for page in "$MM_TOP"/doc/doveadm-mailmove.1 "$MM_TOP"/doc/dovecot-mailmove.7; do
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
		[ -z "$out" ] || bad+=("$(basename "$page"): $out")
	done
	if [ "${#bad[@]}" = 0 ]; then
		pkg_pass man-pages "man --warnings: no warnings"
	else
		pkg_fail man-pages "${bad[*]}"
	fi
}

# No errors; warnings are listed (and justified in README "Debian package").
check_lintian() {
	local log=$logdir/lintian.log errors
	lintian --no-cfg "$changes" >"$log" 2>&1
	errors=$(grep -c '^E: ' "$log")
	if [ "$errors" = 0 ] && ! grep -q '^internal error\|^error:' "$log"; then
		pkg_pass lintian "no errors; $(grep -c '^W: ' "$log") warnings"
	else
		pkg_fail lintian "$errors errors (log: $log)"
	fi
	sed 's/^/      lintian: /' "$log"
}

# --- 2. the Debian 12 root -----------------------------------------------

in_root() {
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

mount_root() {
	local dir=$1
	mount -t proc proc "$dir/proc" && mount --rbind /dev "$dir/dev"
}

umount_root() {
	local dir=$1
	umount -l "$dir/dev" 2>/dev/null
	umount "$dir/proc" 2>/dev/null
	return 0
}

# debootstrap minbase, then Dovecot from the root's own apt, with a
# policy-rc.d that keeps every daemon from starting (ours are started by
# hand on test ports). Made once; the stamp marks it complete.
# Speed: the .debs are kept in $MM_PKG_DIR/apt-cache (seeded from the
# host's apt cache, which holds the same bookworm packages) and reused by
# the next root; dpkg in the root skips its fsyncs (force-unsafe-io, a
# throwaway root), which under load is most of debootstrap's time.
make_base_root() {
	local log=$logdir/debootstrap.log t=$SECONDS cache=$MM_PKG_DIR/apt-cache deb
	[ -f "$base/.package-test-base-ready" ] && return 0
	rm -rf "$base"
	mkdir -p "$cache"
	for deb in /var/cache/apt/archives/*.deb; do
		[ -e "$deb" ] && [ ! -e "$cache/${deb##*/}" ] || continue
		ln "$deb" "$cache/" 2>/dev/null || cp "$deb" "$cache/"
	done
	mm_say "package: creating the Debian 12 root (debootstrap, once)"
	if ! debootstrap --variant=minbase --foreign --cache-dir="$cache" \
		"$MM_PKG_SUITE" "$base" "$MM_PKG_MIRROR" >"$log" 2>&1; then
		pkg_show "$log"
		return 1
	fi
	mkdir -p "$base/etc/dpkg/dpkg.cfg.d"
	echo force-unsafe-io >"$base/etc/dpkg/dpkg.cfg.d/package-test-unsafe-io"
	if ! chroot "$base" /debootstrap/debootstrap --second-stage >>"$log" 2>&1; then
		umount_root "$base"
		pkg_show "$log"
		return 1
	fi
	printf '#!/bin/sh\nexit 101\n' >"$base/usr/sbin/policy-rc.d"
	chmod 755 "$base/usr/sbin/policy-rc.d"
	cat >"$base/etc/apt/sources.list" <<-EOF
		deb $MM_PKG_MIRROR $MM_PKG_SUITE main
		deb $MM_PKG_MIRROR $MM_PKG_SUITE-updates main
		deb http://deb.debian.org/debian-security $MM_PKG_SUITE-security main
	EOF
	cp /etc/resolv.conf "$base/etc/resolv.conf"
	mount_root "$base" && mount --bind "$cache" "$base/var/cache/apt/archives" || return 1
	chroot "$base" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive sh -c \
		'apt-get update && apt-get install -y --no-install-recommends \
			dovecot-core dovecot-imapd dovecot-pop3d' \
		>>"$log" 2>&1
	local status=$?
	umount "$base/var/cache/apt/archives"
	umount_root "$base"
	if [ "$status" != 0 ]; then
		pkg_show "$log"
		return 1
	fi
	touch "$base/.package-test-base-ready"
	mm_say "package: root made in $((SECONDS - t)) s"
}

# Every process running inside the test root (Dovecot instances we
# started there), by pid.
kill_root_processes() {
	local link pid
	for link in /proc/[0-9]*/root; do
		[ "$(readlink "$link" 2>/dev/null)" = "$root" ] || continue
		pid=${link#/proc/}
		pid=${pid%/root}
		kill -KILL "$pid" 2>/dev/null
	done
}

cleanup() {
	if [ -d "$root" ]; then
		in_root doveadm stop >/dev/null 2>&1
		in_root doveadm -c /etc/legacy/dovecot.conf stop >/dev/null 2>&1
		kill_root_processes
		umount_root "$root"
		[ "$keep" = yes ] || rm -rf "$root"
	fi
}
trap cleanup EXIT

free_port() {
	"$MM_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- 3. install, inert, move ---------------------------------------------

legacy_password=legacy-Secret-7
# Seeds the legacy Dovecot's maildir for $1: INBOX with 3 messages (one
# \Seen), folder Work with 2.
seed_legacy() {
	local dir=$root/srv/legacy/$1 i
	mkdir -p "$dir"/{cur,new,tmp} "$dir"/.Work/{cur,new,tmp}
	for i in 1 2 3; do
		printf 'From: old@legacy.test\r\nTo: %s\r\nSubject: inbox %d\r\nMessage-ID: <inbox-%d@legacy.test>\r\nDate: Mon, 2 Nov 2026 10:0%d:00 +0000\r\n\r\nbody %d\r\n' \
			"$1" "$i" "$i" "$i" "$i" >"$dir/cur/178000000$i.M1P1.legacy:2,$([ "$i" = 1 ] && echo S)"
	done
	for i in 1 2; do
		printf 'From: boss@legacy.test\r\nSubject: work %d\r\nMessage-ID: <work-%d@legacy.test>\r\nDate: Tue, 3 Nov 2026 10:0%d:00 +0000\r\n\r\nwork %d\r\n' \
			"$i" "$i" "$i" "$i" >"$dir/.Work/cur/178100000$i.M1P1.legacy:2,"
	done
	chown -R 5000:5000 "$root/srv/legacy"
}

write_legacy_config() {
	mkdir -p "$root/etc/legacy"
	cat >"$root/etc/legacy/dovecot.conf" <<-EOF
		# The legacy server: a second Dovecot in the test root, 127.0.0.1 only.
		instance_name = legacy
		base_dir = /run/legacy
		state_dir = /var/lib/legacy
		listen = 127.0.0.1
		protocols = imap
		ssl = no
		disable_plaintext_auth = no
		log_path = /var/log/legacy.log
		mail_location = maildir:/srv/legacy/%u
		passdb {
		  driver = static
		  args = password=$legacy_password
		}
		userdb {
		  driver = static
		  args = uid=5000 gid=5000 home=/srv/legacy/%u
		}
		service imap-login {
		  inet_listener imap {
		    port = $legacy_port
		  }
		  inet_listener imaps {
		    port = 0
		  }
		}
	EOF
}

# The target: Debian's stock configuration, plus what an admin sets in
# local.conf for a test machine (loopback ports, maildir, a passwd-file of
# virtual users instead of the system users). $1: alice's extra userdb
# fields (how the admin enables a user or, from an SQL/LDAP userdb, a
# domain).
write_target_config() {
	sed -i 's/^!include auth-system.conf.ext/#&/' "$root/etc/dovecot/conf.d/10-auth.conf"
	cat >"$root/etc/dovecot/local.conf" <<-EOF
		listen = 127.0.0.1
		log_path = /var/log/dovecot.log
		mail_location = maildir:~/Maildir
		service imap-login {
		  inet_listener imap {
		    port = $target_imap
		  }
		  inet_listener imaps {
		    port = 0
		  }
		}
		service pop3-login {
		  inet_listener pop3 {
		    port = $target_pop3
		  }
		  inet_listener pop3s {
		    port = 0
		  }
		}
		passdb {
		  driver = passwd-file
		  args = scheme=PLAIN username_format=%u /etc/dovecot/users
		}
		userdb {
		  driver = passwd-file
		  args = username_format=%u /etc/dovecot/users
		}
	EOF
	cat >"$root/etc/dovecot/users" <<-EOF
		alice@example.com:{PLAIN}alice-pw:5000:5000::/srv/mail/alice@example.com::$1
		carol@other.test:{PLAIN}carol-pw:5000:5000::/srv/mail/carol@other.test::
	EOF
	mkdir -p "$root/srv/mail"
	chown 5000:5000 "$root/srv/mail"
}

# An IMAP (or POP3) login from the host, as a user's mail client: $1 user,
# $2 password, [$3 pop3].
login() {
	"$MM_PYTHON" - "$1" "$2" "${3:-imap}" "$target_imap" "$target_pop3" <<-'EOF'
		import imaplib, poplib, sys
		user, password, proto, imap_port, pop3_port = sys.argv[1:]
		if proto == "imap":
		    c = imaplib.IMAP4("127.0.0.1", int(imap_port))
		    c.login(user, password)
		    c.select("INBOX")
		    c.logout()
		else:
		    c = poplib.POP3("127.0.0.1", int(pop3_port))
		    c.user(user)
		    c.pass_(password)
		    c.quit()
	EOF
}

# The number of messages in user $1's folder $2.
messages_in() {
	in_root doveadm -f flow mailbox status -u "$1" messages "$2" 2>&1 |
		sed -n 's/.*messages=\([0-9]*\).*/\1/p'
}

# The field $2 of `doveadm mailmove status -u $1` (tab format).
status_field() {
	in_root doveadm -f tab mailmove status -u "$1" 2>/dev/null | "$MM_PYTHON" -c '
import sys
lines = sys.stdin.read().splitlines()
if len(lines) >= 2:
    row = dict(zip(lines[0].split("\t"), lines[1].split("\t")))
    print(row.get(sys.argv[1], ""))' "$2"
}

start_dovecot() {
	in_root dovecot >"$logdir/dovecot-start.log" 2>&1 || return 1
	local i
	for i in $(seq 1 50); do
		"$MM_PYTHON" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
			"$target_imap" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

stop_dovecot() {
	in_root doveadm stop >/dev/null 2>&1
	local i
	for i in $(seq 1 50); do
		[ -s "$root/run/dovecot/master.pid" ] &&
			kill -0 "$(cat "$root/run/dovecot/master.pid")" 2>/dev/null || return 0
		sleep 0.2
	done
}

# Files of ours left in the root, but the users' mail (the checkpoint and
# report in a mail root are part of that mailbox), the logs and /run (a
# tmpfs at boot, where Dovecot's master leaves its listeners' sockets);
# arguments: paths allowed to stay.
leftovers() {
	local allowed=(-e /nothing) path
	for path in "$@"; do
		allowed+=(-e "$path")
	done
	(cd "$root" && find . -xdev \( -path ./proc -o -path ./dev -o -path ./run \
		-o -path ./srv/mail -o -path ./srv/legacy -o -path ./var/log \) -prune \
		-o -name '*mailmove*' -print) | sed 's|^\.||' | grep -vx "${allowed[@]}"
}

# After remove or purge: the configuration is accepted, Dovecot starts and
# a user logs in.
dovecot_still_works() {
	in_root doveconf -n >/dev/null 2>&1 && start_dovecot &&
		login alice@example.com alice-pw
}

package_in_root() {
	local t=$SECONDS log=$logdir/root.log state i
	cat "$logdir/make-root.out"
	if [ "$root_made" != 0 ]; then
		pkg_fail root "debootstrap or apt in the root failed (log: $logdir/debootstrap.log)"
		return
	fi
	rm -rf "$root"
	cp -a "$base" "$root"
	mount_root "$root" || { pkg_fail root "could not mount /proc and /dev"; return; }
	pkg_pass root "fresh Debian 12 root with $(in_root dpkg-query -W -f '${Version}' dovecot-core) dovecot-core in $((SECONDS - t)) s"

	cp "$deb" "$root/tmp/"
	if in_root apt-get install -y --no-install-recommends "/tmp/$(basename "$deb")" >"$log" 2>&1 &&
		in_root dpkg -s dovecot-mailmove | grep -q '^Status: install ok installed'; then
		pkg_pass install "apt-get install ./$(basename "$deb")"
	else
		pkg_fail install "(log: $log)"
		pkg_show "$log"
		return
	fi
	rm -f "$root/tmp/$(basename "$deb")"
	sed 's/^/      install: /' "$log" | grep -i 'dovecot-mailmove\|error\|warn'

	legacy_port=$(free_port)
	target_imap=$(free_port)
	target_pop3=$(free_port)
	write_legacy_config
	write_target_config ""
	seed_legacy alice@example.com
	if in_root doveconf -n >"$logdir/doveconf.txt" 2>&1 &&
		grep -q '^service mailmove ' "$logdir/doveconf.txt" &&
		grep -q 'mail_plugins = .*mailmove' "$logdir/doveconf.txt"; then
		pkg_pass doveconf "doveconf -n accepts it (plugin and services loaded)"
	else
		pkg_fail doveconf "$(head -n 5 "$logdir/doveconf.txt")"
		return
	fi

	if ! in_root dovecot -c /etc/legacy/dovecot.conf >"$logdir/legacy-start.log" 2>&1 ||
		! start_dovecot; then
		pkg_fail start "Dovecot did not start"
		pkg_show "$logdir/dovecot-start.log"
		pkg_show "$root/var/log/dovecot.log"
		return
	fi

	# Inert as installed: a login moves nothing and queues nothing.
	local rows
	login alice@example.com alice-pw && login alice@example.com alice-pw pop3
	sleep 1
	local files inbox_count
	rows=$(in_root doveadm -f tab mailmove status -A 2>&1 | tail -n +2)
	files=$(find "$root/srv/mail" -name 'dovecot-mailmove*')
	inbox_count=$(messages_in alice@example.com INBOX)
	if [ -z "$rows" ] && [ -z "$files" ] && [ "$inbox_count" = 0 ]; then
		pkg_pass inert "IMAP and POP3 logins queued nothing; no job, nothing moved"
	else
		pkg_fail inert "status -A: ${rows:-(none)}; files: ${files:-none}; INBOX: '$inbox_count'"
	fi

	# The admin guide's metrics (appended to the conffile, on a free port),
	# then one user enabled with a userdb field ("Enable it for one domain").
	local metrics_port
	metrics_port=$(free_port)
	in_root sh -c 'cat /usr/share/doc/dovecot-mailmove/metrics.conf >> /etc/dovecot/conf.d/90-mailmove.conf'
	sed -i "s/port = 9900/port = $metrics_port/" "$root/etc/dovecot/conf.d/90-mailmove.conf"
	# The legacy password in the vault (credentials set, password on
	# stdin): this also creates the vault key backed up below.
	if printf '%s\n' "$legacy_password" |
		in_root doveadm mailmove credentials set -u alice@example.com >"$logdir/credentials.log" 2>&1; then
		pkg_pass credentials "doveadm mailmove credentials set -u alice@example.com"
	else
		pkg_fail credentials "$(head -n 3 "$logdir/credentials.log")"
	fi
	# The legacy Dovecot here has no TLS: STARTTLS off for this source.
	write_target_config "userdb_mailmove_source=imap://127.0.0.1:$legacy_port userdb_mailmove_source_starttls=no"
	in_root doveadm reload
	sleep 1
	login alice@example.com alice-pw && login carol@other.test carol-pw
	for i in $(seq 1 120); do
		state=$(status_field alice@example.com state)
		case $state in done | failed | auth-failed) break ;; esac
		sleep 0.5
	done
	# The worker saves the user's move-done note into INBOX (the product's
	# default, mailmove_user_notices = yes) after it reports done.
	local inbox work notes
	for i in $(seq 1 20); do
		notes=$(in_root doveadm search -u alice@example.com mailbox INBOX \
			header X-Mailmove-Notice done 2>/dev/null | wc -l)
		[ "$notes" = 0 ] || break
		sleep 0.5
	done
	inbox=$(messages_in alice@example.com INBOX)
	work=$(messages_in alice@example.com Work)
	if [ "$state" = done ] && [ "$inbox" = 4 ] && [ "$notes" = 1 ] && [ "$work" = 2 ] &&
		[ "$(status_field alice@example.com messages_done)" = 5 ]; then
		pkg_pass move "a login moved 5 messages in 2 folders, and the move-done note is in INBOX; status: done"
	else
		pkg_fail move "state '$state' ($(status_field alice@example.com last_error)); INBOX '$inbox' (3 moved + 1 note expected; notes: '$notes'), Work '$work'"
		pkg_show "$root/var/log/dovecot.log"
	fi
	in_root doveadm mailmove status -u alice@example.com | sed 's/^/      status: /'
	# Every metric the Grafana dashboard queries is served.
	local served missing=()
	served=$(curl -s "http://127.0.0.1:$metrics_port/metrics")
	for name in $(grep -o 'dovecot_mailmove_[a-z_]*' "$MM_TOP/doc/grafana-dashboard.json" | sort -u); do
		grep -q "^$name[{ ]" <<<"$served" && continue
		# Dovecot prints a group_by metric's labelled lines from its
		# first event on, before that its _count line (no failure yet).
		case $name in
		*_total) grep -q "^${name%_total}_count " <<<"$served" && continue ;;
		esac
		missing+=("$name")
	done
	if [ -n "$served" ] && [ "${#missing[@]}" = 0 ]; then
		pkg_pass metrics "the exporter serves every dovecot_mailmove_* metric of the dashboard"
	else
		pkg_fail metrics "not served: ${missing[*]:-(no answer)}"
	fi
	grep '^dovecot_mailmove' <<<"$served" | sed 's/^/      metrics: /'
	# The admin guide's vault key backup.
	in_root install -m 0600 /var/lib/dovecot/mailmove/vault.key /root/mailmove-vault.key.backup
	if cmp -s "$root/var/lib/dovecot/mailmove/vault.key" "$root/root/mailmove-vault.key.backup" &&
		[ "$(stat -c %a "$root/root/mailmove-vault.key.backup")" = 600 ]; then
		pkg_pass vault-key-backup "install -m 0600 ... vault.key: an identical root-only copy"
	else
		pkg_fail vault-key-backup "$(ls -l "$root/var/lib/dovecot/mailmove/" 2>&1 | tr '\n' ' ')"
	fi
	rm -f "$root/root/mailmove-vault.key.backup"
	state=$(status_field carol@other.test state)
	if [ "$state" = none ]; then
		pkg_pass not-enabled "carol@other.test (no mailmove_source) was not queued"
	else
		pkg_fail not-enabled "carol@other.test is '$state'"
	fi
	local reported
	reported=$(in_root doveadm -f flow mailmove version)
	if [ "${reported%% *}" = "version=$version" ] &&
		grep -q "mailmove: Info: dovecot-mailmove $version started" "$root/var/log/dovecot.log"; then
		pkg_pass version-reported "doveadm mailmove version ($reported) and the service's log"
	else
		pkg_fail version-reported "doveadm: '$reported'; log: $(grep -o 'dovecot-mailmove [^ ]* started' "$root/var/log/dovecot.log" | head -n 1)"
	fi

	# Roll back (README): pause every move; a login does not start it again.
	in_root doveadm mailmove pause -A >"$logdir/pause.log" 2>&1
	login alice@example.com alice-pw
	sleep 1
	state=$(status_field alice@example.com state)
	if [ "$state" = paused ]; then
		pkg_pass pause "doveadm mailmove pause -A: alice paused, her next login starts nothing"
	else
		pkg_fail pause "alice is '$state' ($(head -n 3 "$logdir/pause.log"))"
	fi

	# apt-get remove: everything but the conffile goes, and Dovecot
	# (restarted, as dovecot-core's module trigger does) still starts and
	# logs users in.
	stop_dovecot
	in_root apt-get remove -y dovecot-mailmove >"$log" 2>&1
	local left
	# dpkg keeps its record of a removed package's conffile until purge.
	left=$(leftovers /etc/dovecot/conf.d/90-mailmove.conf /var/lib/dovecot/mailmove \
		'/var/lib/dpkg/info/dovecot-mailmove\..*')
	if [ -z "$left" ] && [ -f "$root/etc/dovecot/conf.d/90-mailmove.conf" ] &&
		dovecot_still_works; then
		pkg_pass remove "only the conffile is left (and the state in /var/lib/dovecot/mailmove); Dovecot starts, logins work"
	else
		pkg_fail remove "left: ${left:-none}"
		pkg_show "$log" 10
		pkg_show "$root/var/log/dovecot.log" 10
	fi
	echo "      after remove: $(ls "$root/var/lib/dovecot/mailmove" 2>/dev/null | tr '\n' ' ')in /var/lib/dovecot/mailmove"

	stop_dovecot
	in_root apt-get purge -y dovecot-mailmove >"$log" 2>&1
	left=$(leftovers)
	if [ -z "$left" ] && ! in_root dpkg -s dovecot-mailmove >/dev/null 2>&1 &&
		dovecot_still_works; then
		pkg_pass purge "no file of ours left outside the users' mail; Dovecot starts, logins work"
	else
		pkg_fail purge "left: ${left:-none}"
		pkg_show "$log" 10
	fi
	stop_dovecot
	in_root doveadm -c /etc/legacy/dovecot.conf stop >/dev/null 2>&1
}

t0=$SECONDS
# The root is needed first: the .deb is built in a copy of it.
make_base_root >"$logdir/make-root.out" 2>&1
root_made=$?
if build_deb; then
	check_version
	check_contents
	check_man_pages
	check_lintian
	package_in_root
fi
mm_say "package test took $((SECONDS - t0)) s"
pkg_summary
