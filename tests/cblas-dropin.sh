#!/bin/bash
# TAP: libktune_cblas as a drop-in.  Builds tests/cblas-app.c, a program that
# knows only CBLAS (OpenBLAS's <cblas.h>), and links it with libktune_cblas
# ahead of -lopenblas, from the build tree:
#   static: .libs/libktune_cblas.a .libs/libktune.a <libktune's deps> -lopenblas
#   shared: -L.libs -lktune_cblas -lopenblas (run with LD_LIBRARY_PATH=.libs)
# then runs it with KTUNE_LOG=debug and checks the results, the "served by
# ktune" line of each of the eight routines, the default cblas_xerbla's
# reference message, and that a program's own cblas_xerbla replaces it.
# Last, with every op forced to ktune's openblas variant: those call OpenBLAS
# through its Fortran interface, so nothing comes back into libktune_cblas
# (no nested call, no reference loop) and the results are right.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
cc=${KT_CC:-${CC:-cc}}
cflags="${KT_CFLAGS:-} ${KT_OPENBLAS_CFLAGS:-}"
ldflags=${KT_LDFLAGS:-}
libs=$top_builddir/.libs
app=$top_srcdir/tests/cblas-app.c

if [ -z "${KT_OPENBLAS_LIBS:-}" ]; then
    echo "1..0 # SKIP ktune was configured without OpenBLAS"
    exit 0
fi
echo "1..11"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
# not_ok N DESCRIPTION [FILE]: reports a failure with the tail of FILE
not_ok() {
    echo "not ok $1 - $2"
    [ -n "${3:-}" ] && [ -f "$3" ] && tail -n 30 "$3" | sed 's/^/# /'
    failed=1
}

# libktune's own dependencies, as libtool recorded them
la_var() { sed -n "s/^$1='\(.*\)'\$/\1/p" "$top_builddir/libktune.la"; }
deps="$(la_var inherited_linker_flags) $(la_var dependency_libs)"

# the eight "served by ktune" lines, and any routine missing from a log
served_missing() {
    local r op missing=""
    for r in saxpy:axpy_f32 daxpy:axpy_f64 sdot:dot_f32 ddot:dot_f64 sgemv:gemv_f32 \
        dgemv:gemv_f64 sgemm:gemm_f32 dgemm:gemm_f64; do
        op=${r#*:}
        r=cblas_${r%%:*}
        [ "$(grep -c "ktune: debug: $r: served by ktune ($op)\$" "$1")" = 1 ] ||
            missing="$missing $r"
    done
    echo "$missing"
}

# runs a built program with KTUNE_LOG=debug; stdout to $1.out, stderr to $1.err
run_app() {
    local bin=$1
    shift
    env "$@" KTUNE_LOG=debug "$bin" >"$bin.out" 2>"$bin.err"
}

# ---- static ----------------------------------------------------------------------
# shellcheck disable=SC2086
if "$cc" $cflags "$app" -o "$tmp/static" $ldflags "$libs/libktune_cblas.a" \
    "$libs/libktune.a" $deps $KT_OPENBLAS_LIBS >"$tmp/cc.log" 2>&1; then
    echo "ok 1 - links statically: libktune_cblas.a libktune.a ... -lopenblas"
else
    not_ok 1 "links statically: libktune_cblas.a libktune.a ... -lopenblas" "$tmp/cc.log"
fi

if [ -x "$tmp/static" ] && nm "$tmp/static" | grep -q ' T cblas_dgemm$' &&
    ! ldd "$tmp/static" | grep -q libktune; then
    echo "ok 2 - the static program carries libktune_cblas's cblas_dgemm"
else
    not_ok 2 "the static program carries libktune_cblas's cblas_dgemm"
fi

if [ -x "$tmp/static" ] && run_app "$tmp/static" && grep -q '^done$' "$tmp/static.out"; then
    echo "ok 3 - static: all eight routines give the right results"
else
    not_ok 3 "static: all eight routines give the right results" "$tmp/static.out"
    sed 's/^/# /' "$tmp/static.err" 2>/dev/null | tail -n 20
fi
sed 's/^/# /' "$tmp/static.out" 2>/dev/null

missing=$(served_missing "$tmp/static.err" 2>/dev/null)
if [ -f "$tmp/static.err" ] && [ -z "$missing" ]; then
    echo "ok 4 - static: KTUNE_LOG=debug logs once per routine that ktune served it"
else
    not_ok 4 "static: KTUNE_LOG=debug logs once per routine that ktune served it" \
        "$tmp/static.err"
    echo "# not logged:$missing"
fi

if grep -qx 'Parameter 4 to routine cblas_dgemm was incorrect' "$tmp/static.err" 2>/dev/null; then
    echo "ok 5 - the default cblas_xerbla prints the reference message, the program goes on"
else
    not_ok 5 "the default cblas_xerbla prints the reference message, the program goes on" \
        "$tmp/static.err"
fi

# ---- shared ----------------------------------------------------------------------
link_shared() { # OUTPUT [CFLAGS...]
    local out=$1
    shift
    # shellcheck disable=SC2086
    "$cc" "$@" $cflags "$app" -o "$out" $ldflags -L"$libs" -Wl,-rpath-link,"$libs" \
        -lktune_cblas $KT_OPENBLAS_LIBS >>"$tmp/cc.log" 2>&1
}
: >"$tmp/cc.log"
if link_shared "$tmp/shared" && link_shared "$tmp/own" -DKT_OWN_XERBLA; then
    echo "ok 6 - links against the shared libktune_cblas ahead of -lopenblas"
else
    not_ok 6 "links against the shared libktune_cblas ahead of -lopenblas" "$tmp/cc.log"
fi

# the dynamic linker must find cblas_dgemm in libktune_cblas.so first
order=$(LD_LIBRARY_PATH="$libs" ldd "$tmp/shared" 2>/dev/null |
    grep -o 'libktune_cblas\|libopenblas' | tr '\n' ' ')
case $order in
libktune_cblas\ *libopenblas*) ;;
*) order="" ;;
esac
if [ -n "$order" ] && run_app "$tmp/shared" LD_LIBRARY_PATH="$libs" &&
    grep -q '^done$' "$tmp/shared.out"; then
    echo "ok 7 - shared: libktune_cblas.so comes before libopenblas, right results"
else
    not_ok 7 "shared: libktune_cblas.so comes before libopenblas, right results" "$tmp/shared.out"
    LD_LIBRARY_PATH="$libs" ldd "$tmp/shared" 2>&1 | sed 's/^/# /'
fi

missing=$(served_missing "$tmp/shared.err" 2>/dev/null)
if [ -f "$tmp/shared.err" ] && [ -z "$missing" ]; then
    echo "ok 8 - shared: KTUNE_LOG=debug logs once per routine that ktune served it"
else
    not_ok 8 "shared: KTUNE_LOG=debug logs once per routine that ktune served it" \
        "$tmp/shared.err"
    echo "# not logged:$missing"
fi

if [ -x "$tmp/own" ] && run_app "$tmp/own" LD_LIBRARY_PATH="$libs" &&
    grep -qx 'own cblas_xerbla: 4 cblas_dgemm' "$tmp/own.out" &&
    ! grep -q 'Parameter 4 to routine' "$tmp/own.err"; then
    echo "ok 9 - a program's own cblas_xerbla replaces the library's"
else
    not_ok 9 "a program's own cblas_xerbla replaces the library's" "$tmp/own.out"
    sed 's/^/# /' "$tmp/own.err" 2>/dev/null | tail -n 10
fi

# ---- ktune's openblas variants calling back ----------------------------------------
force=axpy_f32=openblas,axpy_f64=openblas,dot_f32=openblas,dot_f64=openblas
force=$force,gemv_f32=openblas,gemv_f64=openblas,gemm_f32=openblas,gemm_f64=openblas
n=10
for kind in static shared; do
    what="$kind, KTUNE_FORCE=<all>=openblas: no call comes back into the drop-in, right results"
    cp "$tmp/$kind" "$tmp/$kind-forced" 2>/dev/null
    if [ -x "$tmp/$kind-forced" ] &&
        run_app "$tmp/$kind-forced" LD_LIBRARY_PATH="$libs" KTUNE_FORCE="$force" &&
        grep -q '^done$' "$tmp/$kind-forced.out" &&
        ! grep -q 'called from inside ktune' "$tmp/$kind-forced.err" &&
        [ "$(grep -c 'served by ktune' "$tmp/$kind-forced.err")" = 8 ] &&
        ! grep -q 'reference loop' "$tmp/$kind-forced.err"; then
        echo "ok $n - $what"
    else
        not_ok $n "$what" "$tmp/$kind-forced.err"
    fi
    n=$((n + 1))
done
exit $failed
