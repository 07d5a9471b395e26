#!/bin/bash
# Integration tests of editiond: packs built from editions/ by $EDITIONC, the
# real $EDITIOND on a free 127.0.0.1 port, real HTTP (tests/integration/itest.c,
# built here with libcurl), plus start-up refusals, reload and shutdown.
# Prints "N passed, N failed" last; exits non-zero when anything failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
EDITIONC=${EDITIONC:-$ROOT/build/editionc}
EDITIOND=${EDITIOND:-$ROOT/build/editiond}
case $EDITIONC in /*) ;; *) EDITIONC=$ROOT/$EDITIONC ;; esac
case $EDITIOND in /*) ;; *) EDITIOND=$ROOT/$EDITIOND ;; esac
TMP=$(mktemp -d /tmp/editiond-it.XXXXXX)
SERVER_PID=""
PASS=0
FAIL=0

cleanup() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1${2:+: $2}"; }
# expect NAME CONDITION [DETAIL]: CONDITION is evaluated; $rc holds the last command's status.
expect() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }

# The leak checker would turn the sanitised build's exit status non-zero for
# libraries' one-time allocations; exit statuses are asserted below.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

echo "building packs and the test client in $TMP"
cd "$ROOT" || exit 1
if ! "$EDITIONC" build editions -o "$TMP/packs" >"$TMP/editionc.out" 2>&1; then
	cat "$TMP/editionc.out"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f "$TMP/packs/manifest.json"
# shellcheck disable=SC2046
if ! ${CC:-gcc} -std=c17 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wno-unused-parameter \
	"$HERE/itest.c" -o "$TMP/itest" $(pkg-config --cflags --libs libcurl jansson); then
	echo "0 passed, 1 failed"
	exit 1
fi

# --- options and start-up refusals ---------------------------------------------------
"$EDITIOND" --help >"$TMP/out" 2>&1
rc=$?
expect "--help exits 0" '[ $rc -eq 0 ] && grep -q -- "--packs" "$TMP/out"'
"$EDITIOND" --version >"$TMP/out" 2>&1
rc=$?
expect "--version" '[ $rc -eq 0 ] && grep -q "^editiond " "$TMP/out"'
"$EDITIOND" >"$TMP/out" 2>&1
rc=$?
expect "missing --packs exits 2" '[ $rc -eq 2 ] && grep -q "missing --packs" "$TMP/out"'
"$EDITIOND" --packs "$TMP/packs" --workers lots >"$TMP/out" 2>&1
rc=$?
expect "bad number exits 2" '[ $rc -eq 2 ] && grep -q "lots" "$TMP/out"'
"$EDITIOND" --packs "$TMP/packs" --listen nowhere >"$TMP/out" 2>&1
rc=$?
expect "bad --listen exits 2" '[ $rc -eq 2 ] && grep -q "nowhere" "$TMP/out"'
"$EDITIOND" --packs "$TMP/packs" --bogus >"$TMP/out" 2>&1
rc=$?
expect "unknown option exits 2" '[ $rc -eq 2 ]'

mkdir -p "$TMP/empty" "$TMP/broken"
"$EDITIOND" --packs "$TMP/empty" --listen 127.0.0.1:0 --data "$TMP/d0" --log "$TMP/l0" >"$TMP/out" 2>&1
rc=$?
expect "empty pack dir refused" '[ $rc -eq 1 ] && grep -q "no pack" "$TMP/out"'
cp "$TMP"/packs/*.pack "$TMP/broken/"
care=$(ls "$TMP"/broken/care-*.pack)
head -c 300 "$care" >"$care.tmp" && mv "$care.tmp" "$care"
"$EDITIOND" --packs "$TMP/broken" --listen 127.0.0.1:0 --data "$TMP/d0" --log "$TMP/l0" >"$TMP/out" 2>&1
rc=$?
expect "corrupt pack refused, named" '[ $rc -eq 1 ] && grep -q "care-.*\.pack" "$TMP/out"' "$(cat "$TMP/out")"

# --- the server ------------------------------------------------------------------------
"$EDITIOND" --packs "$TMP/packs" --listen 127.0.0.1:0 --data "$TMP/data" --log "$TMP/server.log" \
	--request-timeout 2 --max-body 65536 --workers 2 2>"$TMP/server.err" &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 100); do
	PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$TMP/server.log" 2>/dev/null | sed 's/.*://')
	[ -n "$PORT" ] && break
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$PORT" ]; then
	cat "$TMP/server.err" "$TMP/server.log" 2>/dev/null
	echo "0 passed, 1 failed (server did not start)"
	exit 1
fi
echo "editiond pid $SERVER_PID on port $PORT"
ok "server starts on a free port"
[ -d "$TMP/data" ]
expect "data directory created" '[ -d "$TMP/data" ]'

"$EDITIOND" --packs "$TMP/packs" --listen "127.0.0.1:$PORT" --data "$TMP/d1" --log "$TMP/l1" >"$TMP/out" 2>&1
rc=$?
expect "port taken refused" '[ $rc -eq 1 ] && grep -q "cannot listen on .127.0.0.1:$PORT." "$TMP/out"' "$(cat "$TMP/out")"

"$TMP/itest" "$PORT" | tee "$TMP/itest.out"
p=$(tail -1 "$TMP/itest.out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
f=$(tail -1 "$TMP/itest.out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
if [ -z "$p" ]; then bad "itest ran to the end"; else PASS=$((PASS + p)); FAIL=$((FAIL + f)); fi

expect "access log lines are JSON with the request fields" \
	'grep "\"method\":\"GET\"" "$TMP/server.log" | head -1 | grep -q "\"ts\".*\"id\".*\"path\".*\"status\".*\"edition\".*\"route\".*\"ms\".*\"bytes\""'

# --- reload ------------------------------------------------------------------------------
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | grep -F "$1 " | grep -v '^#' | awk '{print $2}'; }
cp "$care" "$TMP/packs/zz-broken.pack"
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do [ -n "$(metric 'reloads_total{result="refused"}')" ] && break; sleep 0.1; done
expect "SIGHUP with a corrupt pack keeps the old set" \
	'[ "$(metric "reloads_total{result=\"refused\"}")" = 1 ] && curl -sf "http://127.0.0.1:$PORT/readyz" | grep -q "\"ready\":true"'
expect "refused reload is logged with the file" 'grep -q "reload refused.*zz-broken.pack" "$TMP/server.log"'
rm -f "$TMP/packs/zz-broken.pack"
kill -HUP "$SERVER_PID"
for _ in $(seq 1 50); do [ -n "$(metric 'reloads_total{result="ok"}')" ] && break; sleep 0.1; done
expect "SIGHUP reloads a good set" '[ "$(metric "reloads_total{result=\"ok\"}")" = 1 ] && [ "$(metric "packs_loaded")" = 6 ]'

out=$(curl -s -X POST "http://127.0.0.1:$PORT/admin/reload")
expect "POST /admin/reload from this host" 'echo "$out" | grep -q "\"reloaded\":true" && [ "$(metric "reloads_total{result=\"ok\"}")" = 2 ]' "$out"
code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "X-Forwarded-For: 203.0.113.9" "http://127.0.0.1:$PORT/admin/reload")
expect "forwarded /admin/reload refused" '[ "$code" = 403 ]' "$code"

# --- shutdown with a request in flight ------------------------------------------------------
"$TMP/itest" inflight "$PORT" "$SERVER_PID" | tee "$TMP/inflight.out"
grep -q "^ok " "$TMP/inflight.out" && PASS=$((PASS + 1)) || FAIL=$((FAIL + 1))
wait "$SERVER_PID"
rc=$?
SERVER_PID=""
expect "SIGTERM exits 0" '[ $rc -eq 0 ]' "exit status $rc"
expect "shutdown is logged" 'grep -q "SIGTERM: finishing" "$TMP/server.log" && grep -q "\"stopped\"" "$TMP/server.log"'

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
