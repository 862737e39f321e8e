## variants/cuda/build.mk: the CUDA and cuBLAS backends.  Included by the
## top-level (non-recursive) Makefile.am; paths are relative to the top.
##
## Expects from configure.ac: AM_CONDITIONAL KT_CUDA and KT_CUBLAS; AC_SUBST'ed
##   NVCC, NVCCFLAGS (-O3 and the -gencode flags), CUDA_CFLAGS, CUDA_LIBS.
## Expects from Makefile.am, before the include: AM_CPPFLAGS, and
##   noinst_LTLIBRARIES, EXTRA_DIST, CLEANFILES already set (appended to here).
## Provides, for libktune_la_LIBADD (followed by $(CUDA_LIBS)):
##   KT_CUDA_LOBJS     libtool objects of the .cu files (empty without CUDA);
##                     list them in EXTRA_libktune_la_DEPENDENCIES too
##   KT_CUBLAS_LTLIBS  variants/cublas/libkt_cublas.la (empty without cuBLAS)
## Without CUDA, lib/kt_gpu_none.c provides kt_gpu_get() and the timing calls.
##
## nvcc's objects become libtool objects through variants/cuda/nvcc-lo.sh
## (object in DIR/.libs/NAME.o and DIR/NAME.o, NAME.lo written last).

KT_CUDA_CU = variants/cuda/gpu.cu variants/cuda/vec.cu variants/cuda/gemv.cu \
	variants/cuda/gemm.cu variants/cuda/shape.cu
KT_CUDA_ALL_LOBJS = variants/cuda/gpu.lo variants/cuda/vec.lo variants/cuda/gemv.lo \
	variants/cuda/gemm.lo variants/cuda/shape.lo
KT_CUDA_HDRS = variants/cuda/kt_cuda.h variants/cuda/kt_cuda_dev.cuh \
	variants/cuda/kt_cuda_variants.h
EXTRA_DIST += $(KT_CUDA_CU) $(KT_CUDA_HDRS) variants/cuda/build.mk \
	variants/cuda/nvcc-lo.sh

if KT_CUDA
KT_CUDA_LOBJS = $(KT_CUDA_ALL_LOBJS)
else
KT_CUDA_LOBJS =
endif

if KT_CUBLAS
KT_CUBLAS_LTLIBS = variants/cublas/libkt_cublas.la
noinst_LTLIBRARIES += variants/cublas/libkt_cublas.la
variants_cublas_libkt_cublas_la_SOURCES = variants/cublas/cublas.c $(KT_CUDA_HDRS)
variants_cublas_libkt_cublas_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/variants/cuda \
	$(CUDA_CFLAGS)
else
KT_CUBLAS_LTLIBS =
endif

## nvcc: C++17, warnings on, config.h and the project headers.  NVCCFLAGS (from
## configure, or `make NVCCFLAGS=...`) carries -O3 and the -gencode flags.
KT_NVCC_COMPILE = $(NVCC) -std=c++17 $(NVCCFLAGS) -Xcompiler -Wall,-Wextra $(DEFS) \
	-I$(top_builddir) -I$(top_srcdir)/lib -I$(top_srcdir)/variants \
	-I$(top_srcdir)/variants/cuda
KT_NVCC_DEPS = $(top_srcdir)/variants/cuda/nvcc-lo.sh $(top_srcdir)/lib/ktune.h \
	$(top_srcdir)/lib/kt_internal.h $(top_srcdir)/variants/kt_variants.h $(KT_CUDA_HDRS) \
	$(CONFIG_HEADER)
KT_NVCC_LO = $(SHELL) $(top_srcdir)/variants/cuda/nvcc-lo.sh

## Silent rules: "  NVCC     variants/cuda/gpu.lo" unless V=1.
kt_v_NVCC = $(kt__v_NVCC_@AM_V@)
kt__v_NVCC_ = $(kt__v_NVCC_@AM_DEFAULT_V@)
kt__v_NVCC_0 = @echo "  NVCC    " $@;
kt__v_NVCC_1 =

variants/cuda/gpu.lo: variants/cuda/gpu.cu $(KT_NVCC_DEPS)
	$(kt_v_NVCC)$(KT_NVCC_LO) $@ $(srcdir)/variants/cuda/gpu.cu $(KT_NVCC_COMPILE)
variants/cuda/vec.lo: variants/cuda/vec.cu $(KT_NVCC_DEPS)
	$(kt_v_NVCC)$(KT_NVCC_LO) $@ $(srcdir)/variants/cuda/vec.cu $(KT_NVCC_COMPILE)
variants/cuda/gemv.lo: variants/cuda/gemv.cu $(KT_NVCC_DEPS)
	$(kt_v_NVCC)$(KT_NVCC_LO) $@ $(srcdir)/variants/cuda/gemv.cu $(KT_NVCC_COMPILE)
variants/cuda/gemm.lo: variants/cuda/gemm.cu $(KT_NVCC_DEPS)
	$(kt_v_NVCC)$(KT_NVCC_LO) $@ $(srcdir)/variants/cuda/gemm.cu $(KT_NVCC_COMPILE)
variants/cuda/shape.lo: variants/cuda/shape.cu $(KT_NVCC_DEPS) $(top_srcdir)/variants/kt_shape.h
	$(kt_v_NVCC)$(KT_NVCC_LO) $@ $(srcdir)/variants/cuda/shape.cu $(KT_NVCC_COMPILE)

CLEANFILES += $(KT_CUDA_ALL_LOBJS) $(KT_CUDA_ALL_LOBJS:.lo=.o) \
	$(KT_CUDA_ALL_LOBJS:.lo=.lo.tmp) \
	variants/cuda/.libs/gpu.o variants/cuda/.libs/vec.o \
	variants/cuda/.libs/gemv.o variants/cuda/.libs/gemm.o variants/cuda/.libs/shape.o
