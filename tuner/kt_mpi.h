/*
 * `ktune tune --mpi`: one MPI job tunes a fleet into one database (tuner/kt_mpi.c).
 * Built only when configure finds MPI (KT_HAVE_MPI); only the ktune command links it.
 */
#ifndef KT_MPI_H
#define KT_MPI_H

#include "kt_tune.h"

/*
 * Runs the tuning of o across the ranks of MPI_COMM_WORLD (initialising MPI; the caller
 * reports, then calls kt_mpi_end(), so that rank 0's message is out before any rank
 * leaves the job).  Rank 0 is the writer: the only process
 * that opens o->db_path, and the coordinator of every hardware class (ranks grouped by
 * kt_fingerprint()); the other ranks measure what it hands out, one rank per node at a
 * time.  *writer is set to 1 on rank 0 (the rank that reports), 0 elsewhere.  rep (rank
 * 0) sums the classes; rep->run is the first measuring run.  Returns KT_OK also when
 * stopped early (rep->stopped), else the failure (kt_last_error() on rank 0 says why;
 * other ranks return the same status quietly).
 */
kt_status kt_mpi_tune(const kt_tune_opts *o, kt_tune_report *rep, int *writer);

/* Finalises MPI (every rank, after reporting); not when interrupted (mpirun ends the job). */
void kt_mpi_end(int interrupted);

#endif
