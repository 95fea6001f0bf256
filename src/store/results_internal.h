/* results_internal.h - what results.c (file) and sink.c (per-run writes)
 * share. Internal to src/store/. */
#ifndef NS_STORE_RESULTS_INTERNAL_H
#define NS_STORE_RESULTS_INTERNAL_H

#include "schema.h"

#include "normsweep/results.h"

struct ns_results {
    ns_h5 *h;
    ns_schema_sweep sw; /* sizes (maxima over runs) and sweep-wide settings */
    const ns_spec *spec;
};

/* status, rank and (if message != NULL) message of one run. */
ns_status ns_results_write_status(ns_results *r, int run, int rank, ns_run_status st,
                                  const char *message);

#endif
