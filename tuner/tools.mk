# ktune show, explain, report, export/import/merge: the inspection commands, their
# SVG plotting module, and their tests.  Included from Makefile.am.

ktune_SOURCES += tuner/kt_inspect.c tuner/kt_inspect.h tuner/cmd_show.c \
	tuner/cmd_explain.c tuner/cmd_report.c tuner/kt_plot.c tuner/kt_plot.h \
	tuner/cmd_export.c
