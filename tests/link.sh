#!/bin/bash
# TAP: installing ktune and linking a program against it the way users do.
#  1-6: installs the build into a scratch root (make install DESTDIR=...: the library,
#       header, pkg-config file, tool and its man page) and builds
#       tests/app.c with `cc app.c $(pkg-config --cflags --libs --static ktune)` (the
#       program must not need libktune.so) and with plain `--libs` (the common habit,
#       which must link too); both run and get correct results.
#  7-10: a fresh build from the distributed sources configured with one --prefix,
#       built, reconfigured with another --prefix and installed with `make install`
#       (libtool used to refuse the libraries linked for the first prefix, leaving a
#       half-installed tree); the installed libraries name the new prefix, and a
#       program links against it with plain --libs and with --static, and runs.
set -u
: "${top_builddir:?}" "${top_srcdir:?}" "${MAKE:=make}"
echo "1..10"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "not ok $1 - $2"; [ -f "$tmp/log" ] && sed 's/^/# /' "$tmp/log" | tail -30; exit 1; }
cc=${KT_CC:-${CC:-cc}}

# build_app PCDIR PREFIX OUT [--static]: cc app.c $(pkg-config ... ktune) -o OUT, with
# the .pc's prefix moved to PREFIX (a DESTDIR install) unless PREFIX is empty
build_app() {
    local pcdir=$1 prefix=$2 out=$3 flags
    shift 3
    [ -n "$prefix" ] && set -- --define-variable=prefix="$prefix" "$@"
    flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs "$@" ktune) || return 1
    echo "# pkg-config $* ktune: $flags"
    # the build's compiler and flags (a sanitizer build's objects need its runtime too)
    # shellcheck disable=SC2086
    $cc ${KT_CFLAGS:-} "$top_srcdir/tests/app.c" $flags ${KT_LDFLAGS:-} -o "$out" \
        >"$tmp/log" 2>&1
}

$MAKE -C "$top_builddir" install DESTDIR="$tmp/root" >"$tmp/log" 2>&1 ||
    fail 1 "make install DESTDIR installs the library, header, pkg-config file and tool"
pc=$(find "$tmp/root" -name ktune.pc | head -n 1)
[ -n "$pc" ] && [ -n "$(find "$tmp/root" -name libktune.a)" ] &&
    [ -n "$(find "$tmp/root" -name 'libktune.so*')" ] && [ -n "$(find "$tmp/root" -name ktune.h)" ] &&
    [ -x "$(find "$tmp/root" -path '*/bin/ktune' | head -n 1)" ] &&
    [ -n "$(find "$tmp/root" -path '*/man1/ktune.1')" ] ||
    fail 1 "make install DESTDIR installs the library, header, pkg-config file, tool, man page"
echo "ok 1 - make install DESTDIR installs libktune.a/.so, ktune.h, ktune.pc, ktune, ktune.1"

# the staged install lives under DESTDIR: point the .pc's prefix there
prefix=$(sed -n 's/^prefix=//p' "$pc")
build_app "$(dirname "$pc")" "$tmp/root$prefix" "$tmp/app" --static ||
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

build_app "$(dirname "$pc")" "$tmp/root$prefix" "$tmp/app-plain" ||
    fail 5 "cc app.c \$(pkg-config --cflags --libs ktune) (no --static) links"
echo "ok 5 - cc app.c \$(pkg-config --cflags --libs ktune) (no --static) links"
"$tmp/app-plain" >"$tmp/log" 2>&1 ||
    fail 6 "the program linked with plain --libs runs and gets correct results"
echo "ok 6 - the program linked with plain --libs runs and gets correct results"

# ---- reconfigure with another prefix, then make install ----------------------------
# (a build of its own, from the distributed sources: the tree under test is not touched)
unset MAKEFLAGS MFLAGS
$MAKE -C "$top_builddir" distdir distdir="$tmp/src" >"$tmp/log" 2>&1 ||
    fail 7 "make distdir copies the sources for a build of its own"
mkdir "$tmp/build"
cfg() {
    (cd "$tmp/build" && "$tmp/src/configure" --without-cuda --prefix="$1" CC="$cc" \
        CFLAGS="${KT_CFLAGS:-}" LDFLAGS="${KT_LDFLAGS:-}") >"$tmp/log" 2>&1
}
cfg "$tmp/first" && $MAKE -C "$tmp/build" -j2 >"$tmp/log" 2>&1 ||
    fail 7 "configure --prefix=first and make"
cfg "$tmp/second" && $MAKE -C "$tmp/build" -j2 install >"$tmp/log" 2>&1 ||
    fail 7 "after reconfiguring with --prefix=second, make install succeeds"
echo "ok 7 - configure --prefix=A, make, configure --prefix=B, make install succeeds"

for la in libktune.la libktune_cblas.la; do
    grep -qx "libdir='$tmp/second/lib'" "$tmp/second/lib/$la" 2>"$tmp/log" ||
        fail 8 "the installed $la is for the second prefix"
done
if [ -e "$tmp/first" ]; then
    ls -R "$tmp/first" >"$tmp/log"
    fail 8 "nothing went to the first prefix"
fi
echo "ok 8 - the installed libraries are for the second prefix, nothing went to the first"

build_app "$tmp/second/lib/pkgconfig" "" "$tmp/app2" &&
    "$tmp/app2" >"$tmp/log" 2>&1 ||
    fail 9 "a program links against the second prefix with plain --libs and runs"
echo "ok 9 - a program links against the second prefix with plain --libs and runs"
build_app "$tmp/second/lib/pkgconfig" "" "$tmp/app2s" --static &&
    "$tmp/app2s" >"$tmp/log" 2>&1 ||
    fail 10 "a program links against the second prefix with --static and runs"
echo "ok 10 - a program links against the second prefix with --static and runs"
