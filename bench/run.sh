#!/usr/bin/env bash
# bench/run.sh: editiond side by side with nginx, and the other figures of
# DESIGN.md section 7. Writes bench/results.md (RESULTS=path to write elsewhere;
# BENCH_QUICK=1 writes /tmp/editiond-bench-quick.md unless RESULTS says otherwise).
#
#   (a) GET one screen's JSON: editiond against nginx serving the same bytes
#       as a static file (identity encoding on both: wrk sends no
#       Accept-Encoding, nginx has gzip off).
#   (b) POST a read-only flow: editiond against nginx + lua-nginx-module
#       (LuaJIT) running the same editions/flows/*.lua on the same data
#       (bench/flow_stub.lua, data written by bench/stubdata.c from editiond's
#       own bank and packs), JSON by lua-cjson.
#   (c) SIGHUP to editiond once a second for 60 s while wrk sends keep-alive
#       GETs: every answer must be a 2xx, no socket errors.
#   (d) bench/compile.sh: editionc against the libyaml+zlib floor.
#   (e) VmRSS and VmHWM of a fresh editiond with the six packs after warm-up
#       requests to every edition (screens, H5 pages, flows).
#
# Fairness: one server process/worker thread each (editiond --workers 1,
# nginx worker_processes 1), servers pinned to CPU 0 and wrk to CPU 1
# (taskset), wrk -t1 -c32, keep-alive on both, access logs off on both
# (editiond --log /dev/null), the same response headers on both. Each case
# alternates the two servers, RUNS runs each (default 3) of DUR seconds after
# a warm-up; medians of requests/s and of wrk's p99 latency.
# BENCH_QUICK=1: 3 s runs and a 10 s reload case, for development.
# Everything listens on 127.0.0.1; every process started here is stopped on exit.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
EDITIONC=${EDITIONC:-$root/build/editionc}
EDITIOND=${EDITIOND:-$root/build/editiond}
# A quick run never overwrites the committed figures of a full run.
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RESULTS=${RESULTS:-/tmp/editiond-bench-quick.md}
else
	RESULTS=${RESULTS:-$bench/results.md}
fi
RUNS=${RUNS:-3}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	DUR=${DUR:-3}; RELOAD_SECS=${RELOAD_SECS:-10}; WARM=1
else
	DUR=${DUR:-10}; RELOAD_SECS=${RELOAD_SECS:-60}; WARM=3
fi
THREADS=1
CONNS=32
SERVER_CPU=0
CLIENT_CPU=1
FLOWS="wealth_list accounts_overview"

for tool in nginx wrk curl python3 taskset timeout gcc; do
	command -v "$tool" >/dev/null || { echo "bench: '$tool' is missing (make bench installs it)" >&2; exit 1; }
done
for f in "$EDITIONC" "$EDITIOND"; do
	[ -x "$f" ] || { echo "bench: '$f' is missing: run make first" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then
	CLIENT_CPU=0
	echo "bench: one CPU only: server and wrk share it" >&2
fi
# lua-cjson for LuaJIT: the JSON library lua-nginx-module users take.
if [ ! -f /usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so ] && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua-cjson >/dev/null 2>&1 || true
fi
have_lua=1
[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ] && [ -f /usr/lib/x86_64-linux-gnu/lua/5.1/cjson.so ] || have_lua=0
[ $have_lua = 1 ] || echo "bench: lua-nginx-module or lua-cjson missing: case (b) is skipped" >&2

work=$(mktemp -d /tmp/editiond-bench.XXXXXX)
chmod 755 "$work"   # nginx workers run as an unprivileged user
pids=""
cleanup() {
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s bench: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

read -r P_ED P_STATIC P_LUA P_MEM P_PLAIN P_FLOOR P_FLOOR2 < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(7)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')

# --- packs, stub data, servers ---------------------------------------------------
log "compiling the six editions"
"$EDITIONC" build "$root/editions" -o "$work/packs" -q
mkdir -p "$work/nginx-tmp"

# stubdata links the runtime's objects: the Makefile's package list.
pkgs=$(sed -n 's/^PKGS *:= *//p' "$root/Makefile")
objs=$(ls "$root"/build/runtime/*.o | grep -v '/main\.o$')
gcc -std=c17 -D_GNU_SOURCE -O2 -I"$root/compiler" -I"$root/runtime" $(pkg-config --cflags $pkgs) \
	-o "$work/stubdata" "$bench/stubdata.c" $objs "$root/build/compiler/pack.o" "$root/build/compiler/strbuf.o" \
	$(pkg-config --libs $pkgs) -lpthread -lm
taskset -c "$SERVER_CPU" "$work/stubdata" "$work/packs" "$work/data" mass zhangwei --time 20000 \
	>"$work/stub.json" 2>"$work/bank-time.txt"
gcc -std=c17 -D_GNU_SOURCE -O2 -I"$root/compiler" $(pkg-config --cflags lua5.4 jansson) -o "$work/json_path" \
	"$bench/json_path.c" "$root/build/compiler/strbuf.o" $(pkg-config --libs lua5.4 jansson)
gcc -std=c17 -D_GNU_SOURCE -O2 -o "$work/mhd_floor" "$bench/mhd_floor.c" $(pkg-config --cflags --libs libmicrohttpd) -lpthread

# Waits until url answers (10 s at most).
wait_up() {
	for _ in $(seq 100); do
		curl -s -m 1 -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "bench: nothing answers at $1" >&2
	exit 1
}

# start_editiond PORT DATA WORKERS [taskset cpus]: sets ED_PID.
start_editiond() {
	local cpus=${4:-$SERVER_CPU}
	taskset -c "$cpus" "$EDITIOND" --packs "$work/packs" --listen "127.0.0.1:$1" --data "$2" \
		--workers "$3" --log /dev/null &
	ED_PID=$!
	pids="$pids $ED_PID"
	wait_up "http://127.0.0.1:$1/healthz"
}

# start_nginx NAME PORT: fills in bench/nginx-NAME.conf and starts it on SERVER_CPU; sets NGINX_PID.
start_nginx() {
	[ "$1" = static-plain ] || sed -e "s|@WORK@|$work|g; s|@PORT@|$2|g; s|@BENCH@|$bench|g; s|@FLOWS@|$root/editions/flows|g; s|@TOKEN@|$TOKEN|g" \
		"$bench/nginx-$1.conf" >"$work/nginx-$1.conf"
	taskset -c "$SERVER_CPU" nginx -p "$work" -c "$work/nginx-$1.conf" -e "$work/nginx-$1.err" &
	NGINX_PID=$!
	pids="$pids $NGINX_PID"
	wait_up "http://127.0.0.1:$2/"
}

login() {  # login PORT USER: prints the bearer token
	curl -s -m 5 -X POST -H 'Content-Type: application/json' -d "{\"username\":\"$2\",\"password\":\"demo1234\"}" "http://127.0.0.1:$1/api/v1/login" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

log "starting editiond (1 worker) and nginx on CPU $SERVER_CPU"
start_editiond "$P_ED" "$work/data" 1
ED_BENCH_PID=$ED_PID
TOKEN=$(login "$P_ED" zhangwei)
export BENCH_TOKEN=$TOKEN
SCREEN_URL=/api/v1/mass/screens/home
curl -s -m 5 -o "$work/home.json" "http://127.0.0.1:$P_ED$SCREEN_URL"
start_nginx static "$P_STATIC"
NGINX_STATIC_PID=$NGINX_PID
# For comparison only: the static peer as Debian's nginx.conf sets it up
# (sendfile on, no open_file_cache).
sed -e "s|@WORK@|$work|g; s|@PORT@|$P_PLAIN|g; s|static\.pid|static-plain.pid|; s|^\tsendfile off;|\tsendfile on;|; /open_file_cache/d" \
	"$bench/nginx-static.conf" >"$work/nginx-static-plain.conf"
start_nginx static-plain "$P_PLAIN"
NGINX_PLAIN_PID=$NGINX_PID
NGINX_LUA_PID=
if [ $have_lua = 1 ]; then
	start_nginx lua "$P_LUA"
	NGINX_LUA_PID=$NGINX_PID
fi

# The two sides must answer the same: the same bytes for (a), the same length for (b).
curl -s -m 5 -o "$work/home-nginx.json" "http://127.0.0.1:$P_STATIC$SCREEN_URL"
cmp -s "$work/home.json" "$work/home-nginx.json" || { echo "bench: nginx does not serve editiond's bytes" >&2; exit 1; }
for side in ed static; do
	port=$P_ED; [ $side = static ] && port=$P_STATIC
	curl -s -m 5 -D - -o /dev/null "http://127.0.0.1:$port$SCREEN_URL" >"$work/headers-a-$side.txt"
done
if [ $have_lua = 1 ]; then
	for f in $FLOWS; do
		for side in ed lua; do
			port=$P_ED; [ $side = lua ] && port=$P_LUA
			curl -s -m 5 -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{}' \
				-D "$work/headers-b-$f-$side.txt" -o "$work/body-$f-$side.json" "http://127.0.0.1:$port/api/v1/mass/flows/$f"
		done
		python3 - "$work/body-$f-ed.json" "$work/body-$f-lua.json" <<'PY' || { echo "bench: flow '$f' answers differ" >&2; exit 1; }
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if a == b else 1)
PY
	done
fi

# --- (a) and (b): alternating runs -----------------------------------------------
# The machine may be shared: besides requests/s (which other load on CPU 0
# lowers), each run records the CPU time the server used (every thread of
# the server and of its child processes, from /proc/PID/task/*/schedstat)
# and the load average, so that the report can give CPU time per request.
server_cpu_ns() {
	local p t sum=0
	for p in "$1" $(pgrep -P "$1" || true); do
		for t in /proc/"$p"/task/*/schedstat; do
			[ -r "$t" ] && sum=$((sum + $(cut -d' ' -f1 "$t")))
		done
	done
	echo "$sum"
}

# wrk_run OUT PID URL [wrk args...]: one bounded wrk run on CLIENT_CPU; OUT.cpu
# gets the server's CPU nanoseconds during the run and the load average.
wrk_run() {
	local out=$1 pid=$2 url=$3 c0 c1
	shift 3
	c0=$(server_cpu_ns "$pid")
	timeout $((DUR + 30)) taskset -c "$CLIENT_CPU" wrk -t$THREADS -c$CONNS -d${DUR}s --latency "$@" "$url" >"$out"
	c1=$(server_cpu_ns "$pid")
	echo "$((c1 - c0)) $(cut -d' ' -f1 /proc/loadavg)" >"$out.cpu"
}

# side_by_side CASE PATH PEERPORT PEERPID [wrk args...]: side A is editiond
# unless A_PORT and A_PID name another server.
side_by_side() {
	local case=$1 path=$2 peer=$3 peerpid=$4 aport=${A_PORT:-$P_ED} apid=${A_PID:-$ED_BENCH_PID}
	shift 4
	DUR=$WARM wrk_run "$work/warm.txt" "$apid" "http://127.0.0.1:$aport$path" "$@"
	DUR=$WARM wrk_run "$work/warm.txt" "$peerpid" "http://127.0.0.1:$peer$path" "$@"
	for i in $(seq "$RUNS"); do
		wrk_run "$work/$case-editiond-$i.txt" "$apid" "http://127.0.0.1:$aport$path" "$@"
		wrk_run "$work/$case-nginx-$i.txt" "$peerpid" "http://127.0.0.1:$peer$path" "$@"
	done
}

log "(a) GET $SCREEN_URL: $RUNS x ${DUR}s per side"
side_by_side a "$SCREEN_URL" "$P_STATIC" "$NGINX_STATIC_PID"
log "(a, for comparison) the same against nginx with sendfile on, no open_file_cache"
side_by_side a-plain "$SCREEN_URL" "$P_PLAIN" "$NGINX_PLAIN_PID"
# The HTTP library's floor (bench/mhd_floor.c): what editiond could reach at best.
for v in floor floor-shared; do
	port=$P_FLOOR
	[ $v = floor-shared ] && port=$P_FLOOR2
	taskset -c "$SERVER_CPU" "$work/mhd_floor" "$work/home.json" "$port" $([ $v = floor-shared ] && echo shared) &
	fpid=$!
	pids="$pids $fpid"
	wait_up "http://127.0.0.1:$port/"
	log "(a, for comparison) bench/mhd_floor.c${v#floor} against nginx"
	A_PORT=$port A_PID=$fpid side_by_side "a-$v" "$SCREEN_URL" "$P_STATIC" "$NGINX_STATIC_PID"
	kill -TERM "$fpid"
done
if [ $have_lua = 1 ]; then
	for f in $FLOWS; do
		log "(b) POST /api/v1/mass/flows/$f: $RUNS x ${DUR}s per side"
		side_by_side "b-$f" "/api/v1/mass/flows/$f" "$P_LUA" "$NGINX_LUA_PID" -s "$bench/post.lua"
	done
fi

# The JSON conversions around a flow, apart from HTTP and SQLite (bench/json_path.c).
for f in $FLOWS home_summary; do
	timeout 120 taskset -c "$SERVER_CPU" "$work/json_path" "$work/stub.json" "$root/editions/flows/$f.lua" 5000 \
		>>"$work/json-path.txt" 2>&1 || echo "json_path failed for $f" >>"$work/json-path.txt"
done

# --- (c) reload once a second under load -----------------------------------------
reloads() {
	curl -s -m 5 "http://127.0.0.1:$P_ED/metrics" | awk '/^reloads_total\{.*"ok"\}/ { n = $2 } END { print n + 0 }'
}
log "(c) SIGHUP once a second for ${RELOAD_SECS}s under wrk"
r0=$(reloads)
timeout $((RELOAD_SECS + 30)) taskset -c "$CLIENT_CPU" wrk -t$THREADS -c$CONNS -d${RELOAD_SECS}s --latency \
	-s "$bench/count.lua" "http://127.0.0.1:$P_ED$SCREEN_URL" >"$work/c.txt" &
wrk_pid=$!
pids="$pids $wrk_pid"
sent=0
for _ in $(seq $((RELOAD_SECS - 1))); do
	sleep 1
	kill -HUP "$ED_BENCH_PID"
	sent=$((sent + 1))
done
wait "$wrk_pid" || true
sleep 1
r1=$(reloads)
kill -0 "$ED_BENCH_PID" 2>/dev/null && alive=yes || alive=no
echo "sighup_sent $sent reloads_ok $((r1 - r0)) alive $alive" >"$work/c-meta.txt"
grep -E '^(VmRSS|VmHWM)' "/proc/$ED_BENCH_PID/status" >"$work/mem-bench.txt" 2>/dev/null || true

# --- (d) compile ------------------------------------------------------------------
log "(d) bench/compile.sh"
RUNS=${COMPILE_RUNS:-5} bash "$bench/compile.sh" "$EDITIONC" >"$work/d.txt" 2>&1 || echo "compile.sh failed" >>"$work/d.txt"

# --- (e) memory of a fresh editiond -------------------------------------------------
log "(e) memory of a fresh editiond (default workers) after warm-up"
start_editiond "$P_MEM" "$work/data-mem" 2 "0-$(($(nproc) - 1))"
MEM_PID=$ED_PID
python3 - "$P_MEM" "$work/packs" "$EDITIONC" >"$work/e-warm.txt" <<'PY'
# Warm-up: every screen of every edition (plain and gzip), every GET page and
# every screen's data of each demo customer's edition (the enterprise ones
# after switching identity), through the JSON API and the H5 pages.
import collections, http.cookiejar, json, re, subprocess, sys, urllib.parse, urllib.request
port, packs, editionc = sys.argv[1], sys.argv[2], sys.argv[3]
base = "http://127.0.0.1:%s" % port
status = collections.Counter()

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None

def fetch(opener, path, data=None, headers=None):
    req = urllib.request.Request(base + path, data=data, headers=headers or {})
    try:
        with opener.open(req, timeout=10) as r:
            status[r.status] += 1
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        status[e.code] += 1
        return e.code, e.read().decode("utf-8", "replace")

plain = urllib.request.build_opener(NoRedirect)
manifest = json.load(open(packs + "/manifest.json"))
info = {}
for e in manifest["editions"]:
    d = json.loads(subprocess.run([editionc, "inspect", packs + "/" + e["file"], "--json"],
                                  capture_output=True, text=True, check=True).stdout)
    info[e["edition"]] = d
    for s in d["screens"]:
        fetch(plain, "/api/v1/%s/screens/%s" % (e["edition"], s["id"]))
        fetch(plain, "/api/v1/%s/screens/%s" % (e["edition"], s["id"]), headers={"Accept-Encoding": "gzip"})
    fetch(plain, "/%s/theme.css" % e["edition"])

users = [("zhangwei", None), ("lina", None), ("wangfang", None), ("john", None),
         ("chenjing", None), ("zhangwei", "enterprise:1"), ("liuqiang", "enterprise:1")]
for user, identity in users:
    # the JSON API with a bearer token
    st, body = fetch(plain, "/api/v1/login", json.dumps({"username": user, "password": "demo1234"}).encode(),
                     {"Content-Type": "application/json"})
    tok = json.loads(body)
    if "token" not in tok:
        print("warm-up: cannot log in '%s': %s %s" % (user, st, body.strip()), file=sys.stderr)
        continue
    auth = {"Authorization": "Bearer " + tok["token"], "Content-Type": "application/json"}
    ed = tok["edition"]
    if identity:
        st, body = fetch(plain, "/api/v1/switch", json.dumps({"identity": identity}).encode(), auth)
        ed = json.loads(body).get("edition", ed)
    for s in info[ed]["screens"]:
        fetch(plain, "/api/v1/%s/data/%s" % (ed, s["id"]), headers=auth)
    # the H5 pages with a cookie session
    jar = http.cookiejar.CookieJar()
    web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    st, page = fetch(web, "/login")
    csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', page)
    form = {"username": user, "password": "demo1234", "_csrf": csrf.group(1) if csrf else ""}
    st, page = fetch(web, "/login", urllib.parse.urlencode(form).encode())
    if identity:
        csrf = re.search(r'name="_csrf" value="([0-9a-f]+)"', page)
        form = {"identity": identity, "_csrf": csrf.group(1) if csrf else ""}
        fetch(web, "/switch", urllib.parse.urlencode(form).encode())
    for r in info[ed]["routes"]:
        if r["method"] == "GET" and "{" not in r["path"]:
            fetch(web, "/%s%s" % (ed, r["path"]))
print("warm-up: %d requests, by status: %s" % (sum(status.values()),
      ", ".join("%d: %d" % kv for kv in sorted(status.items()))))
PY
grep -E '^(VmRSS|VmHWM)' "/proc/$MEM_PID/status" >"$work/mem.txt"
curl -s -m 5 "http://127.0.0.1:$P_MEM/metrics" | grep -E '^packs_loaded' >>"$work/e-warm.txt" || true

# --- report -----------------------------------------------------------------------
log "writing $RESULTS"
{
	echo "nproc $(nproc)"
	echo "cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "mem $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kernel $(uname -r)"
	echo "nginx $(nginx -v 2>&1 | sed 's/^nginx version: //')"
	echo "lua-nginx-module $(dpkg-query -W -f='${Version}' libnginx-mod-http-lua 2>/dev/null || echo '?')"
	echo "luajit $(dpkg-query -W -f='${Version}' libluajit2-5.1-2 2>/dev/null || echo '?')"
	echo "lua-cjson $(dpkg-query -W -f='${Version}' lua-cjson 2>/dev/null || echo '?')"
	echo "editiond $("$EDITIOND" --version)"
	echo "libmicrohttpd $(pkg-config --modversion libmicrohttpd)"
	echo "wrk $(wrk -v 2>&1 | head -1 | awk '{ print $2 }')"
	echo "git $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
} >"$work/machine.txt"
python3 - "$work" "$RESULTS" "$RUNS" "$DUR" "$RELOAD_SECS" "$THREADS" "$CONNS" "$SERVER_CPU" "$CLIENT_CPU" \
	"$have_lua" "$FLOWS" "${BENCH_QUICK:-0}" "$root" <<'PY'
import os, re, statistics, sys
work, out, runs, dur, rsecs, threads, conns, scpu, ccpu, have_lua, flows, quick, root_dir = sys.argv[1:14]
runs = int(runs)
flows = flows.split()

def wrk(path):
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    nreq = int(re.search(r"(\d+) requests in", t).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", t)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
    errs = (int(non.group(1)) if non else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    cpu_ns, load = open(path + ".cpu").read().split()
    return rps, p99, errs, int(cpu_ns) / 1000.0 / max(nreq, 1), float(load)

def case(name):
    ed = [wrk("%s/%s-editiond-%d.txt" % (work, name, i)) for i in range(1, runs + 1)]
    ng = [wrk("%s/%s-nginx-%d.txt" % (work, name, i)) for i in range(1, runs + 1)]
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    return {"ed_rps": med(ed, 0), "ng_rps": med(ng, 0), "ed_p99": med(ed, 1), "ng_p99": med(ng, 1),
            "ed_us": med(ed, 3), "ng_us": med(ng, 3), "load": med(ed + ng, 4),
            "ed_all": ed, "ng_all": ng, "errors": sum(x[2] for x in ed + ng)}

machine = dict(l.rstrip("\n").split(" ", 1) for l in open(work + "/machine.txt"))
rows, notes = [], []
a = case("a")
size_a = os.path.getsize(work + "/home.json")
rows.append(("(a) GET screen `mass/home` (%d B JSON)" % size_a, a, ">= 1.2x"))
rows.append(("(a, comparison only) the same against nginx with `sendfile on`, no `open_file_cache` (Debian's nginx.conf)",
             case("a-plain"), "-"))
rows.append(("(a, comparison only) bench/mhd_floor.c in editiond's place: libmicrohttpd set up as editiond, same headers, nothing else",
             case("a-floor"), "-"))
rows.append(("(a, comparison only) bench/mhd_floor.c with one response built at start (no X-Request-Id)",
             case("a-floor-shared"), "-"))
if have_lua == "1":
    for f in flows:
        b = case("b-" + f)
        size_b = os.path.getsize("%s/body-%s-ed.json" % (work, f))
        rows.append(("(b) POST flow `%s` (%d B JSON)" % (f, size_b), b, ">= 1.2x"))

def verdict(ratio, target):
    if target == "-":
        return "-"
    return "met" if ratio >= 1.2 else "**not met**"

L = []
w = L.append
w("# Benchmark results")
w("")
w("Written by `make bench` (bench/run.sh)%s. Every figure below comes from one run of the" %
  (" with BENCH_QUICK=1 (short runs: development figures only)" if quick == "1" else ""))
w("script on this machine; the method is in bench/README.md.")
w("")
w("## Machine and versions")
w("")
w("| | |")
w("|---|---|")
for k in ["nproc", "cpu", "mem", "kernel", "nginx", "lua-nginx-module", "luajit", "lua-cjson",
          "editiond", "libmicrohttpd", "wrk", "git"]:
    w("| %s | %s |" % (k, machine.get(k, "?")))
w("")
summary_at = len(L)
w("## Side by side: requests/s (median of %d runs of %s s, after a warm-up) and p99 latency" % (runs, dur))
w("")
w("Server pinned to CPU %s (`taskset`), one worker (editiond `--workers 1`, nginx `worker_processes 1`);"
  " wrk pinned to CPU %s: `wrk -t%s -c%s -d%ss --latency`; keep-alive on both, access log off on both," % (
      scpu, ccpu, threads, conns, dur))
w("identity encoding on both (wrk sends no Accept-Encoding; nginx `gzip off`), the same response headers on both.")
w("")
w("Rows marked *comparison only* have no target: they show how the figure depends on nginx's set-up, and what")
w("libmicrohttpd itself allows (bench/mhd_floor.c stands in the editiond columns there).")
w("")
w("| case | editiond req/s | nginx req/s | ratio | target | verdict | editiond p99 ms | nginx p99 ms | errors |")
w("|---|---:|---:|---:|---|---|---:|---:|---:|")
for name, c, target in rows:
    ratio = c["ed_rps"] / c["ng_rps"]
    w("| %s | %.0f | %.0f | %.2fx | %s | %s | %.2f | %.2f | %d |" % (
        name, c["ed_rps"], c["ng_rps"], ratio, target, verdict(ratio, target), c["ed_p99"], c["ng_p99"],
        c["errors"]))
w("")
w("The same runs by the server's CPU time per request (all threads and processes of the server, from"
  " /proc/PID/task/*/schedstat), which other load on the machine disturbs less than requests/s;"
  " ratio = nginx's CPU per request / editiond's:")
w("")
w("| case | editiond CPU us/req | nginx CPU us/req | ratio | load average (median) |")
w("|---|---:|---:|---:|---:|")
for name, c, target in rows:
    w("| %s | %.1f | %.1f | %.2fx | %.2f |" % (name, c["ed_us"], c["ng_us"], c["ng_us"] / c["ed_us"], c["load"]))
w("")
w("Every run, editiond / nginx (req/s, CPU us/req, load average at the end):")
w("")
fmt = lambda xs: ", ".join("%.0f %.1f %.2f" % (x[0], x[3], x[4]) for x in xs)
for name, c, _ in rows:
    w("- %s: %s / %s" % (name, fmt(c["ed_all"]), fmt(c["ng_all"])))
if have_lua != "1":
    w("- (b) skipped: lua-nginx-module or lua-cjson is not installed.")
w("")

if have_lua == "1":
    w("What the JSON conversions around a flow cost, apart from HTTP, sessions and SQLite (bench/json_path.c,"
      " CPU time of one thread, the flow's Lua included in both): the *jansson way* is editiond's (bank"
      " results as jansson values pushed into Lua, the result table turned into a jansson tree, then"
      " json_dumps); the *direct way* keeps the catalogue, accounts, profile and ctx as Lua tables built once,"
      " returns shallow copies, and writes the result as JSON text in one pass.")
    w("")
    w("```")
    w(open(work + "/json-path.txt").read().strip().replace(root_dir + "/", ""))
    w("```")
    w("")
    w("What the sandbox bank costs a flow per bank.* call, apart from Lua and HTTP (bench/stubdata.c --time:"
      " bank_call for the same customer, identity check, SQLite and the result as jansson values; CPU time):")
    w("")
    w("```")
    w(open(work + "/bank-time.txt").read().strip())
    w("```")
    w("")

# (c)
t = open(work + "/c.txt").read()
cm = re.search(r"counted: (\d+) responses, (\d+) non-2xx", t)
em = re.search(r"errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
meta = open(work + "/c-meta.txt").read().split()
meta = dict(zip(meta[0::2], meta[1::2]))
total, non2xx = (int(cm.group(1)), int(cm.group(2))) if cm else (0, -1)
sock = sum(int(x) for x in em.groups()) if em else -1
rps_c = re.search(r"Requests/sec:\s+([\d.]+)", t)
failed = non2xx + sock if non2xx >= 0 and sock >= 0 else -1
w("## Reload under load")
w("")
w("`wrk -t%s -c%s -d%ss` keep-alive GETs of the screen above while bench/run.sh sends SIGHUP to editiond"
  " once a second (%s signals); every response is counted by status (bench/count.lua)." % (threads, conns, rsecs, meta.get("sighup_sent")))
w("")
w("| responses | non-2xx | socket errors (connect/read/write/timeout) | reloads done (`reloads_total{result=\"ok\"}`) | req/s | editiond alive after | target | verdict |")
w("|---:|---:|---|---:|---:|---|---|---|")
w("| %d | %d | %s | %s | %s | %s | 0 failed | %s |" % (
    total, non2xx, "/".join(em.groups()) if em else "?", meta.get("reloads_ok"),
    rps_c.group(1) if rps_c else "?", meta.get("alive"),
    "met" if failed == 0 and meta.get("alive") == "yes" else "**not met**"))
w("")

# (d)
d = open(work + "/d.txt").read()
dm = re.search(r"^six\s+(\d+)\s+(\d+) KiB \|\s+([\d.]+)\s+([\d.]+) \|\s+([\d.]+)\s+([\d.]+) \|\s+([\d.]+)\s+([\d.]+)", d, re.M)
w("## Compiling the six editions (bench/compile.sh)")
w("")
if dm:
    ratio = compile_ratio = float(dm.group(7))
    w("| editionc wall ms | floor wall ms | ratio (wall) | target | verdict |")
    w("|---:|---:|---:|---|---|")
    w("| %s | %s | %.2fx | <= 2x | %s |" % (dm.group(3), dm.group(5), ratio, "met" if ratio <= 2 else "**not met**"))
else:
    w("bench/compile.sh gave no figure for the six editions.")
w("")
w("bench/compile.sh's output:")
w("")
w("```")
w(d.strip())
w("```")
w("")

# (e)
mem = dict(l.split(":", 1) for l in open(work + "/mem.txt"))
kb = lambda s: int(s.split()[0])
rss, hwm = kb(mem["VmRSS"]), kb(mem["VmHWM"])
warm = open(work + "/e-warm.txt").read().strip()
w("## Memory with the six editions loaded")
w("")
w("A fresh editiond (default `--workers 2`, all CPUs) after the warm-up; %s." % warm.replace("\n", "; "))
w("")
w("| VmRSS | VmHWM | target | verdict |")
w("|---:|---:|---|---|")
w("| %.1f MiB | %.1f MiB | RSS < 64 MB | %s |" % (rss / 1024, hwm / 1024, "met" if rss * 1024 < 64e6 else "**not met**"))
if os.path.exists(work + "/mem-bench.txt") and os.path.getsize(work + "/mem-bench.txt"):
    mb = dict(l.split(":", 1) for l in open(work + "/mem-bench.txt"))
    w("")
    w("For comparison, the benchmarked editiond (1 worker) after (a), (b) and the reloads of (c):"
      " VmRSS %.1f MiB, VmHWM %.1f MiB." % (kb(mb["VmRSS"]) / 1024, kb(mb["VmHWM"]) / 1024))
w("")
w("## Responses compared")
w("")
w("Headers of one response of each side in case (a) (the bodies are byte-identical, checked with cmp):")
w("")
for side in ["ed", "static"]:
    w("```")
    w(open("%s/headers-a-%s.txt" % (work, side)).read().strip().replace("\r", ""))
    w("```")
if have_lua == "1":
    w("")
    w("In case (b) both sides' bodies decode to the same JSON value (checked); sizes: %s." % ", ".join(
        "%s %d / %d B" % (f, os.path.getsize("%s/body-%s-ed.json" % (work, f)), os.path.getsize("%s/body-%s-lua.json" % (work, f)))
        for f in flows))
# The summary against DESIGN.md section 7, placed before the details.
S = ["## Against the targets (DESIGN.md section 7)", "",
     "| figure | measured | target | verdict |", "|---|---|---|---|"]
for name, c, target in rows:
    if target == "-":
        continue
    S.append("| %s | %.2fx nginx's req/s (%.0f / %.0f); by CPU time per request %.2fx | %s | %s |" % (
        name, c["ed_rps"] / c["ng_rps"], c["ed_rps"], c["ng_rps"], c["ng_us"] / c["ed_us"], target,
        verdict(c["ed_rps"] / c["ng_rps"], target)))
S.append("| (c) reload once a second for %s s under load | %d failed of %d (%s non-2xx, %s socket errors), %s reloads | 0 failed | %s |" % (
    rsecs, failed, total, non2xx, sock, meta.get("reloads_ok"),
    "met" if failed == 0 and meta.get("alive") == "yes" else "**not met**"))
if dm:
    S.append("| (d) compile the six editions | %.2fx the floor (%s / %s ms wall) | <= 2x | %s |" % (
        compile_ratio, dm.group(3), dm.group(5), "met" if compile_ratio <= 2 else "**not met**"))
S.append("| (e) memory, six editions loaded | VmRSS %.1f MiB (VmHWM %.1f MiB) | < 64 MB | %s |" % (
    rss / 1024, hwm / 1024, "met" if rss * 1024 < 64e6 else "**not met**"))
S.append("")
loads = [c["load"] for _, c, _ in rows]
if max(loads) > int(machine.get("nproc", "1")):
    S.append("The machine was shared while measuring: the load average reached %.1f on %s CPUs (other processes,"
             " not the benchmark). Requests/s and p99 latency vary with that load from run to run; the server's CPU"
             " time per request, given beside them, is the steadier figure." % (max(loads), machine.get("nproc")))
    S.append("")
L[summary_at:summary_at] = S
open(out, "w").write("\n".join(L) + "\n")
PY
log "done: $RESULTS"
