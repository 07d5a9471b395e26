#!/usr/bin/env bash
# regress.sh: every committed input of tests/fuzz/corpus/<name>/ once through
# fuzz_<name>, built with gcc under ASan + UBSan around a plain main
# (regress_main.c), so `make check` needs no clang. A crash does not hide the
# inputs after it. Prints "N passed, N failed"; exits 1 on
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
# One process per target runs the inputs in order; after a crash the rest run
# in a new process, so one crash does not hide the next.
for dir in tests/fuzz/corpus/*/; do
	name=$(basename "$dir")
	bin=build-fuzz/regress/fuzz_$name
	log=build-fuzz/logs/regress-$name.log
	if [ ! -x "$bin" ]; then
		echo "fuzz-regress: no target for corpus '$dir'" >&2
		failed=$((failed + 1))
		continue
	fi
	files=()
	for input in "$dir"*; do
		[ -f "$input" ] && files+=("$input")
	done
	i=0
	while [ $i -lt ${#files[@]} ]; do
		rest=("${files[@]:$i}")
		timeout 600 "$bin" "${rest[@]}" > "$log.out" 2> "$log.err"
		rc=$?
		cat "$log.out" "$log.err" >> "$log"
		done_here=$(grep -c '^ok ' "$log.out")
		passed=$((passed + done_here))
		i=$((i + done_here))
		[ $rc = 0 ] && break
		failed=$((failed + 1))
		if [ $i -lt ${#files[@]} ]; then
			echo "FAIL $name: ${files[$i]}"
			i=$((i + 1))
		else
			echo "FAIL $name: at exit, after its last input (a leak?)"
		fi
		grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ .* in ' "$log.err" | head -12 | sed 's/^/    /'
	done
	rm -f "$log.out" "$log.err"
done
echo "fuzz-regress: $passed passed, $failed failed"
[ $failed = 0 ]
