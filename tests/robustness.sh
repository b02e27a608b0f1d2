# shellcheck shell=bash
# Sourced by ./check.sh after tests/setup.sh: the robustness phases.
#
# - The unit tests (make check) built with AddressSanitizer and
#   UndefinedBehaviorSanitizer in a tree of their own, _build/asan, made
#   from `make distdir`: the in-tree build that check.sh installs is left
#   alone (automake refuses a second, out-of-tree configure of a source
#   directory that is configured in-tree).
# - A short run of each libFuzzer target (fuzz/Makefile) from its seed
#   corpus in fuzz/corpus/. The long runs are in README.md ("Fuzzing").
#
# Both print one PASS/FAIL line per program and add to check.sh's
# passed/failed counters.

MM_ASAN_DIR=$MM_TOP/_build/asan
MM_FUZZ_DIR=${MM_FUZZ_DIR:-$MM_TOP/_build/fuzz}
# Seconds of each target's short run.
MM_FUZZ_SECONDS=${MM_FUZZ_SECONDS:-20}
MM_FUZZ_TARGETS=(imap-response pop3-reply folder-names folder-rule csv-import job-journal)
MM_SANITIZE_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1"
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

mm_count() {
	if [ "$1" = PASS ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
}

# Copies the distributed sources to $MM_ASAN_DIR/src (keeping their times,
# so a rerun rebuilds only what changed), configures them once with the
# sanitizers and builds the engine libraries the unit tests link.
mm_build_sanitized() {
	local log="$MM_LOGDIR/asan-build.log" stage="$MM_ASAN_DIR/stage" src="$MM_ASAN_DIR/src"
	(
		set -e
		rm -rf "$stage"
		mkdir -p "$MM_ASAN_DIR" "$src"
		# distdir is taken relative to the top directory
		make -C "$MM_TOP" distdir distdir="${stage#"$MM_TOP"/}"
		cp -a "$stage/." "$src/"
		rm -rf "$stage"
		cd "$src"
		if [ ! -f config.status ]; then
			./configure "${MM_CONFIGURE_ARGS[@]}" \
				CFLAGS="$MM_SANITIZE_FLAGS" CXXFLAGS="$MM_SANITIZE_FLAGS" \
				LDFLAGS="-fsanitize=address,undefined"
		fi
		# Only the engine: the unit tests need no Dovecot glue.
		make -C src -j"$MM_JOBS" $(sed -n 's/^noinst_LTLIBRARIES = *//p; /^\tlibmailmove_[a-z0-9]*\.la/p' src/Makefile.am |
			tr -d '\\' | tr ' \t' '\n\n' | grep -v -e '^$' -e glue | sort -u)
	) >"$log" 2>&1
}

# make check in the sanitized tree; one line per test program.
run_sanitized_unit_tests() {
	local log="$MM_LOGDIR/asan-check.log" tests="$MM_ASAN_DIR/src/tests" result name summary
	if ! mm_build_sanitized; then
		echo "FAIL  asan/build  (see $MM_LOGDIR/asan-build.log)"
		tail -n 30 "$MM_LOGDIR/asan-build.log" | sed 's/^/      | /'
		mm_count FAIL
		return
	fi
	local status=0
	# The sanitizers make the code about four times slower (check-assert.h's
	# sanitizer_slowdown): Check's per-test timeouts, hang detectors, are
	# stretched by the same factor.
	CK_TIMEOUT_MULTIPLIER=4 make -C "$tests" -j"$MM_JOBS" check >"$log" 2>&1 || status=$?
	local any=0
	while read -r result name; do
		[ -n "$name" ] || continue
		any=1
		summary=$(grep -E '^[0-9]+%: Checks: ' "$tests/$name.log" 2>/dev/null | tail -n 1)
		case ${result%:} in
		PASS | SKIP) printf 'PASS  asan/%s  %s\n' "$name" "$summary"; mm_count PASS ;;
		*)
			printf 'FAIL  asan/%s  %s\n' "$name" "$summary"
			grep -E -A30 'ERROR: AddressSanitizer|runtime error|ERROR: LeakSanitizer|Failure|Error' \
				"$tests/$name.log" 2>/dev/null | head -n 60 | sed 's/^/      | /'
			mm_count FAIL
			;;
		esac
	done < <(grep -E '^(PASS|FAIL|XPASS|XFAIL|ERROR|SKIP): ' "$log")
	if [ "$status" != 0 ] && [ "$any" = 0 ]; then
		printf 'FAIL  asan/make-check  (make check exited %d)\n' "$status"
		tail -n 30 "$log" | sed 's/^/      | /'
		mm_count FAIL
	fi
}

# Builds the fuzz targets and runs each for MM_FUZZ_SECONDS from its seed
# corpus (new inputs go to a scratch corpus, not into the repository).
run_fuzz_targets() {
	local log="$MM_LOGDIR/fuzz-build.log" target out
	if ! make -C "$MM_TOP" -f fuzz/Makefile -j"$MM_JOBS" BUILD="$MM_FUZZ_DIR" >"$log" 2>&1; then
		echo "FAIL  fuzz/build  (see $log)"
		tail -n 30 "$log" | sed 's/^/      | /'
		mm_count FAIL
		return
	fi
	for target in "${MM_FUZZ_TARGETS[@]}"; do
		out="$MM_LOGDIR/fuzz-$target.log"
		rm -rf "$MM_FUZZ_DIR/short/$target"
		mkdir -p "$MM_FUZZ_DIR/short/$target"
		if "$MM_FUZZ_DIR/fuzz-$target" -max_total_time="$MM_FUZZ_SECONDS" -max_len=4096 \
			-timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
			-artifact_prefix="$MM_FUZZ_DIR/short/$target-" \
			"$MM_FUZZ_DIR/short/$target" "$MM_TOP/fuzz/corpus/$target" >"$out" 2>&1; then
			printf 'PASS  fuzz/%s  %s executions in %s s\n' "$target" \
				"$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")" "$MM_FUZZ_SECONDS"
			mm_count PASS
		else
			printf 'FAIL  fuzz/%s  (crash input in %s)\n' "$target" "$MM_FUZZ_DIR/short/"
			grep -E -A25 '^==[0-9]+==ERROR|runtime error|deadly signal|ERROR: libFuzzer' "$out" |
				head -n 40 | sed 's/^/      | /'
			mm_count FAIL
		fi
	done
}
