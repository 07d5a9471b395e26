#!/usr/bin/env bash
# regress.sh: every committed input of tests/fuzz/corpus/<name>/ once through
# fuzz_<name>, built with gcc under ASan + UBSan around a plain main
# (regress_main.c), so `make check` needs no clang. One process per input, so
# one crash does not hide the next. Prints "N passed, N failed"; exits 1 on
# any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

bash tests/fuzz/build.sh regress || { echo "fuzz-regress: build failed" >&2; exit 2; }
export FUZZ_ROOT=$root FUZZ_PACKS=$root/build-fuzz/packs
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p build-fuzz/logs
rm -f build-fuzz/logs/regress-*.log

passed=0
failed=0
for dir in tests/fuzz/corpus/*/; do
	name=$(basename "$dir")
	bin=build-fuzz/regress/fuzz_$name
	if [ ! -x "$bin" ]; then
		echo "fuzz-regress: no target for corpus '$dir'" >&2
		failed=$((failed + 1))
		continue
	fi
	for input in "$dir"*; do
		[ -f "$input" ] || continue
		log=build-fuzz/logs/regress-$name.log
		if timeout 120 "$bin" "$input" > "$log.one" 2>&1; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "FAIL $name: $input"
			sed 's/^/    /' "$log.one" | head -40
		fi
		cat "$log.one" >> "$log"
	done
done
rm -f build-fuzz/logs/*.one
echo "fuzz-regress: $passed passed, $failed failed"
[ $failed = 0 ]
