#!/bin/sh
# Run the C unit tests (cmocka binaries given as arguments) and the node
# integration tests, one file after another, with a line per file as it
# finishes:
#   unit test_store                      31 ok    0 failed    2.4 s
#   integration web_api.test.js          12 ok    0 failed   34.2 s
# keep the logs of failures only (build/test-logs/<file>.log; the browser
# test's screenshots web-*.png stay there too), and end with one line:
#   check: N passed, N failed
# Exit status: 0 when nothing failed. The node tests as a whole are bounded
# by SITEGATE_TEST_TIMEOUT seconds (default 1800), so a hung peer can never
# hold CI: each file gets what is left of it, and the files it leaves no
# time for count as failed.
#
# usage: tests/run.sh [--unit-only | --integration-only] [UNIT_BINARY...]
set -u

mode=all
case "${1:-}" in
--unit-only) mode=unit; shift ;;
--integration-only) mode=integration; shift ;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
logs="$top/build/test-logs"
rm -rf "$logs"
mkdir -p "$logs"
passed=0
failed=0

# Print at most the last 300 lines of a failure's log.
show() {
	echo "---- $1 (full log: $2)"
	tail -n 300 "$2"
	echo "----"
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# One file's line: kind name passed failed start_ms. Adds to the totals;
# a failure's log is shown and kept, a pass's removed.
report() {
	ms=$(($(now_ms) - $5))
	printf '  %-11s %-24s %4d ok %4d failed %4d.%d s\n' "$1" "$2" "$3" "$4" \
	    $((ms / 1000)) $((ms % 1000 / 100))
	passed=$((passed + $3))
	failed=$((failed + $4))
	if [ "$4" -ne 0 ]; then
		show "$2" "$log"
	else
		rm -f "$log"
	fi
}

if [ "$mode" != integration ]; then
	for bin in "$@"; do
		name=$(basename "$bin")
		log="$logs/$name.log"
		start=$(now_ms)
		"$top/$bin" >"$log" 2>&1
		rc=$?
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		p=${p:-0}
		f=${f:-0}
		# A crash before cmocka's summary still counts as a failure.
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
		fi
		report unit "$name" "$p" "$f" "$start"
	done
fi

if [ "$mode" != unit ]; then
	deadline=$(($(now_ms) / 1000 + ${SITEGATE_TEST_TIMEOUT:-1800}))
	for file in $(cd "$top/tests" && ls integration/*.test.js 2>/dev/null); do
		name=$(basename "$file")
		log="$logs/$name.log"
		start=$(now_ms)
		left=$((deadline - start / 1000))
		if [ "$left" -le 0 ]; then
			echo "not run: SITEGATE_TEST_TIMEOUT" \
			    "(${SITEGATE_TEST_TIMEOUT:-1800} s) used up" >"$log"
			report integration "$name" 0 1 "$start"
			continue
		fi
		(cd "$top/tests" && \
		    SITEGATE_BIN="$top/build/asan/sitegate" \
		    SITEGATE_TOOLS="$top/build/asan/tools" \
		    SITEGATE_SHIM="$top/build/shim/crashpoint.so" \
		    SITEGATE_TMP="$top/build/test-tmp" \
		    timeout --kill-after=10 "$left" \
		    node --test --test-reporter=tap "$file") >"$log" 2>&1
		rc=$?
		p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
		f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
		p=${p:-0}
		f=${f:-0}
		case $rc in
		124 | 137) echo "run.sh: stopped by SITEGATE_TEST_TIMEOUT" \
		    "(${SITEGATE_TEST_TIMEOUT:-1800} s in all)" >>"$log" ;;
		esac
		# A crash, or the timeout, before node's summary still fails.
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
		fi
		report integration "$name" "$p" "$f" "$start"
	done
fi

echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
