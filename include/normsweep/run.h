/* run.h - ONE training run: config + data -> net -> training loop with probes,
 * evaluation, checkpoints and divergence detection -> records handed to a sink.
 *
 * It knows no MPI and no HDF5: the sink (function pointers) decides where the
 * records go (the shared HDF5 file in a sweep, memory in tests), and the
 * control hooks let a coordinator service other ranks between steps and ask
 * the run to stop. That keeps every trace of a run testable in one process.
 *
 * Order of events at a training step t (docs/measurements.md has the detail):
 *   0. if t is a save step (save_weights.at): the weights w_t, parameters and
 *      state, to the sink (before anything else touches the net at step t)
 *   1. batch(t) (a pure function of seed and t), forward + backward in TRAIN mode
 *      (batch statistics updated, noisy-BN noise drawn): loss, accuracy, g;
 *      the step's record (every log_every steps and the last)
 *   2. if t is a probe step: activation statistics and Theorem 4.1 (from that
 *      very forward/backward), landscape, Hessian, exact curvature - all at w_t with g, on
 *      batch(t), without touching training state; then the optimizer update;
 *      then ICS (needs w_{t+1}); else just the optimizer update
 *   3. evaluate (every eval_every steps and after the last), checkpoint (every
 *      checkpoint_every steps but the last, every ns_run_cadence.checkpoint_s
 *      seconds, and when asked to stop)
 *   4. sync the sink's buffered traces when ns_run_cadence.flush_s seconds
 *      have passed since the last sync (and before every checkpoint)
 * A loss that is not finite or exceeds diverge_above ends the run as
 * "diverged at step t" right after the step's record, before 2.
 */
#ifndef NORMSWEEP_RUN_H
#define NORMSWEEP_RUN_H

#include "normsweep/data.h"
#include "normsweep/error.h"
#include "normsweep/spec.h"
#include "normsweep/status.h"

struct ns_net; /* net.h */

#include <stdint.h>

/* Fixed shapes of a run's traces, from its config alone (the output file is
 * laid out before anything trains). */
typedef struct ns_run_dims {
    int64_t nlog;   /* logged steps: 0, k, 2k, ... and steps-1           */
    int64_t neval;  /* evaluation points                                  */
    int nprobe;     /* probe steps                                        */
    int neta;       /* landscape step sizes (0: landscape off)            */
    int nlayers;    /* measured (dense/conv) layers                       */
    int nnorm;      /* normalization layers                               */
    int nunits;     /* tracked units per normalization layer (0: off)     */
    int nquant;     /* activation quantiles                               */
    int nsave;      /* save steps (save_weights.at)                       */
    int neig;       /* top Hessian eigenvalues (0: curvature off)         */
    int nslq_v;     /* SLQ start vectors (0: SLQ off)                     */
    int nslq_m;     /* SLQ Lanczos steps: quadrature nodes per vector      */
    size_t nparams; /* parameters of the net                              */
} ns_run_dims;

ns_status ns_run_dims_get(const ns_run_config *cfg, const ns_dataset_info *info, ns_run_dims *d);

/* Logged step t -> its index on the `step` axis (-1 if t is not logged). */
int64_t ns_run_log_index(const ns_run_config *cfg, int64_t t);
/* Step of log index i. */
int64_t ns_run_log_step(const ns_run_config *cfg, int64_t i);
/* Evaluation after step t (i.e. with w_{t+1}) -> index on the `eval` axis, or -1. */
int64_t ns_run_eval_index(const ns_run_config *cfg, int64_t t);
int64_t ns_run_eval_step(const ns_run_config *cfg, int64_t i);
/* Step t -> its index among the save steps (save_weights.at), or -1. */
int ns_run_save_index(const ns_run_config *cfg, int64_t t);
/* Probe steps of a run, ascending, into steps[0..dims.nprobe). */
ns_status ns_run_probe_steps(const ns_run_config *cfg, int64_t *steps, int n);



/* --------------------------------------------------------------- records */

typedef struct ns_step_rec {
    int64_t step, index;     /* training step and its log index */
    double loss, acc, grad_norm;
} ns_step_rec;

typedef struct ns_eval_rec {
    int64_t step, index;     /* evaluated after `step` updates... see ns_run_eval_index */
    double loss, acc;
} ns_eval_rec;

/* The exact curvature of one probe step in one mode (docs/measurements.md,
 * "Exact curvature"). NaN (flags 0) where not measured or not finite. */
typedef struct ns_curv_rec {
    const double *top_eig, *top_residual;     /* [neig] largest first            */
    const int *top_converged;                 /* [neig] 1: residual <= tol ||H|| */
    double min_eig, min_residual;             /* the smallest Ritz pair           */
    int min_converged;
    double grad_share;                        /* ||P_k g||^2 / ||g||^2             */
    int lanczos_steps, products;              /* steps made; products, all probes */
    const double *slq_nodes, *slq_weights;    /* [nslq_v][nslq_m]                  */
    double trace, trace_se;                   /* Hutchinson on these products      */
    const double *layer_eig, *layer_residual; /* [nlayers] top of each block       */
    const int *layer_converged;               /* [nlayers]                         */
    double fd_rel_diff, fd_rel_err;           /* exact vs finite difference        */
} ns_curv_rec;

/* One probe step. Arrays are owned by the run and valid during the callback;
 * sizes from ns_run_dims (per-layer arrays have nlayers / nnorm entries). */
typedef struct ns_probe_rec {
    int index;
    int64_t step;
    double seconds;                  /* wall time of all probes at this step */
    double loss, grad_norm;          /* L(w), ||g||                          */
    const double *layer_grad_norm;   /* [nlayers]                            */
    const double *eta;               /* [neta] absolute step sizes           */
    const double *land_loss, *land_grad_change;         /* [neta]            */
    double beta_eff;
    const double *rand_loss, *rand_grad_change;         /* [neta] or NULL    */
    double rand_beta_eff;
    const double *ics_l2, *ics_cos;  /* [nlayers], NaN for unmeasured layers  */
    const double *act_quant;         /* [nnorm][nunits][nquant]              */
    const double *act_mean, *act_std;/* [nnorm][nunits]                      */
    double hess_lambda, hess_residual, hess_trace;
    int hess_iters;
    const double *thm41_lhs, *thm41_rhs; /* [nnorm], summed over units        */
    ns_curv_rec curv[2];             /* [ns_mode]: train, eval (as measured)  */
} ns_probe_rec;

/* Things that are fixed once the net is built: layer names, tracked units. */
typedef struct ns_run_meta {
    const ns_run_dims *dims;
    const char *const *layer_names;      /* [nlayers]  "features.0"           */
    const char *const *norm_names;       /* [nnorm]    "features.1"           */
    const int *act_units;                /* [nnorm][nunits] channel indices   */
    int64_t start_step;                  /* > 0 when resumed from a checkpoint */
} ns_run_meta;

typedef struct ns_run_result {
    ns_run_status status;
    int64_t steps_done;      /* optimizer steps completed                  */
    int64_t diverged_step;   /* -1 if none                                 */
    double wall_s, train_s, probe_s, eval_s;
    double final_train_loss, final_train_acc; /* last step's batch         */
    double final_test_loss, final_test_acc;   /* last evaluation           */
    char message[256];
} ns_run_result;

typedef struct ns_run_sink {
    void *ctx;
    ns_status (*begin)(void *ctx, const ns_run_config *cfg, const ns_run_meta *meta);
    ns_status (*step)(void *ctx, const ns_step_rec *r);
    ns_status (*eval)(void *ctx, const ns_eval_rec *r);
    ns_status (*probe)(void *ctx, const ns_probe_rec *r);
    /* Make every record so far durable: called before each checkpoint is
     * written, so a checkpoint never points past data that could be lost, and
     * on the flush cadence (ns_run_cadence.flush_s), so readers see a running
     * run's traces and a killed run loses at most the last interval. */
    ns_status (*sync)(void *ctx);
    /* Final parameters (flat, with the net for names/shapes). May be NULL. */
    ns_status (*weights)(void *ctx, const struct ns_net *net);
    ns_status (*end)(void *ctx, const ns_run_result *res);
    /* The weights w_t at save step `step` (index-th of save_weights.at): the
     * net as the final weights are given. Again for the same step after a
     * resume (the same bits). May be NULL. */
    ns_status (*save)(void *ctx, int index, int64_t step, const struct ns_net *net);
} ns_run_sink;

/* Wall-time cadences of a run. Runtime settings, not part of the run's
 * configuration or identity: neither changes a single trace value (a sync only
 * writes records earlier; a checkpoint holds the exact state, so a resume from
 * any step is bitwise the uninterrupted run). Both are checked after every
 * step, so an interval ends at the first step boundary past it. */
typedef struct ns_run_cadence {
    /* Sync the sink when at least flush_s seconds have passed since the last
     * sync (or the run's start): a kill loses at most that plus one step of
     * traces. 0: after every step (every logged step is written at once);
     * < 0 or +inf: only before checkpoints and at the end. */
    double flush_s;
    /* Checkpoint when at least checkpoint_s seconds have passed since the last
     * checkpoint (or the run's start), besides checkpoint.every; needs
     * checkpoint_path. <= 0 or +inf: off. */
    double checkpoint_s;
} ns_run_cadence;

/* What `normsweep run` uses unless told otherwise (docs/cli.md). 10 s: live
 * traces for readers at a cost far below 1% of a run (bench/flush_cost.sh);
 * 300 s: a kill costs at most ~5 minutes of a run's work by default. */
#define NS_RUN_FLUSH_S_DEFAULT 10.0
#define NS_RUN_CHECKPOINT_S_DEFAULT 300.0

/* Is an interval of `every` seconds (< 0: never) over, `since` seconds after
 * its start? The one rule of both cadences. */
int ns_run_cadence_due(double every, double since);

typedef struct ns_run_control {
    void *ctx;
    void (*poll)(void *ctx);         /* every step: coordinator service; may be NULL */
    int (*stop)(void *ctx);          /* nonzero: checkpoint and return STOPPED; may be NULL */
    const char *checkpoint_path;     /* NULL: no checkpoints, no resume               */
    /* NULL: traces synced only before checkpoints and at the end, no time
     * checkpoints (tests, benchmarks: what the run writes is then decided by
     * steps alone) */
    const ns_run_cadence *cadence;
} ns_run_control;

/* Execute (or resume, if checkpoint_path holds a checkpoint of this run) one
 * run. Returns NS_OK when the run ended in any recorded way (done, diverged,
 * stopped - see res->status); an error status for real failures (bad config
 * that validation missed, I/O), with res->status FAILED and res->message. */
ns_status ns_run_execute(const ns_run_config *cfg, const ns_dataset *data,
                         const ns_run_sink *sink, const ns_run_control *ctl,
                         ns_run_result *res);

/* run --extend: the checkpoint at src of run `from` (as its index and
 * settings were) becomes a checkpoint at dst of `to` - the same run
 * (ns_run_same) at another index - written atomically. With dst == NULL it
 * only checks. NS_ERR_IO: no checkpoint at src; NS_ERR_FORMAT: a damaged one,
 * or one of another run or configuration; NS_ERR_ARG: from and to are not the
 * same run. src is never changed. */
ns_status ns_run_checkpoint_move(const char *src, const ns_run_config *from, const char *dst,
                                 const ns_run_config *to);

#endif
