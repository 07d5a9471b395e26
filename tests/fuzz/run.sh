#!/usr/bin/env bash
# run.sh: `make fuzz`. Builds every target with clang-14 (libFuzzer, ASan,
# UBSan) and runs each for FUZZ_SECONDS (default 60), at most FUZZ_PARALLEL
# (default 2) at once.
#
#   FUZZ_SECONDS=300 bash tests/fuzz/run.sh            every target
#   FUZZ_SECONDS=30 bash tests/fuzz/run.sh pack http   some targets
#
# Each target starts from its committed seeds (tests/fuzz/corpus/<name>/) and
# keeps what it finds in a scratch corpus, build-fuzz/corpus/<name>/ (not in
# git; it grows from run to run). A crashing input is copied into the committed
# corpus as crash-<name>-<sha1>, so tests/fuzz/regress.sh replays it from then
# on, and the script ends non-zero. Logs: build-fuzz/logs/<name>.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

seconds=${FUZZ_SECONDS:-60}
parallel=${FUZZ_PARALLEL:-2}
bash tests/fuzz/build.sh fuzz || { echo "fuzz: build failed" >&2; exit 2; }

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for t in tests/fuzz/fuzz_*.c; do
		n=$(basename "$t" .c)
		[ "$n" = fuzz_common ] || targets+=("${n#fuzz_}")
	done
fi

mkdir -p build-fuzz/logs build-fuzz/crashes
export FUZZ_ROOT=$root FUZZ_PACKS=$root/build-fuzz/packs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One target: fuzz, then report. Prints "name: ..." lines; exit status 1 on a crash.
fuzz_one() {
	local name=$1 bin=build-fuzz/fuzz/fuzz_$1 seeds=tests/fuzz/corpus/$1
	local scratch=build-fuzz/corpus/$1 crashes=build-fuzz/crashes/$1 log=build-fuzz/logs/$1.log
	local opts=()
	[ -f "tests/fuzz/$name.dict" ] && opts+=("-dict=tests/fuzz/$name.dict")
	[ -f "tests/fuzz/$name.options" ] && read -r -a extra < "tests/fuzz/$name.options" && opts+=("${extra[@]}")
	mkdir -p "$scratch" "$crashes"
	"$bin" "${opts[@]}" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 \
		-artifact_prefix="$crashes/" -print_final_stats=1 "$scratch" "$seeds" > "$log" 2>&1
	local rc=$?
	local stats
	stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 |
		sed -E 's/.*(cov: [0-9]+).*(ft: [0-9]+).*(corp: [^ ]+).*(exec\/s: [0-9]+).*/\1 \2 \3 \4/')
	local found=0
	for f in "$crashes"/*; do
		[ -f "$f" ] || continue
		local sum
		sum=$(sha1sum "$f" | cut -c1-16)
		cp "$f" "$seeds/crash-$name-$sum"
		echo "$name: CRASH: input kept as $seeds/crash-$name-$sum (report in $log)"
		rm -f "$f"
		found=1
	done
	if [ $found = 0 ] && [ $rc != 0 ]; then
		echo "$name: FAILED with status $rc and no crash input (see $log)"
		return 1
	fi
	[ $found = 1 ] && return 1
	echo "$name: ok after ${seconds}s: $stats; scratch corpus $(ls "$scratch" | wc -l) inputs"
	return 0
}
export -f fuzz_one
export seconds

printf '%s\n' "${targets[@]}" | xargs -P "$parallel" -I{} bash -c 'fuzz_one {}'
rc=$?
if [ $rc != 0 ]; then
	echo "fuzz: at least one target crashed or failed; crash inputs are in tests/fuzz/corpus/<name>/crash-*" >&2
	exit 1
fi
echo "fuzz: every target ran ${seconds}s without a crash"
