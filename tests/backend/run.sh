#!/bin/bash
# Backend tests with the real binaries: editiond calling its bank over HTTP.
#
#   bankd     editiond --serve-bank, the shared sandbox bank
#   fakebank  a proxy in front of bankd that can be told to fail, stall or
#             close connections (tests/backend/fakebank.c)
#   A         editiond --bank-url fakebank: answers flow through; while the
#             backend fails the circuit opens (/metrics), pages and the API
#             answer the flow's fallback (503, never 500), and once the backend
#             is back the circuit closes and answers are normal again
#   B, C      editiond --bank-url bankd: one transfer through B shows in C
#   bankd2    editiond --serve-bank --bank-secret-file: callers need the secret
#
# Everything listens on 127.0.0.1 and is stopped at the end (trap).
# Prints "N passed, N failed" last; exits non-zero when anything failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
EDITIONC=${EDITIONC:-$ROOT/build/editionc}
EDITIOND=${EDITIOND:-$ROOT/build/editiond}
case $EDITIONC in /*) ;; *) EDITIONC=$ROOT/$EDITIONC ;; esac
case $EDITIOND in /*) ;; *) EDITIOND=$ROOT/$EDITIOND ;; esac

if ! "$EDITIOND" --help 2>&1 | grep -q -- --bank-url; then
	echo "backend: skipped: editiond has no --bank-url yet"
	exit 0
fi
for tool in "$(command -v curl)" "$(command -v ss)"; do
	if [ ! -x "$tool" ]; then
		echo "backend: missing curl or ss (apt-get install curl iproute2)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

TMP=$(mktemp -d /tmp/editiond-backend.XXXXXX)
PIDS=""
PASS=0
FAIL=0
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}


cleanup() {
	for pid in $PIDS; do stop "$pid"; done
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM




# start NAME ARGS...: editiond in the background, its PID in LAST_PID.
start() {
	local name=$1
	shift
	"$EDITIOND" "$@" --log "$TMP/$name.log" >"$TMP/$name.out" 2>&1 &
	LAST_PID=$!
	PIDS="$LAST_PID $PIDS"
}

# api_login BASE USER: prints the token.
api_login() {
	curl -s --max-time 5 -H 'Content-Type: application/json' \
		-d "{\"username\":\"$2\",\"password\":\"demo1234\"}" "$1/api/v1/login" |
		sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p'
}

# get BASE PATH TOKEN: "STATUS BODY" of an API GET.
get() {
	local out
	out=$(curl -s --max-time 10 -w '\n%{http_code}' -H "Authorization: Bearer $3" "$1$2")
	echo "${out##*$'\n'} ${out%$'\n'*}"
}

metric() {
	curl -s --max-time 2 "$1/metrics" | sed -n "s/^$2 //p"
}

# The first account of the home screen: "ID BALANCE".
first_account() {
	local acct
	acct=$(get "$1" /api/v1/mass/data/home "$2" | grep -o '"accounts":\[{[^}]*}' | head -1)
	echo "$(sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' <<<"$acct") $(sed -n 's/.*"balance":\([0-9]*\).*/\1/p' <<<"$acct")"
}

fake() { curl -s --max-time 5 -X POST "$FK/control?mode=$1${2:+&ms=$2}" >/dev/null; }

# --- set-up ----------------------------------------------------------------------------

cd "$ROOT" || exit 1
echo "building packs and the fake bank in $TMP"
if ! "$EDITIONC" build editions -o "$TMP/packs" >"$TMP/editionc.out" 2>&1; then
	cat "$TMP/editionc.out"
	bad "packs build"
	finish
fi
rm -f "$TMP/packs/manifest.json"
# shellcheck disable=SC2046
if ! ${CC:-gcc} -std=c17 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Wno-unused-parameter "$HERE/fakebank.c" \
	-o "$TMP/fakebank" $(pkg-config --cflags --libs libmicrohttpd libcurl) -lpthread; then
	bad "fake bank builds"
	finish
fi

KP=$(free_port) FP=$(free_port) AP=$(free_port) BP=$(free_port) CP=$(free_port) SP=$(free_port)
K=http://127.0.0.1:$KP FK=http://127.0.0.1:$FP A=http://127.0.0.1:$AP B=http://127.0.0.1:$BP
C=http://127.0.0.1:$CP S=http://127.0.0.1:$SP

start bankd --serve-bank --listen "127.0.0.1:$KP" --data "$TMP/bank"
expect "editiond --serve-bank serves on $KP" 'wait_http "$K/healthz"' "$(tail -3 "$TMP/bankd.out")"
"$TMP/fakebank" "$FP" "$K/bank/v1/call" >"$TMP/fakebank.out" 2>&1 &
PIDS="$! $PIDS"
expect "fake bank serves on $FP" 'wait_http "$FK/control"'
start a --packs "$TMP/packs" --listen "127.0.0.1:$AP" --data "$TMP/a" --bank-url "$FK" --backend-timeout 400
A_PID=$LAST_PID
expect "instance A (through the fake bank) serves" 'wait_http "$A/healthz"' "$(tail -3 "$TMP/a.out")"
start b --packs "$TMP/packs" --listen "127.0.0.1:$BP" --data "$TMP/b" --bank-url "$K"
B_PID=$LAST_PID
start c --packs "$TMP/packs" --listen "127.0.0.1:$CP" --data "$TMP/c" --bank-url "$K/"
C_PID=$LAST_PID
expect "instances B and C (on the shared bank) serve" 'wait_http "$B/healthz" && wait_http "$C/healthz"'

# --- options -------------------------------------------------------------------------------

"$EDITIOND" --packs "$TMP/packs" --backend nosuch=http://127.0.0.1:1 >"$TMP/opt.out" 2>&1
expect "an unknown service is refused (exit 2)" '[ $? -eq 2 ] && grep -q "unknown service '"'"'nosuch'"'"'" "$TMP/opt.out"'
"$EDITIOND" --packs "$TMP/packs" --bank-url ftp://x >"$TMP/opt.out" 2>&1
expect "a URL that is not http is refused (exit 2)" '[ $? -eq 2 ] && grep -q "bad URL" "$TMP/opt.out"'
"$EDITIOND" --packs "$TMP/packs" --backend-timeout 0 >"$TMP/opt.out" 2>&1
expect "a zero timeout is refused (exit 2)" '[ $? -eq 2 ]'
"$EDITIOND" --serve-bank --listen 0.0.0.0:1 >"$TMP/opt.out" 2>&1
expect "the bank refuses a public address without a secret" '[ $? -eq 2 ] && grep -q "without --bank-secret-file" "$TMP/opt.out"'

# --- normal answers through the fake bank ------------------------------------------------

TA=$(api_login "$A" zhangwei)
expect "login on A" '[ ${#TA} -eq 64 ]'
r=$(get "$A" /api/v1/mass/data/home "$TA")
expect "A's home screen comes from the bank" '[ "${r%% *}" = 200 ] && grep -q "\"accounts\":\[{" <<<"$r"' "${r:0:200}"
expect "A's circuits are closed" '[ "$(metric "$A" "breaker_state{service=\"accounts\"}")" = 0 ]'
calls=$(curl -s "$FK/control" | cut -d' ' -f2)
expect "the calls went through the fake bank" '[ "${calls:-0}" -ge 3 ]' "calls: $calls"
expect "A counts them" '[ "$(metric "$A" "backend_calls_total{service=\"accounts\",result=\"ok\"}")" -ge 1 ]'

# --- the backend fails: the circuit opens, the fallback shows ------------------------------

fake fail
codes=""
for _ in $(seq 25); do
	r=$(get "$A" /api/v1/mass/data/home "$TA")
	codes="$codes${r%% *} "
done
expect "while the backend fails the API answers 503" '[ -z "$(tr -d " " <<<"${codes//503/}")" ]' "$codes"
FALLBACK=$(sed -n 's/.*"message":"\([^"]*\)".*/\1/p' <<<"$r")
expect "with the flow's fallback text" '[ -n "$FALLBACK" ] && grep -q "\"error\":\"unavailable\"" <<<"$r"' "${r:0:200}"
expect "the circuit of the failing service is open" \
	'curl -s "$A/metrics" | grep -q "^breaker_state{service=\"[a-z]*\"} 1$"' \
	"$(curl -s "$A/metrics" | grep ^breaker_state)"
# while open, calls fail fast: the fake bank sees no more of them
n_open=0
for _ in $(seq 50); do
	before=$(curl -s "$FK/control" | cut -d' ' -f2)
	r=$(get "$A" /api/v1/mass/data/home "$TA")
	after=$(curl -s "$FK/control" | cut -d' ' -f2)
	[ "${r%% *}" = 503 ] && [ "$before" = "$after" ] && { n_open=1; break; }
done
expect "an open circuit fails fast without calling the backend" '[ $n_open = 1 ]'
expect "rejected calls are counted" \
	'curl -s "$A/metrics" | grep -q "^backend_calls_total{service=\"[a-z]*\",result=\"rejected\"} [1-9]"'
expect "fallbacks are counted per edition and flow" \
	'[ "$(metric "$A" "fallbacks_total{edition=\"mass\",flow=\"home_summary\"}")" -ge 25 ]'

# The H5 page: log in with the form, then the home page shows the notice.
JAR=$TMP/cookies
csrf=$(curl -s -c "$JAR" -b "$JAR" "$A/login" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -1)
st=$(curl -s -o /dev/null -w '%{http_code}' -c "$JAR" -b "$JAR" \
	--data-urlencode "_csrf=$csrf" -d username=zhangwei -d password=demo1234 "$A/login")
expect "H5 login on A while the backend fails" '[ "$st" = 303 ]' "status $st"
st=$(curl -s -o "$TMP/home.html" -w '%{http_code}' -b "$JAR" "$A/mass/home")
expect "the H5 home page answers 503 with the fallback notice" \
	'[ "$st" = 503 ] && grep -qF "$FALLBACK" "$TMP/home.html"' "status $st"

# Money flows degrade the same way, and move nothing.
read -r ACCT _ <<<"$(curl -s -H "Authorization: Bearer $(api_login "$B" zhangwei)" "$B/api/v1/mass/data/home" |
	grep -o '"accounts":\[{[^}]*}' | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p')"
out=$(curl -s --max-time 10 -w '\n%{http_code}' -H "Authorization: Bearer $TA" -H 'Content-Type: application/json' \
	-H "Idempotency-Key: backend-$RANDOM-1" \
	-d "{\"from\":\"$ACCT\",\"to_account\":\"6229092222111100018\",\"to_name\":\"x\",\"amount\":\"1.00\",\"_confirm\":true}" \
	"$A/api/v1/mass/flows/transfer")
expect "a transfer while the backend fails answers 503 with the fallback" \
	'[ "${out##*$'"'"'\n'"'"'}" = 503 ] && grep -qF "$FALLBACK" <<<"$out"' "${out:0:200}"

# Stalled and dropped connections count as failures too (the timeout is 400 ms).
fake ok
for _ in $(seq 100); do [ "$(get "$A" /api/v1/mass/data/home "$TA" | cut -d' ' -f1)" = 200 ] && break; sleep 0.2; done
fake delay 1500
r=$(get "$A" /api/v1/mass/data/home "$TA")
expect "a stalled backend gives the fallback (503)" '[ "${r%% *}" = 503 ]' "${r:0:120}"
fake close
r=$(get "$A" /api/v1/mass/data/home "$TA")
expect "a dropped connection gives the fallback (503)" '[ "${r%% *}" = 503 ]' "${r:0:120}"
fake delay 50
r=$(get "$A" /api/v1/mass/data/home "$TA")
expect "a slow backend within the timeout still answers" '[ "${r%% *}" = 200 ]' "${r:0:120}"

# --- recovery: the circuit closes again ------------------------------------------------------

fake fail
for _ in $(seq 25); do get "$A" /api/v1/mass/data/home "$TA" >/dev/null; done
fake ok
recovered=0
for _ in $(seq 200); do
	r=$(get "$A" /api/v1/mass/data/home "$TA")
	[ "${r%% *}" = 200 ] && { recovered=1; break; }
	sleep 0.2
done
expect "after the backend recovers answers are normal again" '[ $recovered = 1 ] && grep -q "\"accounts\":\[{" <<<"$r"'
expect "and every circuit is closed" '! curl -s "$A/metrics" | grep -q "^breaker_state{.*} [12]$"' \
	"$(curl -s "$A/metrics" | grep ^breaker_state)"
st=$(curl -s -o "$TMP/home.html" -w '%{http_code}' -b "$JAR" "$A/mass/home")
expect "the H5 home page is normal again" '[ "$st" = 200 ] && ! grep -qF "$FALLBACK" "$TMP/home.html"' "status $st"
expect "A never answered 500" '! grep -q "\"status\":500" "$TMP/a.log"'
expect "A is still running" 'kill -0 $A_PID'
expect "A logged the circuit opening and closing" \
	'grep -q "circuit open" "$TMP/a.log" && grep -q "circuit closed again" "$TMP/a.log"'

# --- one bank shared by B and C -------------------------------------------------------------------

TB=$(api_login "$B" zhangwei) TC=$(api_login "$C" zhangwei)
read -r id0 bal0 <<<"$(first_account "$B" "$TB")"
read -r idc balc <<<"$(first_account "$C" "$TC")"
expect "B and C see the same balance" '[ -n "$bal0" ] && [ "$id0" = "$idc" ] && [ "$bal0" = "$balc" ]' \
	"B: $id0 $bal0, C: $idc $balc"
out=$(curl -s --max-time 10 -w '\n%{http_code}' -H "Authorization: Bearer $TB" -H 'Content-Type: application/json' \
	-H "Idempotency-Key: backend-$RANDOM-2" \
	-d "{\"from\":\"$id0\",\"to_account\":\"6229092222111100018\",\"to_name\":\"x\",\"amount\":\"12.34\",\"_confirm\":true}" \
	"$B/api/v1/mass/flows/transfer")
expect "a transfer through B" '[ "${out##*$'"'"'\n'"'"'}" = 200 ]' "${out:0:300}"
read -r _ bal1 <<<"$(first_account "$B" "$TB")"
read -r _ balc1 <<<"$(first_account "$C" "$TC")"
expect "B's balance fell by the amount (and any fee)" '[ -n "$bal1" ] && [ $((bal0 - bal1)) -ge 1234 ]' "$bal0 -> $bal1"
expect "C sees the same balance after it" '[ "$balc1" = "$bal1" ]' "B $bal1, C $balc1"
read -r _ bala <<<"$(first_account "$A" "$TA")"
expect "so does A through the fake bank" '[ "$bala" = "$bal1" ]' "A $bala"

# --- the bank server's door ------------------------------------------------------------------------

st=$(curl -s -o /dev/null -w '%{http_code}' -d '{"op":"accounts"}' "$K/bank/v1/call")
expect "a malformed bank call is refused (400)" '[ "$st" = 400 ]' "status $st"
st=$(curl -s -o /dev/null -w '%{http_code}' "$K/bank/v1/call")
expect "a GET of the call endpoint is refused (405)" '[ "$st" = 405 ]' "status $st"
r=$(curl -s -d '{"op":"transfer","args":[{"from":"1","to_account":"x","amount":999999999999,"key":"k"}],"identity":{"customer_id":1}}' "$K/bank/v1/call")
expect "a bank refusal travels as an answer" 'grep -q "\"ok\":false" <<<"$r" && ! grep -q unavailable <<<"$r"' "$r"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/secret"
start bankd2 --serve-bank --listen "127.0.0.1:$SP" --data "$TMP/bank2" --bank-secret-file "$TMP/secret"
expect "a bank server with a secret starts" 'wait_http "$S/healthz"' "$(tail -3 "$TMP/bankd2.out")"
BODY='{"op":"accounts","args":[],"identity":{"customer_id":1}}'
st=$(curl -s -o /dev/null -w '%{http_code}' -d "$BODY" "$S/bank/v1/call")
expect "without the secret a call is refused (403)" '[ "$st" = 403 ]' "status $st"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Bank-Secret: wrong-secret-of-some-length" -d "$BODY" "$S/bank/v1/call")
expect "with a wrong secret too" '[ "$st" = 403 ]' "status $st"
st=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Bank-Secret: $(cat "$TMP/secret")" -d "$BODY" "$S/bank/v1/call")
expect "with the secret it is served" '[ "$st" = 200 ]' "status $st"
start d --packs "$TMP/packs" --listen "127.0.0.1:$(free_port)" --data "$TMP/d" --bank-url "$S" \
	--bank-secret-file "$TMP/secret"
D_PID=$LAST_PID
DP=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/d.log" 2>/dev/null)
for _ in $(seq 100); do
	DP=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/d.log" 2>/dev/null | head -1)
	[ -n "$DP" ] && break
	sleep 0.1
done
TD=$(api_login "http://127.0.0.1:${DP:-1}" zhangwei)
r=$(get "http://127.0.0.1:${DP:-1}" /api/v1/mass/data/home "$TD")
expect "an instance with the secret file uses that bank" '[ "${r%% *}" = 200 ]' "${r:0:120}"

for pid in $A_PID $B_PID $C_PID $D_PID; do stop "$pid"; done
expect "the instances stop cleanly" '! grep -qi "sanitizer\|segmentation" "$TMP"/*.out'
finish
