#!/bin/bash
# Builds, installs and tests dovecot-mailmove on Debian bookworm, as root:
# installs missing packages (without starting the system Dovecot), runs
# autogen/configure (when needed), make, make install, the Check unit tests
# (make check) and the integration scenarios against real Dovecot instances.
#
# Prints one line per unit test program and per scenario and, last,
# exactly "N passed, M failed"; exits non-zero when anything failed.
# Logs of every step: _build/logs/. Options are passed to
# tests/integration/run.py (e.g. -k TEXT, --keep).
set -u
cd "$(dirname "$0")" || exit 1

# --dovecot 2.4: the same checks against Dovecot 2.4 in a Debian 13 root
# (tests/dovecot24-check.sh runs this script there with
# MM_DOVECOT24_INSIDE=1); --dovecot 2.3 is the default run.
if [ "${1:-}" = --dovecot ]; then
	case ${2:-} in
	2.4) shift 2; exec tests/dovecot24-check.sh "$@" ;;
	2.3) shift 2 ;;
	*) echo "error: --dovecot takes 2.3 or 2.4" >&2; exit 2 ;;
	esac
fi
# shellcheck source=tests/setup.sh
. tests/setup.sh
# shellcheck source=tests/robustness.sh
. tests/robustness.sh

if ! mm_require_root; then
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
skipped=
started=$SECONDS

# The runner stops its Dovecot instances itself; this is the safety net
# for a runner that was killed.
workdir=$(mktemp -d /tmp/mailmove-it.XXXXXX)
cleanup() {
	local dir
	for dir in "$workdir"/*/; do
		[ -d "$dir" ] && mm_stop_instances "$dir"
	done
	[ "$keep_workdir" = yes ] || rm -rf "$workdir"
}
keep_workdir=no
for arg in "$@"; do
	[ "$arg" = --keep ] && keep_workdir=yes
done
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

phase_done() {
	mm_say "$1 done in $((SECONDS - $2)) s"
}

# make check; one line per test program with its Check summary, the whole
# log of a failing program.
run_unit_tests() {
	local log="$MM_LOGDIR/make-check.log" status=0 results result name summary
	(cd "$MM_TOP" && make -j"$MM_JOBS" check) >"$log" 2>&1 || status=$?
	results=$(grep -E '^(PASS|FAIL|XPASS|XFAIL|ERROR|SKIP): ' "$log")
	local unit_failed=0
	while read -r result name; do
		[ -n "$name" ] || continue
		result=${result%:}
		summary=$(grep -E '^[0-9]+%: Checks: ' "$MM_TOP/tests/$name.log" 2>/dev/null | tail -n 1)
		case $result in
		PASS | XFAIL | SKIP)
			printf 'PASS  unit/%s  %s\n' "$name" "${summary:-($result)}"
			passed=$((passed + 1))
			;;
		*)
			printf 'FAIL  unit/%s  %s\n' "$name" "${summary:-($result)}"
			sed 's/^/      | /' "$MM_TOP/tests/$name.log" 2>/dev/null
			failed=$((failed + 1))
			unit_failed=$((unit_failed + 1))
			;;
		esac
	done <<<"$results"
	if [ "$status" != 0 ] && [ "$unit_failed" = 0 ]; then
		# It failed before running a test (e.g. a test did not compile).
		printf 'FAIL  unit/make-check  (make check exited %d)\n' "$status"
		tail -n 40 "$log" | sed 's/^/      | /'
		failed=$((failed + 1))
	fi
}

# The scenarios; their runner's last line is "integration: N passed, M failed".
run_integration() {
	local log="$MM_LOGDIR/integration.log"
	"$MM_PYTHON" "$MM_TOP/tests/integration/run.py" --workdir "$workdir" "$@" 2>&1 | tee "$log"
	count_summary integration "$log" "the runner"
	# Scenarios that cannot run here say why on their SKIP lines; they
	# count as neither passed nor failed.
	skipped=$(grep -E '^integration: [0-9]+ skipped$' "$log" | tail -n 1 | cut -d' ' -f2)
}

# Adds the counts of a phase's last line "$1: N passed, M failed" in log
# $2 to the totals; a phase that ended without it ($3) is one failure.
count_summary() {
	local line n_passed n_failed
	line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed\$" "$2" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL  $1  ($3 ended without its summary line)"
		failed=$((failed + 1))
		return
	fi
	read -r _ n_passed _ n_failed _ <<<"$line"
	passed=$((passed + n_passed))
	failed=$((failed + n_failed))
}

t=$SECONDS
if [ -n "${MM_DOVECOT24_INSIDE:-}" ]; then
	# The Debian 13 root brings its packages (tests/dovecot24-root.sh).
	mm_say "packages: those of the Debian 13 root ($(dovecot --version))"
elif ! mm_install_packages; then
	echo "0 passed, 1 failed"
	exit 1
fi
phase_done packages "$t"

t=$SECONDS
if mm_build_and_install; then
	phase_done build "$t"
	t=$SECONDS
	if [ -n "${MM_DOVECOT24_INSIDE:-}" ] && [ -n "${MM_D24_SKIP_UNIT_TESTS:-}" ]; then
		# .ci/run: they have no Dovecot in them and its 2.3 run has
		# just run them; building them again costs minutes.
		mm_say "not run on Dovecot 2.4: the unit tests (MM_D24_SKIP_UNIT_TESTS is set, by .ci/run; the 2.3 run runs them)"
	else
		mm_say "unit tests (make check)"
		run_unit_tests
		phase_done "unit tests" "$t"
	fi
	if [ -n "${MM_DOVECOT24_INSIDE:-}" ]; then
		# They test the C++ engine, which is the same on both versions
		# and has no Dovecot in it: the 2.3 run covers them.
		mm_say "not run on Dovecot 2.4: sanitized unit tests and fuzzing (engine only; ./check.sh runs them)"
	else
		t=$SECONDS
		mm_say "unit tests with AddressSanitizer and UndefinedBehaviorSanitizer"
		run_sanitized_unit_tests
		phase_done "sanitized unit tests" "$t"
		t=$SECONDS
		mm_say "fuzz targets, $MM_FUZZ_SECONDS s each"
		run_fuzz_targets
		phase_done "fuzzing" "$t"
	fi
	t=$SECONDS
	mm_say "integration tests"
	run_integration "$@"
else
	echo "FAIL  build"
	failed=$((failed + 1))
	# Without a product only the harness's own tests can run.
	t=$SECONDS
	mm_say "integration tests of the harness only (no product)"
	run_integration "$@" test_harness
fi
phase_done "integration tests" "$t"

# The Debian package: built, checked, installed into a debootstrap root
# and removed again (tests/package-test.sh); its last line is
# "package: N passed, M failed". -k runs only the integration scenarios.
# MM_SKIP_PACKAGE_TEST=1 leaves it out, for local iteration only (it
# says so in the output); CI and a plain ./check.sh always run it.
run_package_test() {
	local log="$MM_LOGDIR/package-test.log"
	"$MM_TOP/tests/package-test.sh" 2>&1 | tee "$log"
	count_summary package "$log" "the package test"
}
case " $* " in
*" -k "*) ;;
*)
	if [ -n "${MM_DOVECOT24_INSIDE:-}" ]; then
		mm_say "not run on Dovecot 2.4: the package test (Debian 12 only so far)"
	elif [ -n "${MM_SKIP_PACKAGE_TEST:-}" ]; then
		mm_say "package test SKIPPED (MM_SKIP_PACKAGE_TEST is set; never in CI)"
	else
		t=$SECONDS
		mm_say "package test (tests/package-test.sh)"
		run_package_test
		phase_done "package test" "$t"
	fi
	;;
esac
mm_say "total $((SECONDS - started)) s"
[ -n "$skipped" ] && mm_say "$skipped scenarios skipped (their SKIP lines say why)"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
