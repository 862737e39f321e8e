#!/bin/bash
# TAP: the Python module (python/ktune.c) under pytest: tests/python/test_*.py check every
# function against numpy on random inputs (edge sizes, C/Fortran order, strides, copy=True),
# every error (type, message, nothing written), introspection, threads, and leaks (a million
# calls each; KT_TEST_QUICK: 10 000).  tests/python/conftest.py writes the TAP lines.
# Skipped, with the reason, where the module is not built, pytest or numpy are missing for
# the interpreter, or the library is built with a sanitizer (an instrumented libktune.so
# cannot load into the uninstrumented interpreter).  Under KT_TEST_WRAPPER (valgrind) the
# interpreter runs under it, with PYTHONMALLOC=malloc, on the quick sizes (see below).
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
skip() { echo "1..0 # SKIP $*"; exit 0; }
[ "${KT_PYTHON_BUILT:-no}" = yes ] ||
    skip "the Python module is not built (configure found no Python 3 headers, or --disable-python)"
py=${KT_PYTHON:?}
mod="$top_builddir/python/.libs/ktune.so"
[ -f "$mod" ] || skip "$mod is missing"
if ldd "$mod" 2>/dev/null | grep -qE 'lib(asan|ubsan|tsan)'; then
    skip "sanitizer build: the instrumented libktune.so cannot load into the uninstrumented $py"
fi
"$py" -c 'import numpy, pytest' 2>/dev/null ||
    skip "$py lacks numpy or pytest (Debian: python3-numpy python3-pytest)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wrap=()
if [ -n "${KT_TEST_WRAPPER:-}" ]; then
    # shellcheck disable=SC2206
    wrap=(${KT_TEST_WRAPPER})
    # memcheck sees every access of the module and the library; its leak report is not
    # used here: the interpreter and numpy never free what they allocate at start-up
    # (definitely lost, in python3.11 and numpy frames).  test_leaks.py checks the
    # module's leaks instead (memory and reference counts over many calls).
    case "$KT_TEST_WRAPPER" in
    *valgrind*) wrap+=(--leak-check=no --errors-for-leak-kinds=none
                       "--suppressions=$top_srcdir/tests/python.supp"); export KT_UNDER_VALGRIND=1 ;;
    esac
    export PYTHONMALLOC=malloc KT_TEST_QUICK=1
fi
# nothing written into the source tree: no bytecode, no pytest cache
KT_TAP="$tmp/tap" PYTHONPATH="$top_builddir/python${PYTHONPATH:+:$PYTHONPATH}" \
    PYTHONDONTWRITEBYTECODE=1 "${wrap[@]}" "$py" -m pytest -p no:cacheprovider -q \
    --rootdir="$tmp" "$top_srcdir/tests/python" >"$tmp/log" 2>&1
rc=$?
if [ -s "$tmp/tap" ] && grep -q '^1\.\.' "$tmp/tap"; then
    cat "$tmp/tap"
    # pytest failed outside any test (collection, the interpreter, valgrind's exit status)
    if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$tmp/tap"; then
        echo "not ok - pytest exited $rc"
        sed 's/^/# /' "$tmp/log" | tail -40
        exit 1
    fi
else
    echo "1..1"
    echo "not ok 1 - pytest ran (exit $rc)"
    sed 's/^/# /' "$tmp/log" | tail -40
fi
