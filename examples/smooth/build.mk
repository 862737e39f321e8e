## examples/smooth/build.mk: the example plugin (myapp.smooth_f32) and the program that
## links the same variants statically.  Included by the top-level Makefile.am; built by
## `make check` (check_*), run by tests/plugin.sh.
##
## Each backend's file is its own convenience library with only that backend's flags, as
## in variants/; libsmooth_all gathers them with the op descriptor.  libsmooth.la is the
## plugin (a module: dlopen'ed, never linked against libktune, whose symbols it takes from
## the program that loads it); smooth_demo links libsmooth_all statically.

KT_SMOOTH_CPPFLAGS = -I$(top_srcdir)/lib -I$(top_srcdir)/examples/smooth
check_LTLIBRARIES += examples/smooth/libsmooth_all.la examples/smooth/libsmooth.la
examples_smooth_libsmooth_all_la_SOURCES = examples/smooth/smooth_op.c examples/smooth/smooth.h
examples_smooth_libsmooth_all_la_CPPFLAGS = $(KT_SMOOTH_CPPFLAGS)
examples_smooth_libsmooth_all_la_LIBADD =
if KT_AVX2
check_LTLIBRARIES += examples/smooth/libsmooth_avx2.la
examples_smooth_libsmooth_avx2_la_SOURCES = examples/smooth/smooth_avx2.c
examples_smooth_libsmooth_avx2_la_CPPFLAGS = $(KT_SMOOTH_CPPFLAGS)
examples_smooth_libsmooth_avx2_la_CFLAGS = $(AM_CFLAGS) $(KT_AVX2_CFLAGS)
examples_smooth_libsmooth_all_la_LIBADD += examples/smooth/libsmooth_avx2.la
examples_smooth_libsmooth_all_la_CPPFLAGS += -DSMOOTH_AVX2
endif
if KT_AVX512
check_LTLIBRARIES += examples/smooth/libsmooth_avx512.la
examples_smooth_libsmooth_avx512_la_SOURCES = examples/smooth/smooth_avx512.c
examples_smooth_libsmooth_avx512_la_CPPFLAGS = $(KT_SMOOTH_CPPFLAGS)
examples_smooth_libsmooth_avx512_la_CFLAGS = $(AM_CFLAGS) $(KT_AVX512_CFLAGS)
examples_smooth_libsmooth_all_la_LIBADD += examples/smooth/libsmooth_avx512.la
examples_smooth_libsmooth_all_la_CPPFLAGS += -DSMOOTH_AVX512
endif
if KT_OPENMP
check_LTLIBRARIES += examples/smooth/libsmooth_omp.la
examples_smooth_libsmooth_omp_la_SOURCES = examples/smooth/smooth_omp.c
examples_smooth_libsmooth_omp_la_CPPFLAGS = $(KT_SMOOTH_CPPFLAGS)
examples_smooth_libsmooth_omp_la_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
examples_smooth_libsmooth_all_la_LIBADD += examples/smooth/libsmooth_omp.la $(OPENMP_CFLAGS)
examples_smooth_libsmooth_all_la_CPPFLAGS += -DSMOOTH_OPENMP
endif
EXTRA_DIST += examples/smooth/smooth_cuda.cu examples/smooth/build.mk
if KT_CUDA
examples/smooth/smooth_cuda.lo: examples/smooth/smooth_cuda.cu examples/smooth/smooth.h \
		$(top_srcdir)/lib/ktune_op.h $(top_srcdir)/variants/cuda/nvcc-lo.sh
	$(kt_v_NVCC)$(KT_NVCC_LO) $@ $(srcdir)/examples/smooth/smooth_cuda.cu $(NVCC) -std=c++17 \
		$(NVCCFLAGS) -Xcompiler -Wall,-Wextra -I$(top_srcdir)/lib \
		-I$(top_srcdir)/examples/smooth
CLEANFILES += examples/smooth/smooth_cuda.lo examples/smooth/smooth_cuda.o \
	examples/smooth/.libs/smooth_cuda.o
examples_smooth_libsmooth_all_la_LIBADD += examples/smooth/smooth_cuda.lo $(CUDA_LIBS)
EXTRA_examples_smooth_libsmooth_all_la_DEPENDENCIES = examples/smooth/smooth_cuda.lo
examples_smooth_libsmooth_all_la_CPPFLAGS += -DSMOOTH_CUDA
endif

# the plugin: -rpath makes libtool build a shared module although it is never installed
examples_smooth_libsmooth_la_SOURCES = examples/smooth/smooth_plugin.c
examples_smooth_libsmooth_la_CPPFLAGS = $(KT_SMOOTH_CPPFLAGS)
examples_smooth_libsmooth_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
examples_smooth_libsmooth_la_LIBADD = examples/smooth/libsmooth_all.la

check_PROGRAMS += examples/smooth/smooth_demo
examples_smooth_smooth_demo_SOURCES = examples/smooth/smooth_demo.c
examples_smooth_smooth_demo_CPPFLAGS = $(AM_CPPFLAGS) $(KT_SMOOTH_CPPFLAGS) -I$(top_srcdir)/tuner
examples_smooth_smooth_demo_LDADD = examples/smooth/libsmooth_all.la libkt_tuner.la libktune.la \
	$(JANSSON_LIBS) -lm
examples_smooth_smooth_demo_LDFLAGS = -static
