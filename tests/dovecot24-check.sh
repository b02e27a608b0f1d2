#!/bin/bash
# `./check.sh --dovecot 2.4 [run.py options]`: the same checks against
# Dovecot 2.4.1 (Debian 13), in the Debian 13 root of
# tests/dovecot24-root.sh (made once, cached under _build/dovecot24/):
#
#   1. the root (debootstrap, only when it is not cached) and the legacy
#      servers' packages in it (apt-get, only when missing);
#   2. this tree's files (git ls-files: tracked and new, not ignored) are
#      copied into the root's /build/dovecot-mailmove with their
#      modification times, so the root's build stays incremental;
#   3. in the root (chroot, /proc and /dev mounted in a private mount
#      namespace): ./check.sh with MM_DOVECOT24_INSIDE=1 - configure
#      (which finds the 2.4 API), make, make install into the root, the
#      unit tests and the integration scenarios, whose Dovecot instances
#      (the targets and the legacy Dovecot servers) are the root's 2.4.1.
#
# Ends with the inner check.sh's "N passed, M failed" line and exits with
# its status. Prints each phase's time.
set -u
# shellcheck source=tests/dovecot24-root.sh
. "$(dirname "$0")/dovecot24-root.sh" --lib

if [ -z "${MM_D24_UNSHARED:-}" ]; then
	if ! mm_require_root; then
		echo "0 passed, 1 failed"
		exit 1
	fi
	MM_D24_UNSHARED=1 exec unshare -m --propagation private "$0" "$@"
fi

started=$SECONDS
t=$SECONDS
if ! mm_d24_make_root; then
	echo "FAIL  dovecot24/root  (debootstrap or apt-get failed: $MM_D24_DIR/debootstrap.log, apt.log)"
	echo "0 passed, 1 failed"
	exit 1
fi
mm_say "Debian 13 root ($(mm_d24_run dovecot --version)) done in $((SECONDS - t)) s"

t=$SECONDS
build=$MM_D24_ROOT/build/dovecot-mailmove
mkdir -p "$build"
(cd "$MM_TOP" && git ls-files -z -co --exclude-standard |
	xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	tar --null -T - -cf -) | tar -xf - -C "$build" || {
	echo "FAIL  dovecot24/copy  (could not copy the tree; needs a git checkout)"
	echo "0 passed, 1 failed"
	exit 1
}
mm_say "sources copied into the root in $((SECONDS - t)) s"

mm_d24_mount || {
	echo "FAIL  dovecot24/mount"
	echo "0 passed, 1 failed"
	exit 1
}
cp /etc/resolv.conf "$MM_D24_ROOT/etc/resolv.conf" 2>/dev/null
t=$SECONDS
if ! mm_d24_test_packages; then
	mm_d24_umount
	echo "FAIL  dovecot24/packages  (apt-get in the root failed: $MM_D24_DIR/apt.log)"
	echo "0 passed, 1 failed"
	exit 1
fi
mm_say "legacy servers' packages in the root done in $((SECONDS - t)) s"
mkdir -p "$MM_LOGDIR"
log=$MM_LOGDIR/dovecot24-check.log
mm_d24_run MM_DOVECOT24_INSIDE=1 MM_JOBS="$MM_JOBS" \
	MM_D24_SKIP_UNIT_TESTS="${MM_D24_SKIP_UNIT_TESTS:-}" \
	/build/dovecot-mailmove/check.sh "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
mm_d24_umount
mm_say "dovecot 2.4 total $((SECONDS - started)) s"
# The inner run's summary, last (a run that died without one failed).
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
echo "${summary:-0 passed, 1 failed}"
[ -n "$summary" ] || status=1
exit "$status"
