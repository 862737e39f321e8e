# ---- the Python module (configure --enable-python; issue 10) -----------------------------
# python/ktune.c is a libtool module linked against libktune.la (shared), installed into
# the interpreter's site-packages ($(pyexecdir)) as ktune$(KT_PYTHON_EXT).  In the build
# tree python/ktune.so links to the built module: PYTHONPATH=$(top_builddir)/python.
EXTRA_DIST += python/ktune.c python/python.mk tests/python.sh tests/python/conftest.py \
	tests/python/test_ops.py tests/python/test_errors.py tests/python/test_leaks.py \
	scripts/bench-python tests/python.supp
TESTS += tests/python.sh
AM_TESTS_ENVIRONMENT += KT_PYTHON='$(PYTHON)' KT_PYTHON_BUILT='$(KT_PYTHON_BUILT)'; \
	export KT_PYTHON KT_PYTHON_BUILT;
if KT_PYTHON
KT_PYTHON_BUILT = yes
pyexec_LTLIBRARIES = python/ktune.la
python_ktune_la_SOURCES = python/ktune.c
python_ktune_la_CPPFLAGS = $(AM_CPPFLAGS) $(KT_PYTHON_CPPFLAGS)
python_ktune_la_CFLAGS = $(KT_WARN_CFLAGS) -fvisibility=hidden
python_ktune_la_LDFLAGS = -module -avoid-version -shared -export-symbols-regex '^PyInit_ktune$$'
python_ktune_la_LIBADD = libktune.la
# the build tree's importable module (libtool keeps the real one in python/.libs)
noinst_DATA = python/ktune.so
python/ktune.so: python/ktune.la
	$(AM_V_GEN)rm -f $@ && $(LN_S) .libs/ktune.so $@
CLEANFILES += python/ktune.so
# installed as the interpreter names extension modules; no libtool archive in site-packages
install-exec-hook:
	mv -f '$(DESTDIR)$(pyexecdir)/ktune.so' '$(DESTDIR)$(pyexecdir)/ktune$(KT_PYTHON_EXT)'
	rm -f '$(DESTDIR)$(pyexecdir)/ktune.la'
uninstall-local:
	rm -f '$(DESTDIR)$(pyexecdir)/ktune$(KT_PYTHON_EXT)' '$(DESTDIR)$(pyexecdir)/ktune.so'
else
KT_PYTHON_BUILT = no
endif
