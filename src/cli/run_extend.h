/* run_extend.h - `normsweep run --extend` (docs/cli.md, "Extending a sweep"):
 * the steps rank 0 takes around an ordinary sweep. Internal to src/cli/; no
 * MPI here - cmd_run.c shares each verdict with the other ranks.
 *
 *   plan    read OUT, match its runs to the spec's by identity, decide
 *   (all)   create OUT.extending with the extended layout (cmd_run.c)
 *   carry   copy OUT's finished runs (and checkpointed unfinished ones) into it
 *   (all)   run what is left in OUT.extending, like --resume (cmd_run.c)
 *   commit  the sweep complete: validate OUT.extending, rename it over OUT
 *
 * Until the commit OUT is never written, so a kill at any moment leaves OUT
 * as it was, and OUT.extending resumable (`run --extend` or `--resume` with
 * the extended spec continue it). */
#ifndef NS_CLI_RUN_EXTEND_H
#define NS_CLI_RUN_EXTEND_H

#include "normsweep/results.h"
#include "normsweep/spec.h"

#include <limits.h>

typedef enum ns_extend_mode {
    NS_EXTEND_NONE = 0, /* no extension: an ordinary run or --resume of OUT   */
    NS_EXTEND_NEW,      /* make OUT.extending and carry OUT's runs into it     */
    NS_EXTEND_CONTINUE  /* OUT.extending of this spec exists: carry what OUT
                           finished since, and go on with it                  */
} ns_extend_mode;

typedef struct ns_extend {
    ns_extend_mode mode;   /* the same on every rank (cmd_run.c shares it)  */
    char work[PATH_MAX];   /* OUT.extending                                  */
    /* rank 0 only */
    const char *out;
    const ns_spec *spec;   /* the extended spec                              */
    ns_spec *old;          /* the spec OUT was written with                  */
    int *old_of_new;       /* [spec->nruns]: OUT's run, or -1 for a new one  */
    int nkept;             /* OUT's runs (all of them are in spec)           */
    char *history;         /* the `history` attribute of a new OUT.extending */
    char old_ckpt[PATH_MAX], new_ckpt[PATH_MAX]; /* OUT.ckpt, OUT.extending.ckpt */
    ns_carry_counts carried;
} ns_extend;

/* OUT.extending and its checkpoint directory (every rank; no file touched). */
ns_status ns_extend_paths(ns_extend *x, const char *out);

/* Rank 0, before anything is written: what happens to OUT. extend: --extend
 * was given (OUT must exist); else --resume (OUT exists), which continues an
 * extension to this spec in progress and is NONE otherwise. NONE also when
 * OUT already holds this spec (nothing to add: an ordinary --resume).
 * NS_ERR_ARG / NS_ERR_FORMAT (exit 2) for a spec that changes or drops runs
 * of OUT, a damaged OUT, or an OUT.extending of another spec. */
ns_status ns_extend_plan(ns_extend *x, const char *out, const ns_spec *spec, int extend);

/* Rank 0, OUT.extending laid out and closed: carry OUT's runs into it. */
ns_status ns_extend_carry(ns_extend *x);

/* Rank 0, the extended sweep complete and OUT.extending closed: check it and
 * put it in OUT's place with its checkpoints and progress file. */
ns_status ns_extend_commit(ns_extend *x);

void ns_extend_free(ns_extend *x);

#endif
