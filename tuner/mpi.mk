# Fleets: `ktune tune --mpi` (tuner/kt_mpi.c), built when configure finds MPI and linked
# into the ktune command only (libktune never sees MPI); the fleet summary of `ktune show`
# and `ktune report` (tuner/kt_fleet.c), always.  Included from Makefile.am.

ktune_SOURCES += tuner/kt_fleet.c tuner/kt_fleet.h

if KT_MPI
ktune_SOURCES += tuner/kt_mpi.c tuner/kt_mpi.h
ktune_CFLAGS += $(MPI_CFLAGS)
ktune_LDADD += $(MPI_LIBS)

# tests/mpi.sh runs tests/mpi_tune (the tuner with planted variants whose costs are
# known busy-waits) and ktune itself under mpirun: two simulated hardware classes, the
# gathered database against a merge of separate runs, a rank killed mid-run, a
# read-only database.
check_PROGRAMS += tests/mpi_tune
tests_mpi_tune_SOURCES = tests/mpi_tune.c tuner/kt_mpi.c tuner/kt_mpi.h
tests_mpi_tune_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS) $(JANSSON_CFLAGS) -I$(top_srcdir)/tuner
tests_mpi_tune_LDADD = libkt_tuner.la libktune.la $(JANSSON_LIBS) $(MPI_LIBS)
tests_mpi_tune_LDFLAGS = -static
endif
TESTS += tests/mpi.sh
EXTRA_DIST += tests/mpi.sh tests/mpi.supp
AM_TESTS_ENVIRONMENT += KT_HAVE_MPI='$(KT_MPI_ON)' MPIRUN='$(MPIRUN)'; \
	export KT_HAVE_MPI MPIRUN;
