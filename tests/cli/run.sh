#!/usr/bin/env bash
# Command-line tests of editionc: exit codes, help, deterministic and atomic
# builds, signatures, inspect and diff. Runs against $EDITIONC (default
# build/editionc) on the small bank in tests/cli/editions, and on the real
# editions/ when they check clean. Prints "N passed, N failed"; exits 1 on failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
EDITIONC=${EDITIONC:-$root/build/editionc}
case $EDITIONC in /*) ;; *) EDITIONC=$root/$EDITIONC ;; esac
fixture=$here/editions
tmp=$(mktemp -d /tmp/editionc-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$root" || exit 1

passed=0 failed=0
ok()   { passed=$((passed + 1)); }
bad()  { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect CODE NAME -- COMMAND...: runs COMMAND, keeps stdout/stderr in $tmp/out, $tmp/err
expect() {
	local want=$1 name=$2
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" -eq "$want" ]; then ok; else
		bad "$name: exit $got, expected $want"; sed 's/^/    /' "$tmp/err" | head -5
	fi
}
# has FILE TEXT NAME: FILE contains TEXT (fixed string)
has() {
	if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(basename "$1")"; sed 's/^/    /' "$1" | head -8; fi
}
# snapshot DIR: names, modes and hashes of everything in DIR
snapshot() { (cd "$1" && find . -printf '%p %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort); }

# --- help, version, misuse ---------------------------------------------------
expect 0 "--version" -- "$EDITIONC" --version
has "$tmp/out" "editionc " "--version"
expect 0 "--help" -- "$EDITIONC" --help
has "$tmp/out" "usage: editionc COMMAND" "--help"
for c in check build inspect diff keygen; do
	expect 0 "$c --help" -- "$EDITIONC" $c --help
	has "$tmp/out" "usage: editionc $c" "$c --help"
done
expect 2 "no command" -- "$EDITIONC"
has "$tmp/err" "missing command" "no command"
expect 2 "unknown command" -- "$EDITIONC" frobnicate
has "$tmp/err" "unknown command 'frobnicate'" "unknown command"
expect 2 "unknown option" -- "$EDITIONC" check --frob
has "$tmp/err" "unknown option '--frob'" "unknown option"
expect 2 "build without -o" -- "$EDITIONC" build "$fixture"
has "$tmp/err" "usage: editionc build" "build without -o"
expect 2 "build without DIR" -- "$EDITIONC" build -o "$tmp/x"
expect 2 "-o value missing" -- "$EDITIONC" build "$fixture" -o
has "$tmp/err" "needs a value" "-o value missing"
expect 2 "-o with check" -- "$EDITIONC" check -o "$tmp/x"
expect 2 "bad --format" -- "$EDITIONC" --format=xml check "$fixture"
expect 2 "bad --color" -- "$EDITIONC" --color=blue check "$fixture"
expect 2 "inspect without pack" -- "$EDITIONC" inspect
expect 2 "diff with one pack" -- "$EDITIONC" diff a.pack
expect 2 "keygen without -o" -- "$EDITIONC" keygen
[ ! -e "$tmp/x" ] && ok || bad "misuse wrote '$tmp/x'"

# --- check -----------------------------------------------------------------------
expect 0 "check fixture" -- "$EDITIONC" check "$fixture"
expect 0 "check one file" -- "$EDITIONC" check "$fixture/care.yaml"
expect 0 "check a base file" -- "$EDITIONC" check "$fixture/base/personal.yaml"
expect 0 "check -Werror --color=never" -- "$EDITIONC" -Werror --color=never check "$fixture"
expect 1 "check missing dir" -- "$EDITIONC" check "$tmp/none"
has "$tmp/err" "cannot open editions directory" "check missing dir"
expect 1 "check unknown edition file" -- "$EDITIONC" check "$fixture/nosuch.yaml"
has "$tmp/err" "no edition 'nosuch'" "check unknown edition file"

broken=$tmp/broken
cp -r "$fixture" "$broken"
sed -i 's/screen: wealth/screen: welth/' "$broken/mass.yaml"
expect 1 "check broken" -- "$EDITIONC" check "$broken"
has "$tmp/err" "error:" "check broken"
has "$tmp/err" "welth" "check broken"
expect 1 "check broken json" -- "$EDITIONC" --format=json check "$broken"
if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" 2>/dev/null; then ok; else bad "--format=json output is not JSON"; fi
has "$tmp/out" "welth" "check broken json"

# check FILE: another edition's broken file does not matter; a broken base does
sel=$tmp/sel
cp -r "$fixture" "$sel"
echo "  oops: [unclosed" >>"$sel/care.yaml"
expect 0 "check one file, another broken" -- "$EDITIONC" check "$sel/mass.yaml"
expect 1 "check the broken file" -- "$EDITIONC" check "$sel/care.yaml"
has "$tmp/err" "care.yaml:" "check the broken file"
has "$tmp/err" "  oops: [unclosed" "check the broken file quotes the line"
cp "$fixture/care.yaml" "$sel/care.yaml"
echo "  oops: [unclosed" >>"$sel/mass.yaml"
expect 1 "check a file whose base is broken" -- "$EDITIONC" check "$sel/care.yaml"
has "$tmp/err" "mass.yaml:" "check a file whose base is broken"

# --- build: deterministic, location-independent, atomic --------------------------
expect 0 "build" -- "$EDITIONC" build "$fixture" -o "$tmp/out1"
has "$tmp/err" "compiled mass 1.0.0:" "build progress"
has "$tmp/err" "compiled care 1.0.0:" "build progress"
[ -f "$tmp/out1/manifest.json" ] && ok || bad "build: no manifest.json"
[ -f "$tmp/out1/mass-1.0.0.pack" ] && [ -f "$tmp/out1/care-1.0.0.pack" ] && ok || bad "build: packs missing"
[ ! -e "$tmp/out1/personal-1.0.0.pack" ] && ok || bad "build: abstract base was packed"
expect 0 "build again --quiet" -- "$EDITIONC" build "$fixture" -o "$tmp/out2" --quiet
[ ! -s "$tmp/err" ] && ok || bad "--quiet still printed progress"
if diff -r "$tmp/out1" "$tmp/out2" >/dev/null; then ok; else bad "two builds differ"; fi

mkdir -p "$tmp/elsewhere/deeper"
cp -r "$fixture" "$tmp/elsewhere/deeper/eds"
(cd "$tmp/elsewhere" && "$EDITIONC" build deeper/eds -o "$tmp/out3" -q --schemas "$root/schemas") 2>"$tmp/err"
for f in "$tmp"/out1/*; do
	if cmp -s "$f" "$tmp/out3/$(basename "$f")"; then ok; else bad "build from a copy: $(basename "$f") differs"; fi
done
man_sha=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print([e["sha256"] for e in m["editions"] if e["edition"]=="mass"][0])' "$tmp/out1/manifest.json")
file_sha=$(sha256sum "$tmp/out1/mass-1.0.0.pack" | cut -d' ' -f1)
[ "$man_sha" = "$file_sha" ] && ok || bad "manifest sha256 is not the file's"

mkdir -p "$tmp/keep"
echo "operator notes" >"$tmp/keep/notes.txt"
expect 0 "build into a directory with other files" -- "$EDITIONC" build "$fixture" -o "$tmp/keep" -q
[ -f "$tmp/keep/notes.txt" ] && [ -f "$tmp/keep/mass-1.0.0.pack" ] && ok || bad "build removed other files or wrote nothing"
before=$(snapshot "$tmp/keep")
expect 1 "failed build" -- "$EDITIONC" build "$broken" -o "$tmp/keep"
after=$(snapshot "$tmp/keep")
[ "$before" = "$after" ] && ok || bad "a failed build changed the output directory"
ls -A "$tmp" | grep -q '^\.editionc-tmp' && bad "a temporary directory was left behind" || ok
expect 1 "failed build, fresh output" -- "$EDITIONC" build "$broken" -o "$tmp/never"
[ ! -e "$tmp/never" ] && ok || bad "a failed build created its output directory"
echo "not a directory" >"$tmp/file"
expect 1 "output is a file" -- "$EDITIONC" build "$fixture" -o "$tmp/file"
has "$tmp/err" "not a directory" "output is a file"
expect 0 "build into a nested new directory" -- "$EDITIONC" build "$fixture" -o "$tmp/a/b/c" -q
[ -f "$tmp/a/b/c/manifest.json" ] && ok || bad "nested output not written"

# --- keys and signatures ---------------------------------------------------------
expect 0 "keygen" -- "$EDITIONC" keygen -o "$tmp/ci"
[ "$(stat -c %a "$tmp/ci.key")" = 600 ] && ok || bad "secret key is not mode 0600"
[ "$(tr -d '\n' <"$tmp/ci.pub" | wc -c)" = 64 ] && ok || bad "public key is not 64 hex digits"
[ "$(tr -d '\n' <"$tmp/ci.key" | wc -c)" = 128 ] && ok || bad "secret key is not 128 hex digits"
expect 1 "keygen refuses to overwrite" -- "$EDITIONC" keygen -o "$tmp/ci"
has "$tmp/err" "not overwriting" "keygen refuses to overwrite"
expect 0 "keygen other" -- "$EDITIONC" keygen -o "$tmp/other" -q
expect 0 "signed build" -- "$EDITIONC" build "$fixture" -o "$tmp/signed" --sign-key "$tmp/ci.key" -q
expect 0 "signed build twice" -- "$EDITIONC" build "$fixture" -o "$tmp/signed2" --sign-key "$tmp/ci.key" -q
if diff -r "$tmp/signed" "$tmp/signed2" >/dev/null; then ok; else bad "signed builds differ"; fi
expect 0 "inspect signed" -- "$EDITIONC" inspect "$tmp/signed/mass-1.0.0.pack"
has "$tmp/out" "ed25519, present, not verified" "inspect signed"
expect 0 "inspect signed, trust key" -- "$EDITIONC" inspect "$tmp/signed/mass-1.0.0.pack" --trust-key "$tmp/ci.pub"
has "$tmp/out" "verified with the trust key" "inspect signed, trust key"
expect 1 "inspect signed, wrong key" -- "$EDITIONC" inspect "$tmp/signed/mass-1.0.0.pack" --trust-key "$tmp/other.pub"
has "$tmp/err" "signature does not verify with the trust key" "inspect signed, wrong key"
expect 1 "inspect unsigned, trust key" -- "$EDITIONC" inspect "$tmp/out1/mass-1.0.0.pack" --trust-key "$tmp/ci.pub"
has "$tmp/err" "unsigned pack refused" "inspect unsigned, trust key"
expect 0 "inspect --json" -- "$EDITIONC" inspect --json "$tmp/signed/care-1.0.0.pack"
if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["signature"]=="unverified" and j["edition"]=="care" and len(j["screens"])==4' "$tmp/out"; then ok; else bad "inspect --json content"; fi
expect 0 "inspect unsigned" -- "$EDITIONC" inspect "$tmp/out1/mass-1.0.0.pack"
has "$tmp/out" "none (unsigned pack)" "inspect unsigned"
has "$tmp/out" "screens (4)" "inspect unsigned"
has "$tmp/out" "/transfer/submit" "inspect unsigned"
expect 1 "build with a missing key" -- "$EDITIONC" build "$fixture" -o "$tmp/nokey" --sign-key "$tmp/none.key"
has "$tmp/err" "cannot read key" "build with a missing key"
expect 1 "build with the public key as secret" -- "$EDITIONC" build "$fixture" -o "$tmp/nokey" --sign-key "$tmp/ci.pub"
[ ! -e "$tmp/nokey" ] && ok || bad "a build with a bad key wrote output"

# --- inspect of bad packs --------------------------------------------------------
head -c 1000 "$tmp/out1/mass-1.0.0.pack" >"$tmp/trunc.pack"
expect 1 "inspect truncated" -- "$EDITIONC" inspect "$tmp/trunc.pack"
has "$tmp/err" "truncated" "inspect truncated"
head -c 4096 /dev/urandom >"$tmp/garbage.pack"
expect 1 "inspect garbage" -- "$EDITIONC" inspect "$tmp/garbage.pack"
has "$tmp/err" "not a pack: bad magic" "inspect garbage"
cp "$tmp/out1/mass-1.0.0.pack" "$tmp/altered.pack"
printf 'X' | dd of="$tmp/altered.pack" bs=1 seek=700 conv=notrunc 2>/dev/null
expect 1 "inspect altered" -- "$EDITIONC" inspect "$tmp/altered.pack"
has "$tmp/err" "altered: sha-256 mismatch" "inspect altered"
expect 1 "inspect missing" -- "$EDITIONC" inspect "$tmp/none.pack"
has "$tmp/err" "cannot read" "inspect missing"

# --- diff ------------------------------------------------------------------------
expect 0 "diff equal" -- "$EDITIONC" diff "$tmp/out1/mass-1.0.0.pack" "$tmp/out2/mass-1.0.0.pack"
[ ! -s "$tmp/out" ] && ok || bad "diff of equal packs printed something"
changed=$tmp/changed
cp -r "$fixture" "$changed"
sed -i 's/^  title: 首页$/  title: 我的首页/' "$changed/i18n/zh-CN.yaml"
sed -i 's/font_scale: 1.3/font_scale: 1.4/' "$changed/care.yaml"
cat >>"$changed/mass.yaml" <<'EOF'
  - { id: transfer, path: /transfer, screen: transfer, auth: step_up }
EOF
python3 - "$changed/mass.yaml" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("            to: wealth\n", "            to: wealth\n          - component: tile\n            id: loans\n            label: home.call\n            to: wealth\n", 1)
open(p, "w").write(s)
EOF
sed -i 's/amount > ctx.limits.transfer_single/amount >= ctx.limits.transfer_single/' "$changed/flows/transfer.lua"
expect 0 "build changed" -- "$EDITIONC" build "$changed" -o "$tmp/out4" -q
expect 1 "diff changed" -- "$EDITIONC" diff "$tmp/out1/care-1.0.0.pack" "$tmp/out4/care-1.0.0.pack"
has "$tmp/out" "string 'home.title' changed: '首页' -> '我的首页'" "diff string"
has "$tmp/out" "screen 'home': component 'tile' 'loans' added" "diff component"
has "$tmp/out" "route '/transfer' now needs step_up (was login)" "diff route"
has "$tmp/out" "theme font_scale 1.3 -> 1.4" "diff theme"
has "$tmp/out" "flow 'transfer' code changed" "diff flow"
expect 1 "diff mass vs care" -- "$EDITIONC" diff "$tmp/out1/mass-1.0.0.pack" "$tmp/out1/care-1.0.0.pack"
has "$tmp/out" "edition 'mass' -> 'care'" "diff mass vs care"
expect 2 "diff with a bad pack" -- "$EDITIONC" diff "$tmp/out1/mass-1.0.0.pack" "$tmp/garbage.pack"
has "$tmp/err" "bad magic" "diff with a bad pack"

# --- the real editions, when they check clean ------------------------------------
# (a snapshot, so that an edit made while the tests run cannot make two builds differ)
mkdir -p "$tmp/real-src"
cp -r "$root/editions" "$tmp/real-src/editions"
if "$EDITIONC" check "$tmp/real-src/editions" >/dev/null 2>&1; then
	expect 0 "build editions" -- "$EDITIONC" build "$tmp/real-src/editions" -o "$tmp/real1" -q
	cp -r "$tmp/real-src/editions" "$tmp/elsewhere/editions"
	(cd "$tmp/elsewhere" && "$EDITIONC" build editions -o "$tmp/real2" -q --schemas "$root/schemas") 2>/dev/null
	if diff -r "$tmp/real1" "$tmp/real2" >/dev/null; then ok; else bad "editions/ built from a copy differs"; fi
	for p in "$tmp"/real1/*.pack; do
		"$EDITIONC" inspect "$p" >/dev/null 2>&1 && ok || bad "inspect $(basename "$p")"
	done
else
	echo "note: editions/ does not check clean; real-edition cases skipped"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
