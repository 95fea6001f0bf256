/* mpi_check.c - see mpi_check.h. */
#include "normsweep/mpi_check.h"

#include <mpi.h>
#include <time.h>

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

int ns_mpi_wait_idle(MPI_Request *req)
{
    long ns = 100000;
    for (;;) {
        int done = 0;
        int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS || done) return rc;
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL); /* EINTR (a signal) just ends the nap early */
        if (ns < 5000000) ns *= 2;
    }
}
