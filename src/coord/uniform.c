/* uniform.c - is a setting the same on every rank? Across nodes it need not be:
 * a variable exported on the launch node only (OPENBLAS_CORETYPE without
 * mpirun -x) gives the ranks of the other nodes another BLAS kernel, whose
 * results differ in the last bits, so a run's traces would depend on the node
 * it lands on (found by tests/multihost). */
#include "normsweep/coord.h"
#include "normsweep/mpi_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { VALUE_LEN = 64 };

ns_status ns_coord_check_uniform(MPI_Comm comm, const char *what, const char *value)
{
    int rank = 0, size = 1;
    NS_MPI_TRY(MPI_Comm_rank(comm, &rank), "ns_coord_check_uniform: MPI_Comm_rank");
    NS_MPI_TRY(MPI_Comm_size(comm, &size), "ns_coord_check_uniform: MPI_Comm_size");
    unsigned long h = crc32(0L, (const Bytef *)value, (uInt)strlen(value)), lo = 0, hi = 0;
    NS_MPI_TRY(MPI_Allreduce(&h, &lo, 1, MPI_UNSIGNED_LONG, MPI_MIN, comm),
               "ns_coord_check_uniform: MPI_Allreduce");
    NS_MPI_TRY(MPI_Allreduce(&h, &hi, 1, MPI_UNSIGNED_LONG, MPI_MAX, comm),
               "ns_coord_check_uniform: MPI_Allreduce");
    if (lo == hi) return NS_OK;
    /* Different: rank 0 finds one rank that differs from it, with its host. */
    char mine[2 * VALUE_LEN] = "", host[MPI_MAX_PROCESSOR_NAME] = "?";
    int len = 0;
    MPI_Get_processor_name(host, &len);
    snprintf(mine, sizeof mine, "%.*s|%.*s", VALUE_LEN - 1, value, VALUE_LEN - 1, host);
    char *all = rank == 0 ? calloc((size_t)size, sizeof mine) : NULL;
    int ok = ns_mpi_check(MPI_Gather(mine, (int)sizeof mine, MPI_CHAR, all, (int)sizeof mine,
                                     MPI_CHAR, 0, comm),
                          "ns_coord_check_uniform: MPI_Gather") == NS_OK;
    char msg[400] = "";
    size_t a = (size_t)(strchr(mine, '|') - mine); /* length of this rank's value */
    for (int r = 1; rank == 0 && ok && all && r < size; r++) {
        const char *other = all + (size_t)r * sizeof mine, *bar = strchr(other, '|');
        size_t b = bar ? (size_t)(bar - other) : strlen(other);
        if (b == a && strncmp(other, mine, a) == 0) continue;
        snprintf(msg, sizeof msg, ": rank 0 on %s has %.*s, rank %d on %s has %.*s", host, (int)a,
                 mine, r, bar ? bar + 1 : "?", (int)b, other);
        break;
    }
    free(all);
    return ns_error_set(NS_ERR_ARG, "ranks differ in their %s%s", what, msg);
}
