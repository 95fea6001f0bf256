/* version.c - build identity and library versions for --version, the banner
 * and the output file's metadata. The CLI is the one place outside store/ and
 * coord/ that names HDF5 and MPI, and only to ask their versions. */
#include "normsweep/version.h"
#include "normsweep/blas.h"

#include <hdf5.h>
#include <mpi.h>
#include <string.h>

#ifndef NS_GIT_COMMIT
#define NS_GIT_COMMIT "unknown"
#endif
#ifndef NS_BUILD_TYPE
#define NS_BUILD_TYPE "unknown"
#endif

const char *ns_git_commit(void) { return NS_GIT_COMMIT; }
const char *ns_build_type(void) { return NS_BUILD_TYPE; }

void ns_hdf5_version(char *buf, size_t n)
{
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(buf, n, "%u.%u.%u%s", maj, min, rel,
#ifdef H5_HAVE_PARALLEL
             " (parallel)"
#else
             " (serial)"
#endif
    );
}

void ns_mpi_version(char *buf, size_t n)
{
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0, ver = 0, sub = 0;
    MPI_Get_library_version(lib, &len);
    MPI_Get_version(&ver, &sub);
    /* Keep the first line of the library string ("Open MPI v4.1.4, ..."). */
    char *nl = strchr(lib, '\n');
    if (nl) *nl = '\0';
    char *comma = strchr(lib, ',');
    if (comma) *comma = '\0';
    snprintf(buf, n, "%s (MPI %d.%d)", lib, ver, sub);
}

void ns_print_version(FILE *f)
{
    char h5[64], mpi[256];
    ns_hdf5_version(h5, sizeof h5);
    ns_mpi_version(mpi, sizeof mpi);
    fprintf(f, "normsweep %s\n", NS_VERSION);
    fprintf(f, "commit:   %s\n", ns_git_commit());
    fprintf(f, "build:    %s\n", ns_build_type());
    fprintf(f, "hdf5:     %s\n", h5);
    fprintf(f, "mpi:      %s\n", mpi);
    fprintf(f, "openblas: %s\n", ns_blas_config());
    fprintf(f, "kernel:   %s (%s), %d thread%s\n", ns_blas_kernel(), ns_blas_kernel_origin(),
            ns_blas_threads(), ns_blas_threads() == 1 ? "" : "s");
}
