#!/usr/bin/env bash
# build.sh: builds the fuzz targets and the packs they read.
#
#   bash tests/fuzz/build.sh fuzz      clang-14, libFuzzer + ASan + UBSan  -> build-fuzz/libfuzzer/fuzz_<name>
#   bash tests/fuzz/build.sh regress   gcc, ASan + UBSan, regress_main.c   -> build-fuzz/regress/fuzz_<name>
#
# The project's sources (compiler/*.c and runtime/*.c without their main.c)
# are compiled with the Makefile's pkg-config flags into one static archive
# per mode; each target links what it needs from it. Objects are rebuilt when
# their source, or any header, is newer. The packs come from editions/ through
# $EDITIONC (default: the release build/editionc, made when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?usage: build.sh fuzz|regress}

PKGS="yaml-0.1 libxml-2.0 lua5.4 zlib libsodium jansson libmicrohttpd sqlite3 hiredis libcurl"
PKG_CFLAGS=$(pkg-config --cflags $PKGS)
PKG_LIBS="$(pkg-config --libs $PKGS) -lpthread -lm"
WARN="-Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter"
BASE="-std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Icompiler -Iruntime -Itests/fuzz $PKG_CFLAGS"

case $mode in
fuzz)
	CC=${FUZZ_CC:-clang-14}
	OBJ_FLAGS="$BASE -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
	LINK_FLAGS="-fsanitize=fuzzer,address,undefined"
	DRIVER=""
	;;
regress)
	CC=${REGRESS_CC:-gcc}
	OBJ_FLAGS="$BASE -fsanitize=address,undefined -fno-sanitize-recover=undefined"
	LINK_FLAGS="-fsanitize=address,undefined"
	DRIVER=tests/fuzz/regress_main.c
	;;
*)
	echo "build.sh: unknown mode '$mode' (fuzz or regress)" >&2
	exit 2
	;;
esac

out=build-fuzz/$mode
mkdir -p "$out/obj"
lib=$out/libproject.a

# Any header newer than the archive: everything is rebuilt.
newest_header=$(ls -t compiler/*.h runtime/*.h tests/fuzz/*.h | head -1)
if [ -f "$lib" ] && [ "$newest_header" -nt "$lib" ]; then
	rm -f "$out"/obj/*.o "$lib"
fi

sources=$(ls compiler/*.c runtime/*.c | grep -v '/main\.c$')
stale=()
objs=()
for src in $sources tests/fuzz/fuzz_common.c; do
	obj=$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
	objs+=("$obj")
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
		stale+=("$src")
	fi
done
if [ ${#stale[@]} -gt 0 ]; then
	echo "fuzz build ($mode): compiling ${#stale[@]} source(s)"
	export CC OBJ_FLAGS WARN out
	printf '%s\n' "${stale[@]}" | xargs -P "${FUZZ_JOBS:-2}" -I{} sh -c \
		'o=$out/obj/$(echo {} | tr / _ | sed "s/\.c\$/.o/"); $CC $OBJ_FLAGS $WARN -c {} -o $o'
	rm -f "$lib"
fi
if [ ! -f "$lib" ]; then
	ar rcs "$lib" "${objs[@]}"
fi

for target in tests/fuzz/fuzz_*.c; do
	[ "$target" = tests/fuzz/fuzz_common.c ] && continue
	name=$(basename "$target" .c)
	bin=$out/$name
	if [ ! -x "$bin" ] || [ "$target" -nt "$bin" ] || [ "$lib" -nt "$bin" ] ||
	   { [ -n "$DRIVER" ] && [ "$DRIVER" -nt "$bin" ]; }; then
		echo "fuzz build ($mode): linking $bin"
		$CC $OBJ_FLAGS $WARN $target $DRIVER -o "$bin" $LINK_FLAGS "$lib" $PKG_LIBS
	fi
done

# The packs the runtime targets serve and check against.
EDITIONC=${EDITIONC:-build/editionc}
if [ ! -x "$EDITIONC" ]; then
	make -s "$EDITIONC"
fi
packs=build-fuzz/packs
if [ ! -d "$packs" ] || [ -n "$(find editions -newer "$packs/manifest.json" -print -quit 2>/dev/null)" ] ||
   [ ! -f "$packs/manifest.json" ]; then
	rm -rf "$packs.tmp"
	"$EDITIONC" build editions -o "$packs.tmp" --quiet
	rm -rf "$packs"
	mv "$packs.tmp" "$packs"
fi
