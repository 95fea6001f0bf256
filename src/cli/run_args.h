/* run_args.h - the command line of `normsweep run` (docs/cli.md). Internal to
 * src/cli/. */
#ifndef NS_CLI_RUN_ARGS_H
#define NS_CLI_RUN_ARGS_H

#include "normsweep/spec.h"

typedef struct run_opts {
    const char *spec, *out;
    const char *overrides[NS_SPEC_MAX_CLI_OVERRIDES]; /* KEY=VALUE after SPEC */
    int noverrides;
    int resume, force, quiet, extend;
    int shard, nshards;
    double progress_every, rank_timeout;
    /* the runs' wall-time cadences (ns_run_cadence): runtime settings, not in
     * the spec or the file, since they change no trace */
    double flush_s, checkpoint_s;
} run_opts;

/* Fill o from argv. 0: go on; -1: --help was printed; 2: refused, after one
 * line naming the problem (and the usage, for a missing SPEC or OUT). */
int ns_run_parse_args(int argc, char **argv, run_opts *o);

#endif
