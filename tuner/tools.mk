# ktune show, explain, report, export/import/merge: the inspection commands, their
# SVG plotting module, and their tests.  Included from Makefile.am.

ktune_SOURCES += tuner/kt_inspect.c tuner/kt_inspect.h tuner/cmd_show.c \
	tuner/cmd_explain.c tuner/cmd_report.c tuner/kt_plot.c tuner/kt_plot.h \
	tuner/cmd_export.c tuner/cmd_import.c tuner/cmd_merge.c tuner/kt_exchange.c \
	tuner/kt_exchange.h tuner/kt_outfile.c tuner/kt_outfile.h
# ktune profile (issue 9): the hotspot table and the stored-profile readers
ktune_SOURCES += tuner/cmd_profile.c tuner/kt_hot.h

# tests/tools: golden-structure tests of the commands' JSON on databases the test
# builds (known measurements, two machines), export/import/merge round trips, bad input.
KT_TESTS += tests/tools
tests_tools_SOURCES = tests/tools.c
tests_tools_CFLAGS = $(KT_TEST_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS)
tests_tools_LDADD = $(KT_TEST_LDADD) $(JANSSON_LIBS) $(SQLITE_LIBS)
tests_tools_LDFLAGS = -static

# tests/report.sh renders the HTML report in headless Chromium (skips without one).
TESTS += tests/report.sh
EXTRA_DIST += tests/report.sh
EXTRA_DIST += docs/report.png

# tests/outputs: kt_outfile (atomic replace, links, devices, FIFOs, sockets, refusals),
# kt_cli_sanitize, and the limits of kt_sizes_parse.
KT_TESTS += tests/outputs
tests_outputs_SOURCES = tests/outputs.c tests/kt_test.c tuner/kt_outfile.c tuner/kt_sizes.c
tests_outputs_CFLAGS = $(KT_TEST_CFLAGS) $(JANSSON_CFLAGS) -I$(top_srcdir)/tuner
tests_outputs_LDADD = $(KT_TEST_LDADD) -lm
tests_outputs_LDFLAGS = -static

# tests/outfile.sh: ktune report on a regular file, a device, a FIFO, symlinks, a directory.
TESTS += tests/outfile.sh
EXTRA_DIST += tests/outfile.sh

# ktune(1): generated from the tool's help by scripts/mkman, checked in, installed;
# tests/man.sh fails when the page and the help drift apart.
dist_man_MANS = docs/ktune.1
EXTRA_DIST += scripts/mkman tests/man.sh
TESTS += tests/man.sh
