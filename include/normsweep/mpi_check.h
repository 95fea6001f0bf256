/* mpi_check.h - the one policy for MPI return codes in normsweep.
 *
 * Every MPI call's return code is checked. A failure becomes NS_ERR_MPI with
 * one line naming the call and MPI's own text ("MPI_Isend to rank 3:
 * MPI_ERR_RANK: invalid rank"). Library code returns that status; only a
 * command decides what follows (normsweep run aborts the whole job with
 * MPI_Abort, because the other ranks may be waiting for this one).
 *
 * With Open MPI's default handler (MPI_ERRORS_ARE_FATAL on MPI_COMM_WORLD and
 * every communicator duplicated from it) a failing call aborts the job before
 * it returns; the checks matter when a caller installs MPI_ERRORS_RETURN, and
 * they keep a failure from ever being mistaken for success. */
#ifndef NORMSWEEP_MPI_CHECK_H
#define NORMSWEEP_MPI_CHECK_H

#include "normsweep/error.h"

#include <mpi.h>

/* NS_OK when rc == MPI_SUCCESS; otherwise records "<what>: <MPI error string>"
 * and returns NS_ERR_MPI. */
ns_status ns_mpi_check(int rc, const char *what);

/* Return NS_ERR_MPI from the enclosing function when an MPI call fails. */
#define NS_MPI_TRY(call, what) NS_TRY(ns_mpi_check((call), (what)))

/* Wait for a non-blocking collective without spinning a core: MPI_Test, then a
 * nap growing from 0.1 to ~6 ms. Open MPI's blocking calls busy-poll, and the
 * ranks that wait share the cores with the one rank that works (docs/coordinator.md,
 * "Polling model"). Returns MPI_Test's code. */
int ns_mpi_wait_idle(MPI_Request *req);

#endif
