/* blas.h - make OpenBLAS run its best kernel with the right thread count.
 *
 * Debian's OpenBLAS 0.3.21 does not recognise newer CPUs and falls back to its
 * Prescott (SSE3) kernel, about 5x slower. The kernel is chosen when the
 * library loads, from OPENBLAS_CORETYPE, so the only fix from inside a program
 * is to set the variable and re-execute itself once, before anything else
 * (in particular before MPI_Init). A user-set OPENBLAS_CORETYPE is respected.
 *
 * Thread count: one BLAS thread per process (one MPI rank per core is the
 * sweep model) unless OPENBLAS_NUM_THREADS or NORMSWEEP_BLAS_THREADS says
 * otherwise.
 */
#ifndef NORMSWEEP_BLAS_H
#define NORMSWEEP_BLAS_H

#include "normsweep/error.h"

/* Call first thing in main(). If the environment needs fixing it sets
 * OPENBLAS_CORETYPE / OPENBLAS_NUM_THREADS and execv()s /proc/self/exe with
 * the same argv (at most once: a marker variable prevents loops). Returns
 * only if no re-exec was needed or the re-exec failed (then a warning is
 * printed and the program goes on with the default kernel).
 * NORMSWEEP_NO_KERNEL_SELECT=1 disables selection (benchmarks use it to
 * measure the default kernel). */
void ns_blas_bootstrap(int argc, char **argv);

/* After ns_blas_bootstrap: NS_ERR_ARG naming the variable when the
 * environment asks for something that does not happen - OPENBLAS_CORETYPE
 * set by the user to a kernel OpenBLAS does not run, NORMSWEEP_BLAS_THREADS
 * (or OPENBLAS_NUM_THREADS, its fallback) not a whole number 1..4096. main()
 * exits 2 on it: such a setting was once accepted silently. */
ns_status ns_blas_check_env(void);

/* The kernel the CPU supports best among those Debian's OpenBLAS ships
 * (e.g. "SkylakeX", "Haswell"), from cpuid; NULL if nothing better than the
 * library's own choice is known. */
const char *ns_blas_best_coretype(void);

/* What runs now: OpenBLAS's core name (e.g. "SkylakeX", "Prescott"). */
const char *ns_blas_kernel(void);
/* Threads OpenBLAS uses now. */
int ns_blas_threads(void);
/* How the kernel was chosen: "selected" (by normsweep), "user"
 * (OPENBLAS_CORETYPE given by the user), or "default" (library's own). */
const char *ns_blas_kernel_origin(void);
/* OpenBLAS build configuration string (version and options). */
const char *ns_blas_config(void);

#endif
