#!/bin/bash
# Reload under load: editiond serves the six packs plus a canary of mass
# (7.1.0, built here from a copy of editions/ in which profile_info answers
# differently and security_overview never ends) under a rollout that gives the
# canary to zhangwei and compares it for everyone else. A keep-alive load
# (tests/reload/load.c, libcurl, several threads each reusing its connection)
# runs while the packs are reloaded 20 times, by SIGHUP and POST /admin/reload
# in turn; the tenth reload carries a corrupt pack and must be refused. Then:
# no failed request, answers from the right version throughout, the refusal in
# /metrics, old sets freed, dual-run mismatches and timeouts counted and
# listed, admin access checks, a bad rollout refused, and a rollback.
# Prints "N passed, N failed" last; exits non-zero when anything failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
EDITIONC=${EDITIONC:-$ROOT/build/editionc}
EDITIOND=${EDITIOND:-$ROOT/build/editiond}
case $EDITIONC in /*) ;; *) EDITIONC=$ROOT/$EDITIONC ;; esac
case $EDITIOND in /*) ;; *) EDITIOND=$ROOT/$EDITIOND ;; esac
LOAD_SECONDS=${LOAD_SECONDS:-12}
TMP=$(mktemp -d /tmp/editiond-reload.XXXXXX)
SERVER_PID=""
LOAD_PID=""
PASS=0
FAIL=0
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"

cleanup() {
	for pid in $LOAD_PID $SERVER_PID; do
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
curl() { command curl -m 20 "$@"; }     # no step may hang

# --- packs, the canary, the client ---------------------------------------------------------
cd "$ROOT" || exit 1
if ! "$EDITIONC" build editions -o "$TMP/stable" -q >"$TMP/editionc.out" 2>&1; then
	cat "$TMP/editionc.out"; bad "build the packs"; finish
fi
cp -r editions "$TMP/editions-7.1.0"
sed -i 's/^version: .*/version: 7.1.0/' "$TMP/editions-7.1.0/mass.yaml"
sed -i 's/tier = p.tier or ctx.tier,/tier = "gold-" .. tostring(p.tier or ctx.tier),/' \
	"$TMP/editions-7.1.0/flows/profile_info.lua"
sed -i 's/^  local profile = bank.profile()$/  local profile = bank.profile()\n  local n = 0\n  while true do n = n + 1 end/' \
	"$TMP/editions-7.1.0/flows/security_overview.lua"
if ! grep -q gold- "$TMP/editions-7.1.0/flows/profile_info.lua" ||
   ! grep -q "while true" "$TMP/editions-7.1.0/flows/security_overview.lua" ||
   ! "$EDITIONC" build "$TMP/editions-7.1.0" -o "$TMP/canary" -q >"$TMP/editionc2.out" 2>&1; then
	cat "$TMP/editionc2.out"; bad "build the canary of mass"; finish
fi
mkdir -p "$TMP/packs"
cp "$TMP"/stable/*.pack "$TMP/packs/"
cp "$TMP/canary/mass-7.1.0.pack" "$TMP/packs/"
cat >"$TMP/rollout.json" <<'JSON'
{"editions": {
  "mass": {"stable": "7.0.0", "canary": "7.1.0", "whitelist": ["zhangwei"], "percent": 0, "compare": true},
  "care": {"stable": "7.0.0"}, "english": {"stable": "7.0.0"}, "private-banking": {"stable": "7.0.0"},
  "enterprise-boss": {"stable": "7.0.0"}, "enterprise-standard": {"stable": "7.0.0"}}}
JSON
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/admin.token"
ADMIN=$(cat "$TMP/admin.token")
# shellcheck disable=SC2046
if ! ${CC:-gcc} -std=c17 -D_GNU_SOURCE -O1 -Wall -Wextra "$HERE/load.c" -o "$TMP/load" \
	$(pkg-config --cflags --libs libcurl) -lpthread; then
	bad "build the load client"; finish
fi

# --- the server ------------------------------------------------------------------------------
# port 0: the kernel picks a free one, the log says which
"$EDITIOND" --packs "$TMP/packs" --rollout "$TMP/rollout.json" --admin-token-file "$TMP/admin.token" \
	--listen 127.0.0.1:0 --data "$TMP/data" --workers 4 --log "$TMP/server.log" >"$TMP/server.out" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/server.log" 2>/dev/null | head -1)
	[ -n "$PORT" ] && break
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$PORT" ]; then
	cat "$TMP/server.out"; bad "editiond starts"; finish
fi
B="http://127.0.0.1:$PORT"
metric() { curl -s "$B/metrics" | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'; }
# reloads done so far, refused or not
reloads() { curl -s "$B/metrics" | awk '/^reloads_total\{/ { n += $2 } END { print n + 0 }'; }
login() {
	curl -s -X POST -H 'Content-Type: application/json' -d "{\"username\":\"$1\",\"password\":\"demo1234\"}" \
		"$B/api/v1/login" | sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p'
}
STABLE=$(login chenjing)
CANARY=$(login zhangwei)
expect "two customers logged in" '[ ${#STABLE} -eq 64 ] && [ ${#CANARY} -eq 64 ]'

# --- admin access -----------------------------------------------------------------------------
code=$(curl -s -o /dev/null -w "%{http_code}" -X POST "$B/admin/reload")
expect "reload without the admin token: 401" '[ "$code" = 401 ]' "$code"
code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "Authorization: Bearer x$ADMIN" "$B/admin/reload")
expect "reload with a wrong token: 403" '[ "$code" = 403 ]' "$code"
code=$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $ADMIN" -H "X-Forwarded-For: 203.0.113.9" "$B/admin/rollout")
expect "forwarded admin request: 403" '[ "$code" = 403 ]' "$code"
out=$(curl -s -H "Authorization: Bearer $ADMIN" "$B/admin/rollout")
expect "GET /admin/rollout shows the canary" 'echo "$out" | grep -q "\"canary\":\"7.1.0\"" && echo "$out" | grep -q "\"role\":\"canary\""' "$out"

# --- reloads under load ---------------------------------------------------------------------------
"$TMP/load" "$PORT" "$LOAD_SECONDS" 6 "$STABLE" "$CANARY" >"$TMP/load.out" 2>"$TMP/load.err" &
LOAD_PID=$!
sleep 1
refused_seen=""
for i in $(seq 1 20); do
	if [ "$i" -eq 10 ]; then
		cp "$TMP/packs/care-7.0.0.pack" "$TMP/care.good"
		printf 'CORRUPT' | dd of="$TMP/packs/care-7.0.0.pack" bs=1 seek=2000 conv=notrunc 2>/dev/null
	fi
	if [ $((i % 2)) -eq 1 ]; then
		before=$(reloads)
		kill -HUP "$SERVER_PID"
		for _ in $(seq 50); do
			[ "$(reloads)" -gt "$before" ] && break
			sleep 0.05
		done
	else
		out=$(curl -s -w " %{http_code}" -X POST -H "Authorization: Bearer $ADMIN" "$B/admin/reload")
		[ "$i" -eq 10 ] && refused_seen=$out
	fi
	if [ "$i" -eq 10 ]; then
		cp "$TMP/care.good" "$TMP/packs/care-7.0.0.pack"
	fi
	sleep 0.3
done
wait "$LOAD_PID"
load_rc=$?
LOAD_PID=""
cat "$TMP/load.err" | head -10
res=$(cat "$TMP/load.out")
echo "load: $res"
expect "keep-alive load through 20 reloads: no failed request, right versions" \
	'[ $load_rc -eq 0 ] && echo "$res" | grep -q " failed 0 "' "$res"
expect "connections were reused" 'n=$(echo "$res" | awk "{print \$6}"); [ "${n:-0}" -gt 100 ]' "$res"
expect "the corrupt pack refused over http (409 and the reason)" \
	'echo "$refused_seen" | grep -q "care-7.0.0.pack" && echo "$refused_seen" | grep -q " 409$"' "$refused_seen"
ok_n=$(metric 'reloads_total{result="ok"}')
ref_n=$(metric 'reloads_total{result="refused"}')
expect "19 reloads done, 1 refused" '[ "$ok_n" = 19 ] && [ "$ref_n" = 1 ]' "ok=$ok_n refused=$ref_n"
expect "the refusal's reason in /metrics" 'curl -s "$B/metrics" | grep -q "^reload_last_error_info{reason=\"pack\",message=\"pack .*care-7.0.0.pack.* 1$"'
expect "the refusal in the log" 'grep -q "reload refused, keeping the loaded set (pack)" "$TMP/server.log"'
expect "packs_loaded still 7" '[ "$(metric packs_loaded)" = 7 ]'
alive=""
for _ in $(seq 20); do
	alive=$(metric pack_sets_alive)
	[ "$alive" = 1 ] && break
	sleep 0.1
done
expect "the canary's requests counted apart" 'curl -s "$B/metrics" | grep -q "^requests_total{edition=\"mass@7.1.0\",route=\"api.data\",status=\"200\"}"'
expect "old pack sets freed once their requests ended" '[ "$alive" = 1 ]' "alive=$alive"

# --- dual run ---------------------------------------------------------------------------------------
mm=$(metric 'dualrun_total{edition="mass",flow="profile_info",result="mismatch"}')
to=$(metric 'dualrun_total{edition="mass",flow="security_overview",result="canary_timeout"}')
expect "dual run: the changed flow counted as mismatches" '[ "${mm:-0}" -gt 0 ]' "mismatch=$mm"
expect "dual run: the looping canary timed out" '[ "${to:-0}" -gt 0 ]' "timeout=$to"
out=$(curl -s -H "Authorization: Bearer $ADMIN" "$B/admin/mismatches")
expect "GET /admin/mismatches lists the changed flow" \
	'echo "$out" | grep -q "\"flow\":\"profile_info\"" && echo "$out" | grep -q "gold-mass"' "$(echo "$out" | head -c 300)"

# --- a bad rollout, then a rollback ---------------------------------------------------------------------
cp "$TMP/rollout.json" "$TMP/rollout.good"
sed -i 's/"canary": "7.1.0"/"canary": "7.2.0"/' "$TMP/rollout.json"
out=$(curl -s -w " %{http_code}" -X POST -H "Authorization: Bearer $ADMIN" "$B/admin/reload")
expect "a rollout naming a version not loaded is refused" \
	'echo "$out" | grep -q "version 7.2.0 is not loaded" && echo "$out" | grep -q " 409$"' "$out"
expect "its reason in /metrics" 'curl -s "$B/metrics" | grep -q "^reload_last_error_info{reason=\"foreign\""'
body=$(curl -s -H "Authorization: Bearer $CANARY" "$B/api/v1/mass/data/settings")
expect "the canary customer still on the canary" 'echo "$body" | grep -q gold-mass' "$body"
sed 's/"canary": "7.1.0", "whitelist": \["zhangwei"\], "percent": 0, "compare": true/"canary": null/' \
	"$TMP/rollout.good" >"$TMP/rollout.json"
out=$(curl -s -w " %{http_code}" -X POST -H "Authorization: Bearer $ADMIN" "$B/admin/reload")
expect "rollback: the rollout without a canary reloads" 'echo "$out" | grep -q " 200$"' "$out"
body=$(curl -s -H "Authorization: Bearer $CANARY" "$B/api/v1/mass/data/settings")
expect "rollback: the pinned canary session moved to stable" 'echo "$body" | grep -q "\"tier\":\"mass\""' "$body"
out=$(curl -s -H "Authorization: Bearer $ADMIN" "$B/admin/rollout")
expect "GET /admin/rollout: 7.1.0 withdrawn" 'echo "$out" | grep -q "\"role\":\"withdrawn\""' "$out"

kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
rc=$?
SERVER_PID=""
expect "editiond stops cleanly" '[ $rc -eq 0 ]' "exit $rc"
finish
