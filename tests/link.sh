#!/bin/bash
# TAP: installs ktune into a scratch root (make install DESTDIR=...), then
# builds tests/app.c the way a user does,
#   cc app.c $(pkg-config --cflags --libs --static ktune)
# and checks the program is linked statically against libktune, runs, and
# gets correct results.
set -u
: "${top_builddir:?}" "${top_srcdir:?}" "${MAKE:=make}"
echo "1..4"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "not ok $1 - $2"; [ -f "$tmp/log" ] && sed 's/^/# /' "$tmp/log" | tail -30; exit 1; }

$MAKE -C "$top_builddir" install DESTDIR="$tmp/root" >"$tmp/log" 2>&1 ||
    fail 1 "make install DESTDIR installs the library, header, pkg-config file and tool"
pc=$(find "$tmp/root" -name ktune.pc | head -n 1)
[ -n "$pc" ] && [ -n "$(find "$tmp/root" -name libktune.a)" ] &&
    [ -n "$(find "$tmp/root" -name 'libktune.so*')" ] && [ -n "$(find "$tmp/root" -name ktune.h)" ] &&
    [ -x "$(find "$tmp/root" -path '*/bin/ktune' | head -n 1)" ] ||
    fail 1 "make install DESTDIR installs the library, header, pkg-config file and tool"
echo "ok 1 - make install DESTDIR installs libktune.a/.so, ktune.h, ktune.pc, ktune"

# the staged install lives under DESTDIR: point the .pc's prefix there
prefix=$(sed -n 's/^prefix=//p' "$pc")
flags=$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --define-variable=prefix="$tmp/root$prefix" \
    --cflags --libs --static ktune) || fail 2 "pkg-config --static ktune"
echo "# flags: $flags"
# shellcheck disable=SC2086
# the build's compiler and flags (a sanitizer build's objects need its runtime too)
${KT_CC:-${CC:-cc}} ${KT_CFLAGS:-} "$top_srcdir/tests/app.c" $flags ${KT_LDFLAGS:-} -o "$tmp/app" \
    >"$tmp/log" 2>&1 ||
    fail 2 "cc app.c \$(pkg-config --cflags --libs --static ktune) links"
echo "ok 2 - cc app.c \$(pkg-config --cflags --libs --static ktune) links"

if ldd "$tmp/app" | grep -q libktune; then
    ldd "$tmp/app" >"$tmp/log"
    fail 3 "the program does not need libktune.so at run time"
fi
echo "ok 3 - the program is linked statically against libktune"

"$tmp/app" >"$tmp/log" 2>&1 || fail 4 "the statically linked program runs and gets correct results"
sed 's/^/# /' "$tmp/log"
echo "ok 4 - the statically linked program runs and gets correct results"
