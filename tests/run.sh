#!/bin/sh
# Run the C unit tests (cmocka binaries given as arguments) and the node
# integration tests, keep the logs of failures only, and end with one line:
#   check: N passed, N failed
# Exit status: 0 when nothing failed. The node tests as a whole are bounded
# by SITEGATE_TEST_TIMEOUT seconds (default 1800), so a hung peer can never
# hold CI.
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

if [ "$mode" != integration ]; then
	for bin in "$@"; do
		name=$(basename "$bin")
		log="$logs/$name.log"
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
		printf '  unit %-28s %4d ok %4d failed\n' "$name" "$p" "$f"
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" -ne 0 ] && show "$name" "$log"
	done
fi

if [ "$mode" != unit ]; then
	log="$logs/integration.log"
	files=$(cd "$top/tests" && ls integration/*.test.js 2>/dev/null)
	if [ -n "$files" ]; then
		# shellcheck disable=SC2086
		(cd "$top/tests" && \
		    SITEGATE_BIN="$top/build/asan/sitegate" \
		    SITEGATE_TOOLS="$top/build/asan/tools" \
		    SITEGATE_SHIM="$top/build/shim/crashpoint.so" \
		    SITEGATE_TMP="$top/build/test-tmp" \
		    timeout --kill-after=10 "${SITEGATE_TEST_TIMEOUT:-1800}" \
		    node --test --test-reporter=tap $files) >"$log" 2>&1
		rc=$?
		p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
		f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
		p=${p:-0}
		f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
		fi
		printf '  integration %-21s %4d ok %4d failed\n' "(node --test)" "$p" "$f"
		passed=$((passed + p))
		failed=$((failed + f))
		[ "$f" -ne 0 ] && show "integration" "$log"
	fi
fi

echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
