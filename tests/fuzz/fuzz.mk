# libFuzzer targets (tests/fuzz/README.md).  Included from Makefile.am.
#
# `make fuzz` runs scripts/fuzz: it builds a separate copy of the tree with clang,
# ASan+UBSan and libFuzzer coverage, replays tests/fuzz/regress/ and runs each target for
# KT_FUZZ_SECONDS (default 60).  The rules below link the targets; they only work in a tree
# configured that way (CC=clang, CFLAGS with -fsanitize=fuzzer-no-link), which is what
# scripts/fuzz does: `make tests/fuzz/bin/api` there.  Nothing here runs in `make` or
# `make check`.

# KT_FUZZ_DEFS=-DKT_FUZZ_KNOWN_BUGS (scripts/fuzz with KT_FUZZ_KNOWN_BUGS=1) makes the targets
# skip the bugs recorded in tests/fuzz/README.md that are not fixed yet.
KT_FUZZ_DEFS =
KT_FUZZ_CC = $(CC) $(DEFS) $(DEFAULT_INCLUDES) $(AM_CPPFLAGS) $(CPPFLAGS) $(KT_FUZZ_DEFS) \
	$(KT_WARN_CFLAGS) $(CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) -I$(top_srcdir)/tuner
KT_FUZZ_LINK = $(LIBTOOL) $(AM_V_lt) --tag=CC --mode=link $(CC) $(CFLAGS) -fsanitize=fuzzer \
	$(LDFLAGS) -static
KT_FUZZ_LIBS = libktune.la $(SQLITE_LIBS) $(OPENMP_CFLAGS) $(PTHREAD_LIBS) -lm $(MPI_LIBS)

EXTRA_DIST += scripts/fuzz tests/fuzz/README.md tests/fuzz/fuzz.h tests/fuzz/sizes.c \
	tests/fuzz/env.c tests/fuzz/import.c tests/fuzz/dbfile.c tests/fuzz/api.c \
	tests/fuzz/corpus tests/fuzz/regress
CLEANFILES += tests/fuzz/bin/sizes tests/fuzz/bin/env tests/fuzz/bin/import \
	tests/fuzz/bin/dbfile tests/fuzz/bin/api tests/fuzz/*.o tests/fuzz/libktune-tool.a

.PHONY: fuzz
fuzz:
	$(SHELL) $(top_srcdir)/scripts/fuzz

# The ktune command's objects, main renamed, for targets that drive a subcommand in-process.
tests/fuzz/libktune-tool.a: $(ktune_OBJECTS)
	$(AM_V_GEN)$(MKDIR_P) tests/fuzz && rm -f $@ && $(AR) rcs $@ $(ktune_OBJECTS) && \
	objcopy --redefine-sym main=kt_fuzz_ktune_main $@

tests/fuzz/sizes.o: $(top_srcdir)/tests/fuzz/sizes.c $(top_srcdir)/tests/fuzz/fuzz.h
	$(AM_V_CC)$(MKDIR_P) tests/fuzz && $(KT_FUZZ_CC) -c -o $@ $(top_srcdir)/tests/fuzz/sizes.c
tests/fuzz/bin/sizes: tests/fuzz/sizes.o tests/fuzz/libktune-tool.a libkt_tuner.la libktune.la
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz/bin && $(KT_FUZZ_LINK) -o $@ tests/fuzz/sizes.o \
	tests/fuzz/libktune-tool.a libkt_tuner.la $(KT_FUZZ_LIBS) $(JANSSON_LIBS)

tests/fuzz/env.o: $(top_srcdir)/tests/fuzz/env.c $(top_srcdir)/tests/fuzz/fuzz.h
	$(AM_V_CC)$(MKDIR_P) tests/fuzz && $(KT_FUZZ_CC) -c -o $@ $(top_srcdir)/tests/fuzz/env.c
tests/fuzz/bin/env: tests/fuzz/env.o libktune.la
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz/bin && $(KT_FUZZ_LINK) -o $@ tests/fuzz/env.o \
	$(KT_FUZZ_LIBS)

tests/fuzz/import.o: $(top_srcdir)/tests/fuzz/import.c $(top_srcdir)/tests/fuzz/fuzz.h
	$(AM_V_CC)$(MKDIR_P) tests/fuzz && $(KT_FUZZ_CC) -c -o $@ $(top_srcdir)/tests/fuzz/import.c
tests/fuzz/bin/import: tests/fuzz/import.o tests/fuzz/libktune-tool.a libkt_tuner.la libktune.la
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz/bin && $(KT_FUZZ_LINK) -o $@ tests/fuzz/import.o \
	tests/fuzz/libktune-tool.a libkt_tuner.la $(KT_FUZZ_LIBS) $(JANSSON_LIBS)

tests/fuzz/dbfile.o: $(top_srcdir)/tests/fuzz/dbfile.c $(top_srcdir)/tests/fuzz/fuzz.h
	$(AM_V_CC)$(MKDIR_P) tests/fuzz && $(KT_FUZZ_CC) -c -o $@ $(top_srcdir)/tests/fuzz/dbfile.c
tests/fuzz/bin/dbfile: tests/fuzz/dbfile.o libktune.la
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz/bin && $(KT_FUZZ_LINK) -o $@ tests/fuzz/dbfile.o \
	$(KT_FUZZ_LIBS)

tests/fuzz/api.o: $(top_srcdir)/tests/fuzz/api.c $(top_srcdir)/tests/fuzz/fuzz.h
	$(AM_V_CC)$(MKDIR_P) tests/fuzz && $(KT_FUZZ_CC) -c -o $@ $(top_srcdir)/tests/fuzz/api.c
tests/fuzz/bin/api: tests/fuzz/api.o libktune.la
	$(AM_V_CCLD)$(MKDIR_P) tests/fuzz/bin && $(KT_FUZZ_LINK) -o $@ tests/fuzz/api.o \
	$(KT_FUZZ_LIBS)
