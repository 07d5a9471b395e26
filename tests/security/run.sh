#!/bin/bash
# Security suite of editiond: packs built from editions/ and signed with a key
# made here, the real $EDITIOND on a free 127.0.0.1 port with --trust-key and a
# short --request-timeout, and tests/security/sec_*.c (built here with libcurl)
# attacking it. Every check passes only when its attack fails. Also: forged,
# unsigned and altered packs refused at start and at reload.
# Prints "PASS name" / "FAIL name: detail" per attack and "N passed, N failed"
# last; exits non-zero when anything failed. Bounded in time; every server it
# starts is stopped on exit.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
EDITIONC=${EDITIONC:-$ROOT/build/editionc}
EDITIOND=${EDITIOND:-$ROOT/build/editiond}
case $EDITIONC in /*) ;; *) EDITIONC=$ROOT/$EDITIONC ;; esac
case $EDITIOND in /*) ;; *) EDITIOND=$ROOT/$EDITIOND ;; esac
TIMEOUT=3
TMP=$(mktemp -d /tmp/editiond-sec.XXXXXX)
PIDS=()
PASS=0
FAIL=0

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASS=$((PASS + 1)); echo "PASS $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1${2:+: $2}"; }
expect() { if eval "$2"; then ok "$1"; else bad "$1" "${3:-}"; fi; }
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit
}

# start_server NAME PACKDIR EXTRA...: starts editiond; sets PORT (empty when it did not start)
start_server() {
	local name=$1 packs=$2
	shift 2
	timeout 600 "$EDITIOND" --packs "$packs" --listen 127.0.0.1:0 --data "$TMP/data-$name" \
		--log "$TMP/$name.log" --trust-key "$TMP/release.pub" --request-timeout "$TIMEOUT" "$@" \
		2>"$TMP/$name.err" &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	PORT=""
	for _ in $(seq 1 100); do
		PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$TMP/$name.log" 2>/dev/null | sed 's/.*://')
		[ -n "$PORT" ] && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
}

# run_sectest PORT GROUP...: runs the attack program, adds its counts
run_sectest() {
	local port=$1
	shift
	timeout 300 "$TMP/sectest" "$port" "$TMP/packs" "$TIMEOUT" "$@" | tee "$TMP/sectest.out"
	local last p f
	last=$(tail -1 "$TMP/sectest.out")
	p=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then bad "sectest $* ran to the end" "$last"; else PASS=$((PASS + p)); FAIL=$((FAIL + f)); fi
}

echo "building signed packs and the attack program in $TMP"
cd "$ROOT" || exit 1
if ! "$EDITIONC" keygen -o "$TMP/release" >/dev/null 2>&1 || ! "$EDITIONC" keygen -o "$TMP/other" >/dev/null 2>&1 ||
	! "$EDITIONC" build editions -o "$TMP/packs" --sign-key "$TMP/release.key" -q >"$TMP/editionc.out" 2>&1 ||
	! "$EDITIONC" build editions -o "$TMP/forged" --sign-key "$TMP/other.key" -q >>"$TMP/editionc.out" 2>&1 ||
	! "$EDITIONC" build editions -o "$TMP/unsigned" -q >>"$TMP/editionc.out" 2>&1; then
	cat "$TMP/editionc.out"
	bad "packs built"
	finish
fi
rm -f "$TMP"/packs/manifest.json "$TMP"/forged/manifest.json "$TMP"/unsigned/manifest.json
# shellcheck disable=SC2046
if ! ${CC:-gcc} -std=c17 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wno-unused-parameter -Wno-format-truncation \
	-I"$ROOT/compiler" "$HERE"/sec_*.c "$ROOT/compiler/pack.c" "$ROOT/compiler/strbuf.c" -o "$TMP/sectest" \
	$(pkg-config --cflags --libs libcurl jansson libsodium zlib) -lpthread; then
	bad "attack program built"
	finish
fi

# --- packs that must not load --------------------------------------------------------------
care=$(basename "$(ls "$TMP"/packs/care-*.pack)")
mkdir -p "$TMP/set-forged" "$TMP/set-unsigned" "$TMP/set-altered"
cp "$TMP"/packs/*.pack "$TMP/set-forged/" && cp "$TMP/forged/$care" "$TMP/set-forged/$care"
cp "$TMP"/packs/*.pack "$TMP/set-unsigned/" && cp "$TMP/unsigned/$care" "$TMP/set-unsigned/$care"
cp "$TMP"/packs/*.pack "$TMP/set-altered/"
size=$(stat -c %s "$TMP/set-altered/$care")
# one byte in the middle of the section bytes, flipped
off=$((size / 2))
byte=$(od -An -tu1 -j "$off" -N1 "$TMP/set-altered/$care" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$TMP/set-altered/$care" bs=1 seek="$off" conv=notrunc status=none
for kind in forged unsigned altered; do
	timeout 20 "$EDITIOND" --packs "$TMP/set-$kind" --listen 127.0.0.1:0 --data "$TMP/d-$kind" \
		--log "$TMP/start-$kind.log" --trust-key "$TMP/release.pub" >"$TMP/start-$kind.out" 2>&1
	rc=$?
	why=$(cat "$TMP/start-$kind.out" "$TMP/start-$kind.log" 2>/dev/null | grep -i "$care" | head -1)
	expect "pack: $kind pack refused at start (exit 1, the pack named)" \
		'[ $rc -eq 1 ] && [ -n "$why" ]' "exit $rc: $(head -c 300 "$TMP/start-$kind.out")"
	expect "pack: $kind pack refusal gives a reason" \
		'echo "$why" | grep -qiE "signature|sign|sha-256|hash|mismatch|corrupt|trust"' "'$why'"
done

# --- the main server -----------------------------------------------------------------------------
start_server main "$TMP/packs"
if [ -z "$PORT" ]; then
	cat "$TMP/main.err" "$TMP/main.log" 2>/dev/null | tail -20
	bad "server starts with signed packs and --trust-key"
	finish
fi
MAIN_PID=$SERVER_PID
MAIN_PORT=$PORT
echo "editiond pid $MAIN_PID on port $MAIN_PORT"
run_sectest "$MAIN_PORT"

# --- reload with bad packs keeps the old set ---------------------------------------------------------
metric() { curl -s --max-time 5 "http://127.0.0.1:$MAIN_PORT/metrics" | grep -F "$1 " | grep -v '^#' | awk '{print $2}'; }
n=0
for kind in forged unsigned altered; do
	cp "$TMP/packs/$care" "$TMP/$care.good"
	cp "$TMP/set-$kind/$care" "$TMP/packs/$care"
	n=$((n + 1))
	code=$(curl -s --max-time 10 -o "$TMP/reload.out" -w "%{http_code}" -X POST "http://127.0.0.1:$MAIN_PORT/admin/reload")
	refused=$(metric 'reloads_total{result="refused"}')
	expect "reload: $kind pack refused" '[ "$code" != 200 ] || ! grep -q "\"reloaded\":true" "$TMP/reload.out"' \
		"$code $(head -c 200 "$TMP/reload.out")"
	expect "reload: $kind pack counted as refused" '[ "${refused:-0}" = "$n" ]' "refused=$refused"
	home=$(curl -s --max-time 5 -o /dev/null -w "%{http_code}" "http://127.0.0.1:$MAIN_PORT/api/v1/care/screens/home")
	expect "reload: old set keeps serving after the $kind pack" \
		'[ "$home" = 200 ] && curl -sf --max-time 5 "http://127.0.0.1:$MAIN_PORT/readyz" | grep -q "\"ready\":true"' \
		"care home $home"
	cp "$TMP/$care.good" "$TMP/packs/$care"
done
expect "reload: refusals logged with the pack" 'grep -q "reload refused.*$care" "$TMP/main.log"'

# --- the server lived through it all ---------------------------------------------------------------------
expect "server still running after every attack" 'kill -0 "$MAIN_PID" 2>/dev/null'
kill "$MAIN_PID" 2>/dev/null
wait "$MAIN_PID" 2>/dev/null
rc=$?
expect "server stops cleanly on SIGTERM afterwards" '[ $rc -eq 0 ]' "exit status $rc"
expect "no sanitizer or crash report from the server" \
	'! grep -qE "AddressSanitizer|runtime error:|LeakSanitizer|Segmentation|Aborted" "$TMP/main.err"' \
	"$(grep -m3 -E "AddressSanitizer|runtime error:" "$TMP/main.err")"

# --- per-address lockout wants a server of its own -----------------------------------------------------
start_server lockout "$TMP/packs"
if [ -z "$PORT" ]; then
	bad "second server starts"
else
	run_sectest "$PORT" lockout-ip
fi
finish
