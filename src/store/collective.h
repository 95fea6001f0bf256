/* collective.h - how the store's ranks agree before a collective step
 * (docs/coordinator.md, "Agreement before collectives"). Internal to src/store/.
 *
 * Parallel HDF5 hangs or corrupts a file when ranks disagree about a
 * collective call, so a decision that leads into one is never taken per rank:
 * either rank 0 decides and broadcasts (ns_coll_from_root), or every rank
 * reports its own outcome and all adopt the first failure (ns_coll_agree).
 * Either way every rank returns the same status with the same message.
 *
 * MPI return codes are checked everywhere (ns_mpi_check_file, which names
 * the file): a failed call is NS_ERR_MPI naming the call and the file. comm == MPI_COMM_NULL means a
 * serial (one-process) file: nothing to agree on; so does an MPI that is not
 * running (the caller's own check refuses that case). */
#ifndef NS_STORE_COLLECTIVE_H
#define NS_STORE_COLLECTIVE_H

#include "normsweep/error.h"

#include <mpi.h>

/* NS_OK for MPI_SUCCESS, else NS_ERR_MPI "path: call failed: <MPI's text>". */
ns_status ns_mpi_check_file(int rc, const char *path, const char *call);

/* Rank of this process in comm (0 for MPI_COMM_NULL). */
ns_status ns_coll_rank(MPI_Comm comm, const char *path, int *rank);

/* Every rank passes its own status (message in ns_error_msg); every rank
 * returns the status and message of the lowest-numbered rank that failed,
 * or NS_OK if none did. */
ns_status ns_coll_agree(MPI_Comm comm, const char *path, ns_status mine);

/* Rank 0's status and message (its st and ns_error_msg) on every rank. The
 * other ranks' st is ignored. */
ns_status ns_coll_from_root(MPI_Comm comm, const char *path, ns_status st);

/* ns_coll_from_root for a long wait (rank 0 working alone, e.g. building a
 * file): the other ranks sleep between tests (MPI_Ibcast + MPI_Test +
 * nanosleep, 0.1 to 5 ms) instead of busy-polling the cores rank 0 needs. */
ns_status ns_coll_from_root_idle(MPI_Comm comm, const char *path, ns_status st);

/* Rank 0's text (NUL-terminated, < cap bytes) copied into buf on every rank. */
ns_status ns_coll_bcast_text(MPI_Comm comm, const char *path, char *buf, int cap);

/* Rank 0's malloc'd string *s on every rank (the others' *s is freed and
 * replaced by a copy). */
ns_status ns_coll_bcast_str(MPI_Comm comm, const char *path, char **s);

#endif
