#!/bin/bash
# Scale-out tests with the real binaries: a redis-server, two editiond
# instances sharing it (--sessions) and the same sandbox data directory, and
# nginx started from runtime/deploy/nginx.conf (loopback ports, paths in a
# temporary directory). Shows that a session begun on one instance goes on on
# the other and through nginx, that lockouts are shared, and that killing and
# restarting Redis under load fails no request and logs nobody out.
# Everything listens on 127.0.0.1; every process is stopped at the end.
# Prints "N passed, N failed" last; exits non-zero when anything failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
EDITIONC=${EDITIONC:-$ROOT/build/editionc}
EDITIOND=${EDITIOND:-$ROOT/build/editiond}
NGINX=${NGINX:-/usr/sbin/nginx}
REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
LOAD_SECONDS=${LOAD_SECONDS:-20}
case $EDITIONC in /*) ;; *) EDITIONC=$ROOT/$EDITIONC ;; esac
case $EDITIOND in /*) ;; *) EDITIOND=$ROOT/$EDITIOND ;; esac

if ! "$EDITIOND" --help 2>&1 | grep -q -- --sessions; then
	echo "scale: skipped: editiond has no --sessions yet"
	exit 0
fi

for tool in "$NGINX" "$REDIS_SERVER" "$(command -v redis-cli)" "$(command -v curl)" "$(command -v ss)"; do
	if [ ! -x "$tool" ]; then
		echo "scale: missing '${tool:-redis-cli, curl or ss}' (apt-get install nginx redis-server curl iproute2)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

TMP=$(mktemp -d /tmp/editiond-scale.XXXXXX)
REDIS_PID="" A_PID="" B_PID="" NGINX_PID="" STICKY_PID="" LOAD_PID=""
PASS=0
FAIL=0
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# The leak checker would turn a sanitised build's exit status non-zero for
# libraries' one-time allocations; exit statuses are asserted below.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}


cleanup() {
	stop "$LOAD_PID"
	stop "$NGINX_PID"
	stop "$STICKY_PID"
	stop "$A_PID"
	stop "$B_PID"
	stop "$REDIS_PID"
	if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM




# --- helpers for requests -------------------------------------------------------------

# api_login BASE USER [PASSWORD]: prints "STATUS TOKEN EDITION".
api_login() {
	local out status body
	out=$(curl -s --max-time 5 -w '\n%{http_code}' -H 'Content-Type: application/json' \
		-d "{\"username\":\"$2\",\"password\":\"${3:-demo1234}\"}" "$1/api/v1/login")
	status=${out##*$'\n'}
	body=${out%$'\n'*}
	echo "$status $(sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p' <<<"$body") \
$(sed -n 's/.*"edition":"\([a-z-]*\)".*/\1/p' <<<"$body")"
}

# status BASE PATH TOKEN [curl options...]: the HTTP status of a GET with the bearer token.
status() {
	local base=$1 path=$2 token=$3
	shift 3
	curl -s -o /dev/null --max-time 5 -w '%{http_code}' -H "Authorization: Bearer $token" "$@" "$base$path"
}

metric() {
	curl -s --max-time 2 "$1/metrics" | sed -n "s/^$2 //p"
}

# wait_metric BASE NAME VALUE: until the instance reports it (10 s at most).
wait_metric() {
	for _ in $(seq 100); do
		[ "$(metric "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

start_redis() {
	"$REDIS_SERVER" --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
		--loglevel warning >>"$TMP/redis.log" 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 100); do
		[ "$(redis-cli -p "$RP" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.05
	done
	return 1
}

start_editiond() {   # NAME PORT: sets LAST_PID
	"$EDITIOND" --packs "$TMP/packs" --listen "127.0.0.1:$2" --data "$TMP/data" \
		--sessions "redis://127.0.0.1:$RP" --trust-forwarded --log "$TMP/$1.log" \
		>"$TMP/$1.out" 2>&1 &
	LAST_PID=$!
	wait_http "http://127.0.0.1:$2/healthz"
}

# nginx_config DIR PORT [sticky]: the shipped nginx.conf with loopback ports
# and every path in DIR; "sticky" turns on its optional session affinity line.
nginx_config() {
	local dir=$1 port=$2 affinity="" temps="" t
	[ "${3:-}" = sticky ] && affinity='s|#[[:space:]]*\(hash \$binary_remote_addr\)|\1|'
	mkdir -p "$dir"
	for t in client_body proxy fastcgi uwsgi scgi; do
		temps="$temps ${t}_temp_path $dir/$t;"
	done
	{
		echo "daemon off;"
		sed -e "s|^user .*|user $(id -un) $(id -gn);|" \
		    -e "s|^pid .*|pid $dir/nginx.pid;|" \
		    -e "s|^error_log .*|error_log $dir/error.log warn;|" \
		    -e "s|access_log /var/log/nginx/editiond.access.log;|access_log $dir/access.log;$temps|" \
		    -e "s|server 127.0.0.1:8081 |server 127.0.0.1:$AP |" \
		    -e "s|server 127.0.0.1:8082 |server 127.0.0.1:$BP |" \
		    -e "s|listen 80;|listen 127.0.0.1:$port;|" -e "$affinity" "$ROOT/runtime/deploy/nginx.conf"
	} >"$dir/nginx.conf"
}

# start_nginx DIR: in the background, sets LAST_PID; 0 once it accepts the config.
start_nginx() {
	"$NGINX" -t -p "$1" -c "$1/nginx.conf" -e "$1/error.log" >"$1/t.out" 2>&1 || return 1
	"$NGINX" -p "$1" -c "$1/nginx.conf" -e "$1/error.log" >"$1/out" 2>&1 &
	LAST_PID=$!
}

# --- set-up ----------------------------------------------------------------------------

echo "building packs and the load client in $TMP"
cd "$ROOT" || exit 1
if ! "$EDITIONC" build editions -o "$TMP/packs" >"$TMP/editionc.out" 2>&1; then
	cat "$TMP/editionc.out"
	bad "packs build"
	finish
fi
rm -f "$TMP/packs/manifest.json"
# shellcheck disable=SC2046
if ! ${CC:-gcc} -std=c17 -D_GNU_SOURCE -O1 -g -Wall -Wextra "$HERE/load.c" -o "$TMP/load" \
	$(pkg-config --cflags --libs libcurl); then
	bad "load client builds"
	finish
fi

RP=$(free_port) AP=$(free_port) BP=$(free_port) NP=$(free_port) SP=$(free_port)
A=http://127.0.0.1:$AP B=http://127.0.0.1:$BP N=http://127.0.0.1:$NP S=http://127.0.0.1:$SP
expect "redis-server starts on port $RP" 'start_redis'
start_editiond a "$AP"; rc=$?; A_PID=$LAST_PID
expect "instance A serves on port $AP" '[ $rc -eq 0 ]' "$(tail -3 "$TMP/a.out")"
start_editiond b "$BP"; rc=$?; B_PID=$LAST_PID
expect "instance B serves on port $BP" '[ $rc -eq 0 ]' "$(tail -3 "$TMP/b.out")"
nginx_config "$TMP/nginx" "$NP"
nginx_config "$TMP/sticky" "$SP" sticky
expect "the affinity line can be turned on" 'grep -q "^[[:space:]]*hash \$binary_remote_addr" "$TMP/sticky/nginx.conf"'
for line in "user $(id -un)" "pid $TMP" "error_log $TMP" "access_log $TMP" "127.0.0.1:$AP " \
	    "127.0.0.1:$BP " "listen 127.0.0.1:$NP;" "keepalive 32;"; do
	grep -qF -- "$line" "$TMP/nginx/nginx.conf" || bad "runtime/deploy/nginx.conf has its usual shape" \
		"no '$line' after substitution"
done
start_nginx "$TMP/nginx"; rc=$?; NGINX_PID=$LAST_PID
expect "nginx accepts the shipped config" '[ $rc -eq 0 ]' "$(cat "$TMP/nginx/t.out")"
expect "nginx serves on port $NP" 'wait_http "$N/healthz"' "$(cat "$TMP/nginx/out" "$TMP/nginx/error.log" 2>/dev/null | tail -3)"
start_nginx "$TMP/sticky"; rc=$?; STICKY_PID=$LAST_PID
expect "nginx accepts it with affinity" '[ $rc -eq 0 ]' "$(cat "$TMP/sticky/t.out")"
expect "and serves on port $SP" 'wait_http "$S/healthz"' "$(tail -3 "$TMP/sticky/error.log" 2>/dev/null)"
[ "$FAIL" -eq 0 ] || finish

# --- one session, every instance -----------------------------------------------------

read -r st T1 ED1 <<<"$(api_login "$A" chenjing)"
expect "login on A" '[ "$st" = 200 ] && [ ${#T1} -eq 64 ] && [ "$ED1" = mass ]' "status $st"
expect "A's session goes on on B" '[ "$(status "$B" /api/v1/mass/data/home "$T1")" = 200 ]'
codes=""
for _ in 1 2 3 4 5 6; do codes="$codes$(status "$N" /api/v1/mass/data/home "$T1") "; done
expect "and through nginx, round-robin" '[ "$codes" = "200 200 200 200 200 200 " ]' "$codes"
expect "as a cookie on B's pages" \
	'[ "$(curl -s -o /dev/null -w %{http_code} -b "obe_session=$T1" "$B/mass/home")" = 200 ]'
expect "an unknown token is refused on B" '[ "$(status "$B" /api/v1/mass/data/home "$(printf "%064d" 0)")" = 401 ]'

read -r st T2 _ <<<"$(api_login "$A" zhangwei)"
sw=$(curl -s --max-time 5 -H "Authorization: Bearer $T2" -H 'Content-Type: application/json' \
	-d '{"identity":"enterprise:1"}' "$B/api/v1/switch")
expect "switch to the enterprise identity on B" 'grep -q "\"edition\":\"enterprise-boss\"" <<<"$sw"' "$sw"
loc=$(curl -s -o /dev/null -w '%{redirect_url}' -b "obe_session=$T2" "$A/mass/home")
expect "A sees the switch (one session record, both identities)" 'grep -q "/enterprise-boss/" <<<"$loc"' "$loc"

out=$(curl -s --max-time 5 -X POST -H "Authorization: Bearer $T1" "$B/api/v1/logout")
expect "logout on B" 'grep -q "logged_out" <<<"$out"' "$out"
expect "logged out on A as well" '[ "$(status "$A" /api/v1/mass/data/home "$T1")" = 401 ]'

for i in 1 2 3 4 5; do
	if [ $((i % 2)) = 1 ]; then api_login "$A" john wrong >/dev/null; else api_login "$B" john wrong >/dev/null; fi
done
read -r st _ _ <<<"$(api_login "$A" john)"
expect "five failures spread over A and B lock the user on A" '[ "$st" = 429 ]' "status $st"
read -r st _ _ <<<"$(api_login "$N" john)"
expect "and through nginx" '[ "$st" = 429 ]' "status $st"

# --- Redis killed and restarted under load ------------------------------------------

: >"$TMP/tokens"
for user in chenjing lina wangfang liuqiang zhangwei; do
	for base in "$A" "$B"; do
		read -r st tok ed <<<"$(api_login "$base" "$user")"
		[ "$st" = 200 ] && echo "$tok $ed" >>"$TMP/tokens"
	done
done
expect "ten customers logged in" '[ "$(wc -l <"$TMP/tokens")" -eq 10 ]'
"$TMP/load" "$LOAD_SECONDS" "$TMP/tokens" "$A" "$B" "$N" >"$TMP/load.out" 2>&1 &
LOAD_PID=$!
sleep $((LOAD_SECONDS / 5))
{ kill -KILL "$REDIS_PID"; wait "$REDIS_PID"; } 2>/dev/null
REDIS_PID=""
sleep 1
read -r st T3 ED3 <<<"$(api_login "$A" lina)"
expect "login on A while Redis is down" '[ "$st" = 200 ] && [ ${#T3} -eq 64 ]' "status $st"
expect "that session works on A" '[ "$(status "$A" "/api/v1/$ED3/data/home" "$T3")" = 200 ]'
read -r st T4 ED4 <<<"$(api_login "$S" wangfang)"
codes=""
for _ in 1 2 3 4 5 6; do codes="$codes$(status "$S" "/api/v1/$ED4/data/home" "$T4") "; done
expect "with address affinity, a login through nginx during the outage goes on through it" \
	'[ "$st" = 200 ] && [ "$codes" = "200 200 200 200 200 200 " ]' "login $st, then $codes"
expect "A reports itself degraded" 'wait_metric "$A" session_store_degraded 1'
expect "B reports itself degraded" 'wait_metric "$B" session_store_degraded 1'
expect "readiness stays up while degraded" '[ "$(curl -s -o /dev/null -w %{http_code} "$A/readyz")" = 200 ]'
sleep $((LOAD_SECONDS / 4))
expect "redis-server restarts on port $RP (empty)" 'start_redis'
expect "A leaves the degraded state by itself" 'wait_metric "$A" session_store_degraded 0'
expect "B leaves the degraded state by itself" 'wait_metric "$B" session_store_degraded 0'
wait "$LOAD_PID"
rc=$?
LOAD_PID=""
expect "no request failed under load ($(head -1 "$TMP/load.out"))" '[ $rc -eq 0 ]' "$(tail -12 "$TMP/load.out")"
expect "the session made during the outage is on B now" \
	'[ "$(status "$B" "/api/v1/$ED3/data/home" "$T3")" = 200 ]'
expect "and through nginx" '[ "$(status "$N" "/api/v1/$ED3/data/home" "$T3")" = 200 ]'
expect "the one made through nginx with affinity is on both instances" \
	'[ "$(status "$A" "/api/v1/$ED4/data/home" "$T4")" = 200 ] && [ "$(status "$B" "/api/v1/$ED4/data/home" "$T4")" = 200 ]'
lost=0
while read -r tok ed; do
	for base in "$A" "$B"; do
		[ "$(status "$base" "/api/v1/$ed/data/home" "$tok")" = 200 ] || lost=$((lost + 1))
	done
done <"$TMP/tokens"
expect "nobody was logged out" '[ $lost -eq 0 ]' "$lost token/instance pairs refused"
expect "A counted one outage" '[ "$(metric "$A" session_store_outages_total)" = 1 ]'
expect "A wrote its changes back" '[ "$(metric "$A" session_store_writebacks_total)" -gt 0 ]'

# --- shutdown ---------------------------------------------------------------------------

kill -TERM "$A_PID" "$B_PID"
wait "$A_PID"; rc_a=$?
wait "$B_PID"; rc_b=$?
A_PID="" B_PID=""
expect "both instances stop cleanly" '[ $rc_a -eq 0 ] && [ $rc_b -eq 0 ]' "exit $rc_a, $rc_b"
expect "no sanitizer report" '! grep -q "ERROR: AddressSanitizer\|runtime error:" "$TMP/a.out" "$TMP/b.out"'
finish
