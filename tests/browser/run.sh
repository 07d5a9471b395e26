#!/bin/bash
# Browser tests of the H5 pages: Debian's headless Chromium through chromedriver.
#
#   EDITIONC=build/editionc EDITIOND=build/editiond bash tests/browser/run.sh
#
# Builds the six packs into a temporary directory, starts editiond on a free
# loopback port with a fresh data directory (a newly seeded sandbox bank) and
# chromedriver on another, then runs tests/browser/webdriver.c, which logs in
# as the demo customers, transfers, approves, compares font sizes, checks touch
# targets and a 360px screen, follows every link of each edition, and saves a
# screenshot of every edition's home under tests/artifacts/ (BROWSER_SHOTS_ALL=1:
# of every page). Everything it started is stopped on exit; a sanitizer report
# of editiond counts as a failure. Prints "N passed, N failed"; exits 1 on failure.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
EDITIONC=${EDITIONC:-$ROOT/build/editionc}
EDITIOND=${EDITIOND:-$ROOT/build/editiond}
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
ARTIFACTS=${ARTIFACTS:-$ROOT/tests/artifacts}

case $EDITIONC in /*) ;; *) EDITIONC=$ROOT/$EDITIONC ;; esac
case $EDITIOND in /*) ;; *) EDITIOND=$ROOT/$EDITIOND ;; esac

fail() {
	echo "browser: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

for tool in "$EDITIONC" "$EDITIOND" "$CHROMEDRIVER" /usr/bin/chromium; do
	[ -x "$tool" ] || fail "cannot run '$tool'"
done

TMP=$(mktemp -d /tmp/browser-tests.XXXXXX) || fail "cannot make a temporary directory"
SERVER_PID=
DRIVER_PID=
cleanup() {
	[ -n "$DRIVER_PID" ] && kill "$DRIVER_PID" 2>/dev/null && wait "$DRIVER_PID" 2>/dev/null
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The driver program: libcurl + jansson + libsodium, no Node.
gcc -std=c17 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-o "$TMP/webdriver" "$ROOT/tests/browser/webdriver.c" \
	$(pkg-config --cflags --libs libcurl jansson libsodium) || fail "cannot build tests/browser/webdriver.c"
WD=$TMP/webdriver

"$EDITIONC" build "$ROOT/editions" -o "$TMP/packs" >"$TMP/editionc.log" 2>&1 ||
	{ cat "$TMP/editionc.log" >&2; fail "editionc could not build the editions"; }

PORT=$("$WD" --free-port) || fail "no free port"
"$EDITIOND" --packs "$TMP/packs" --listen "127.0.0.1:$PORT" --data "$TMP/data" \
	--log "$TMP/editiond.log" >"$TMP/editiond.out" 2>&1 &
SERVER_PID=$!
"$WD" --wait "http://127.0.0.1:$PORT/healthz" 30 ||
	{ tail -20 "$TMP/editiond.out" "$TMP/editiond.log" >&2 2>/dev/null; fail "editiond did not start"; }

DPORT=$("$WD" --free-port) || fail "no free port"
"$CHROMEDRIVER" --port="$DPORT" --allowed-ips=127.0.0.1 >"$TMP/chromedriver.log" 2>&1 &
DRIVER_PID=$!
"$WD" --wait "http://127.0.0.1:$DPORT/status" 30 || fail "chromedriver did not start"

mkdir -p "$ARTIFACTS" || fail "cannot create '$ARTIFACTS'"
"$WD" --driver "http://127.0.0.1:$DPORT" --base "http://127.0.0.1:$PORT" \
	--artifacts "$ARTIFACTS" --profile "$TMP/profile" | tee "$TMP/webdriver.out" | grep -v '^[0-9]* passed, [0-9]* failed$'
read -r passed _ failed _ < <(tail -n 1 "$TMP/webdriver.out")
case "$passed$failed" in *[!0-9]*|'') passed=0; failed=1 ;; esac

# One more check: the server stops cleanly, with no sanitizer report (when built with MODE=check).
kill "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/editiond.out" 2>/dev/null; then
	echo "FAIL editiond: sanitizer report"
	grep -A 12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/editiond.out" | head -40
	failed=$((failed + 1))
else
	echo "ok   editiond: no sanitizer report"
	passed=$((passed + 1))
fi
if [ "$failed" -ne 0 ]; then
	echo "--- last lines of the editiond log" >&2
	tail -n 15 "$TMP/editiond.log" "$TMP/editiond.out" >&2 2>/dev/null
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
