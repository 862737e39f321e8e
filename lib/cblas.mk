# libktune_cblas: a CBLAS drop-in (cblas_[sd]axpy, cblas_[sd]dot, cblas_[sd]gemv,
# cblas_[sd]gemm) served by ktune's dispatch, static and shared, exporting cblas_*
# only.  Programs link -lktune_cblas ahead of the BLAS.  Included from Makefile.am.

lib_LTLIBRARIES += libktune_cblas.la
include_HEADERS += lib/ktune_cblas.h
noinst_HEADERS += lib/kt_cblas_body.h
libktune_cblas_la_SOURCES = lib/kt_cblas.c
libktune_cblas_la_LIBADD = libktune.la
libktune_cblas_la_LDFLAGS = -version-info 0:0:0 -export-symbols-regex '^cblas_'
# relinked when libdir changes, as libktune (Makefile.am: kt-libdir.stamp)
EXTRA_libktune_cblas_la_DEPENDENCIES = kt-libdir.stamp

# tests/cblas: every argument check of every routine (numbers as reference CBLAS's,
# outputs untouched), results against a higher-precision reference, the fallbacks.
KT_TESTS += tests/cblas
tests_cblas_SOURCES = tests/cblas.c tests/kt_test.c
tests_cblas_CFLAGS = $(KT_TEST_CFLAGS)
# libktune_cblas first: its cblas_* must win over the BLAS that libktune links
tests_cblas_LDADD = libktune_cblas.la $(KT_TEST_LDADD)
tests_cblas_LDFLAGS = -static

# tests/cblas-dropin.sh builds tests/cblas-app.c against OpenBLAS's cblas.h and
# links it with libktune_cblas ahead of -lopenblas, statically and shared.
TESTS += tests/cblas-dropin.sh
EXTRA_DIST += tests/cblas-dropin.sh tests/cblas-app.c
# The program is built with the library's compiler and flags (a sanitizer build needs them).
AM_TESTS_ENVIRONMENT += KT_CC='$(CC)' KT_CFLAGS='$(CFLAGS)' KT_LDFLAGS='$(LDFLAGS)' \
	KT_OPENBLAS_CFLAGS='$(OPENBLAS_CFLAGS)' KT_OPENBLAS_LIBS='$(OPENBLAS_LIBS)'; \
	export KT_CC KT_CFLAGS KT_LDFLAGS KT_OPENBLAS_CFLAGS KT_OPENBLAS_LIBS;
