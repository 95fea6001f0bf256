/* results.h - the normsweep results file (docs/hdf5-schema.md) on top of the
 * generic store (h5store.h): the layout a sweep spec implies, and the run sink
 * that writes one run's records into its rows.
 *
 * Collective: create, open, close (all ranks of comm, same spec).
 * Independent: everything a sink does (each rank writes only its own runs).
 */
#ifndef NORMSWEEP_RESULTS_H
#define NORMSWEEP_RESULTS_H

#include "normsweep/error.h"
#include "normsweep/h5store.h"
#include "normsweep/run.h"
#include "normsweep/spec.h"

#include <mpi.h>

/* 2: CF conventions - variable-length strings for the settings, run
 * coordinates (`coordinates` attributes), units on every variable, the HDF5
 * 1.8 format. Files of version 1 are converted by `normsweep merge NEW OLD`. */
#define NS_SCHEMA_VERSION "2"

/* Cell widths (bytes) of the string columns, for readers of the run table. */
#define NS_RESULTS_ARCH_LEN 128   /* arch                                   */
#define NS_RESULTS_NORM_LEN 64    /* norm                                   */
#define NS_RESULTS_STATUS_LEN 16  /* status, init                           */
#define NS_RESULTS_NAME_LEN 48    /* layer_name, act_layer_name, tensor_name */
#define NS_RESULTS_MSG_LEN 256    /* message                                */

typedef struct ns_results ns_results;

/* Platform facts recorded as root attributes (filled by the CLI). */
typedef struct ns_results_meta {
    const char *normsweep_version, *git_commit, *hdf5_version, *mpi_version;
    const char *blas_kernel;
    int blas_threads;
    const float *data_mean, *data_std; /* per channel, in_shape.c entries (may be NULL) */
} ns_results_meta;

/* Create path (truncating it) with the whole layout for spec. */
ns_status ns_results_create(const char *path, MPI_Comm comm, const ns_spec *spec,
                            const ns_results_meta *meta, ns_results **out);
/* Open an existing file for resume: refuses (NS_ERR_ARG) a file that is not a
 * normsweep file of this schema version, or whose spec differs from spec; the
 * message then carries a short diff of the canonical forms. */
ns_status ns_results_open(const char *path, MPI_Comm comm, const ns_spec *spec, ns_results **out);
ns_status ns_results_close(ns_results *r);

/* What ns_results_check may accept. */
enum {
    NS_RESULTS_SAME_SPEC = 1u, /* written by exactly this spec (canonical form): resume */
    NS_RESULTS_READ_V1 = 2u    /* schema_version 1 too (fixed-length strings): status,
                                  merge (which converts it) */
};

/* Is path a results file this normsweep reads, laid out for spec? Checked in
 * a separate process (a damaged file can crash or hang HDF5; here that is
 * NS_ERR_FORMAT), read-only, without MPI: the identity attributes, every
 * dimension and variable the schema makes exist for spec (type, dims, sizes,
 * coordinates), the run table's settings against spec's runs, every status
 * cell. spec NULL: the file's own spec_text when it parses here (data
 * present), else the run table alone. One line naming the file and what is
 * wrong; NS_ERR_IO when it cannot be opened at all. */
ns_status ns_results_check(const char *path, const ns_spec *spec, unsigned flags);

/* The same checks on an open handle, in this process (after ns_results_check
 * said the file is safe to read). */
ns_status ns_results_check_identity(ns_h5 *h, const char *path, unsigned flags);
ns_status ns_results_check_spec(ns_h5 *h, const char *path, const ns_spec *spec);
ns_status ns_results_validate(ns_h5 *h, const char *path, const ns_spec *spec, unsigned flags);

/* The recorded status of run i ("done", "diverged", ... or NS_RUN_PENDING
 * for never started). Independent. */
ns_status ns_results_run_status(ns_results *r, int run, ns_run_status *status);
/* The same on any open results file (tools: status, merge). */
ns_status ns_results_status_in(ns_h5 *h, size_t run, ns_run_status *status);

/* A sink writing run `run`'s records (rank = who runs it). Buffers step and
 * eval records and writes them on sync/end; probe records go out at once.
 * ns_results_sink_free after ns_run_execute returns. */
ns_status ns_results_sink_new(ns_results *r, int run, int rank, ns_run_sink *sink);
void ns_results_sink_free(ns_run_sink *sink);

#endif
