/* collective.c - agreement over ranks before collective HDF5 calls (collective.h). */
#include "collective.h"
#include "watchdog.h"

#include "normsweep/mpi_check.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The message that travels with a status: as long as ns_error's buffer. */
enum { MSG_CAP = 1024 };

ns_status ns_mpi_check_file(int rc, const char *path, const char *call)
{
    if (rc == MPI_SUCCESS) return NS_OK;
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "code %d", rc);
    return ns_error_set(NS_ERR_MPI, "%s: %s failed: %s", path ? path : "(no file)", call, text);
}

/* A communicator to agree over: not MPI_COMM_NULL, and MPI running (a caller
 * that asked for MPI-IO before MPI_Init gets its own NS_ERR_STATE back, not an
 * MPI abort here). */
static int live(MPI_Comm comm)
{
    int init = 0, fin = 0;
    if (comm == MPI_COMM_NULL || MPI_Initialized(&init) != MPI_SUCCESS || !init) return 0;
    return MPI_Finalized(&fin) == MPI_SUCCESS && !fin;
}

ns_status ns_coll_rank(MPI_Comm comm, const char *path, int *rank)
{
    *rank = 0;
    if (!live(comm)) return NS_OK;
    return ns_mpi_check_file(MPI_Comm_rank(comm, rank), path, "MPI_Comm_rank");
}

ns_status ns_coll_bcast_text(MPI_Comm comm, const char *path, char *buf, int cap)
{
    if (!live(comm)) return NS_OK;
    NS_TRY(ns_mpi_check_file(MPI_Bcast(buf, cap, MPI_CHAR, 0, comm), path, "MPI_Bcast"));
    buf[cap - 1] = '\0';
    return NS_OK;
}

ns_status ns_coll_bcast_str(MPI_Comm comm, const char *path, char **s)
{
    if (!live(comm)) return NS_OK;
    int me = 0;
    NS_TRY(ns_coll_rank(comm, path, &me));
    long long len = me == 0 && *s ? (long long)strlen(*s) : 0;
    NS_TRY(ns_mpi_check_file(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, comm), path, "MPI_Bcast"));
    NS_CHECK(len >= 0 && len < INT_MAX, NS_ERR_ARG, "%s: a text of %lld bytes is too long to "
             "share between ranks", path, len);
    if (me != 0) {
        free(*s);
        *s = calloc((size_t)len + 1, 1);
    }
    /* every rank takes part in the broadcast, also one that is out of memory */
    char dummy[1];
    int rc = MPI_Bcast(*s ? *s : dummy, *s ? (int)len : 0, MPI_CHAR, 0, comm);
    NS_TRY(ns_mpi_check_file(rc, path, "MPI_Bcast"));
    NS_CHECK(*s, NS_ERR_NOMEM, "%s: out of memory for a shared text", path);
    return NS_OK;
}

/* Status and message of rank `root`, on every rank; idle: the others sleep
 * while they wait instead of polling. */
static ns_status bcast_status(MPI_Comm comm, const char *path, int root, ns_status st, int idle)
{
    int me = 0;
    NS_TRY(ns_coll_rank(comm, path, &me));
    struct {
        int code;
        char msg[MSG_CAP];
    } m;
    memset(&m, 0, sizeof m);
    if (me == root) {
        m.code = (int)st;
        snprintf(m.msg, sizeof m.msg, "%s", ns_error_msg());
    }
    if (idle) {
        MPI_Request req = MPI_REQUEST_NULL;
        NS_TRY(ns_mpi_check_file(MPI_Ibcast(&m, (int)sizeof m, MPI_BYTE, root, comm, &req), path,
                                 "MPI_Ibcast"));
        NS_TRY(ns_mpi_check_file(ns_mpi_wait_idle(&req), path, "MPI_Test"));
    } else {
        NS_TRY(ns_mpi_check_file(MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, root, comm), path,
                                 "MPI_Bcast"));
    }
    m.msg[MSG_CAP - 1] = '\0';
    if (m.code == NS_OK) return NS_OK;
    return ns_error_set((ns_status)m.code, "%s", m.msg);
}

ns_status ns_coll_agree(MPI_Comm comm, const char *path, ns_status mine)
{
    if (!live(comm)) return mine;
    int me = 0, first = INT_MAX;
    NS_TRY(ns_coll_rank(comm, path, &me));
    if (mine != NS_OK) ns_watchdog_note(ns_error_msg());
    int key = mine != NS_OK ? me : INT_MAX;
    NS_TRY(ns_mpi_check_file(MPI_Allreduce(&key, &first, 1, MPI_INT, MPI_MIN, comm), path,
                        "MPI_Allreduce"));
    if (first == INT_MAX) return NS_OK;
    return bcast_status(comm, path, first, mine, 0);
}

ns_status ns_coll_from_root(MPI_Comm comm, const char *path, ns_status st)
{
    if (!live(comm)) return st;
    return bcast_status(comm, path, 0, st, 0);
}

ns_status ns_coll_from_root_idle(MPI_Comm comm, const char *path, ns_status st)
{
    if (!live(comm)) return st;
    return bcast_status(comm, path, 0, st, 1);
}
