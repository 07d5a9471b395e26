#!/usr/bin/env bash
# Diagnostic goldens: each case under tests/golden/cases/NAME/ holds
#   edit       a shell script run inside a fresh copy of the fixture project
#              (tests/golden/fixture/editions) that introduces one mistake
#   expected   the exact output of `editionc check editions` (stdout and stderr),
#              preceded by a line "exit N"
# A case passes when the output and the exit code are exactly as expected.
#   tests/golden/run.sh [--update] [CASE...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
editionc=${EDITIONC:-$root/build/editionc}
case "$editionc" in /*) ;; *) editionc="$root/$editionc" ;; esac
update=0
if [ "${1:-}" = "--update" ]; then update=1; shift; fi
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
	for d in "$here"/cases/*/; do cases+=("$(basename "$d")"); done
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
for name in "${cases[@]}"; do
	dir="$here/cases/$name"
	rm -rf "$work/p" && mkdir -p "$work/p"
	cp -r "$here/fixture/editions" "$work/p/editions"
	if ! (cd "$work/p" && bash "$dir/edit") >"$work/edit.log" 2>&1; then
		echo "FAIL $name: edit script failed"; cat "$work/edit.log"; fail=$((fail + 1)); continue
	fi
	got=$( cd "$work/p" && { "$editionc" check --color=never --schemas "$root/schemas" editions 2>&1; echo "exit $?"; } )
	got=$(printf '%s\n' "$got" | tail -n 1; printf '%s\n' "$got" | sed '$d')
	if [ $update = 1 ]; then
		printf '%s\n' "$got" > "$dir/expected"
		echo "updated $name"; pass=$((pass + 1)); continue
	fi
	if [ "$got" = "$(cat "$dir/expected" 2>/dev/null)" ]; then
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		diff -u "$dir/expected" <(printf '%s\n' "$got") | head -40
		fail=$((fail + 1))
	fi
done
echo "golden: $pass passed, $fail failed"
[ $fail -eq 0 ]
