/* version.h - what this build is and what it runs on. */
#ifndef NORMSWEEP_VERSION_H
#define NORMSWEEP_VERSION_H

#include <stdio.h>

#define NS_VERSION "0.1.0"

/* Git commit the build came from ("unknown" outside a checkout); set by CMake. */
const char *ns_git_commit(void);
/* Build type and flags summary, e.g. "Release". */
const char *ns_build_type(void);

/* Versions of the libraries in use, filled into caller buffers. */
void ns_hdf5_version(char *buf, size_t n);
void ns_mpi_version(char *buf, size_t n);  /* works before MPI_Init */

/* Print the --version text (multi-line) to f. */
void ns_print_version(FILE *f);

#endif
