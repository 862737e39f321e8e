# Tests of ktune_op.h: registration, kt_select, plugins.  Included from Makefile.am.

# plugins for tests/plugin.sh: one with a wrong and a versioned variant, one whose
# registration fails, one that cannot be loaded (an unresolved symbol)
check_LTLIBRARIES += tests/libktplugin.la tests/libktbadplugin.la tests/libktunresolved.la
KT_PLUGIN_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_libktplugin_la_SOURCES = tests/plugin_test.c
tests_libktplugin_la_CPPFLAGS = $(KT_SMOOTH_CPPFLAGS)
tests_libktplugin_la_LDFLAGS = $(KT_PLUGIN_LDFLAGS)
tests_libktplugin_la_LIBADD = examples/smooth/libsmooth_all.la
tests_libktbadplugin_la_SOURCES = tests/plugin_bad.c
tests_libktbadplugin_la_LDFLAGS = $(KT_PLUGIN_LDFLAGS)
tests_libktunresolved_la_SOURCES = tests/plugin_unresolved.c
tests_libktunresolved_la_LDFLAGS = $(KT_PLUGIN_LDFLAGS)

# tests/opreg: registration errors, requirements never returned whatever the tuned points
# say, minimum sizes, kt_select from many threads while dispatch is rebuilt
KT_TESTS += tests/opreg
tests_opreg_SOURCES = tests/opreg.c tests/kt_test.c
tests_opreg_CFLAGS = $(KT_TEST_CFLAGS)
tests_opreg_LDADD = $(KT_TEST_LDADD)
tests_opreg_LDFLAGS = -static

# tests/plugin.sh: ktune --plugin end to end (tune, validation, list/show/explain/export/
# bench, failures, a version bump) and the statically linked example program
TESTS += tests/plugin.sh
EXTRA_DIST += tests/plugin.sh
EXTRA_DIST += tests/opreg.mk
