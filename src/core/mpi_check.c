/* mpi_check.c - see mpi_check.h. */
#include "normsweep/mpi_check.h"

#include <mpi.h>

ns_status ns_mpi_check(int rc, const char *what)
{
    if (rc == MPI_SUCCESS) return NS_OK;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS || len <= 0)
        return ns_error_set(NS_ERR_MPI, "%s: MPI error code %d", what, rc);
    text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
    return ns_error_set(NS_ERR_MPI, "%s: %s", what, text);
}
