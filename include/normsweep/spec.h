/* spec.h - sweep specification files: YAML -> validated spec -> run configs.
 *
 * A sweep file (docs/sweep-format.md) names a data set, fixed training and
 * probe settings, and axes (lr, arch, norm, seed, batch, momentum,
 * weight_decay, init). Loading it parses, validates EVERYTHING (collecting all
 * errors as "file:line:col: message" lines) and expands the grid (plus
 * optional random LR samples) into an array of ns_run_config in a canonical
 * order: run index = position in that array, independent of the number of
 * ranks that will execute it.
 *
 * ns_run_config is plain data (no pointers): the coordinator may send it over
 * MPI as bytes and a checkpoint may store it as is.
 */
#ifndef NORMSWEEP_SPEC_H
#define NORMSWEEP_SPEC_H

#include "normsweep/error.h"
#include "normsweep/layer.h"
#include "normsweep/optim.h"

#include <stdint.h>

#define NS_SPEC_MAX_PROBE_STEPS 256  /* explicit probe-step list (probes.at)      */
#define NS_SPEC_MAX_LAYERS 64        /* explicit ICS layer list                   */
#define NS_SPEC_MAX_QUANTILES 16     /* activation quantiles                      */
#define NS_SPEC_MAX_AXIS 256         /* values per axis (after expansion)         */
#define NS_SPEC_MAX_RUNS 100000      /* runs per sweep (a run config is ~3 KB)     */
#define NS_SPEC_MAX_PROBE_COUNT 100000 /* probe steps per run (probes.log_count)   */

/* Limits on sizes (docs/sweep-format.md, "Limits"): validation refuses a
 * spec beyond them, so a run never fails late on an absurd size and integer
 * arithmetic on steps, seeds and counts cannot overflow. */
#define NS_SPEC_MAX_STEPS 1000000000LL    /* train.steps and every *_every         */
#define NS_SPEC_MAX_RECORDS 10000000LL    /* logged steps or evaluations per run    */
#define NS_SPEC_MAX_PARAMS (1LL << 28)    /* parameters per run (1 GiB as float32)  */
#define NS_SPEC_MAX_VALUES (1LL << 31)    /* activation values per step (8 GiB)     */
#define NS_SPEC_MAX_TRACE (1LL << 31)     /* runs x logged steps in a results file  */

/* When probes run (see docs/sweep-format.md, section probes). */
typedef enum ns_sched_kind {
    NS_SCHED_NONE = 0, /* no probes                                              */
    NS_SCHED_EVERY,    /* steps 0, k, 2k, ... < steps                            */
    NS_SCHED_LIST,     /* the explicit steps in at[]                             */
    NS_SCHED_LOG       /* log_count steps log-spaced over [0, steps)              */
} ns_sched_kind;

typedef struct ns_probe_config {
    ns_sched_kind sched;
    int64_t every;                            /* NS_SCHED_EVERY                  */
    int log_count;                            /* NS_SCHED_LOG                    */
    int nat;                                  /* NS_SCHED_LIST: at[0..nat)       */
    int64_t at[NS_SPEC_MAX_PROBE_STEPS];      /* strictly increasing, < steps    */

    /* loss landscape along the gradient: eta_k = lr * r_k, r_k log-spaced over
     * [eta_rel_lo, eta_rel_hi], eta_count points (1 point: r = eta_rel_lo) */
    int landscape;                            /* 1: on                           */
    double eta_rel_lo, eta_rel_hi;            /* default 0.5, 4.0 (paper, VGG)   */
    int eta_count;                            /* default 8                       */
    int random_direction;                     /* also along a random direction   */

    /* internal covariate shift (paper Def. 2.1) of measured layers, numbered
     * 1..L in network order (dense/conv layers, like the paper's "layer #5") */
    int ics;                                  /* 1: on                           */
    int ics_all;                              /* 1: every measured layer         */
    int ics_nlayers;
    int ics_layers[NS_SPEC_MAX_LAYERS];       /* 1-based, strictly increasing    */

    /* activation distributions of normalized layers' outputs */
    int act_units;                            /* units per layer; 0 = off        */
    int act_nquantiles;
    double act_quantiles[NS_SPEC_MAX_QUANTILES]; /* in (0,1), increasing         */

    /* Hessian: top eigenvalue (power iteration) and optional Hutchinson trace */
    int hessian;                              /* 1: on                           */
    int hess_iters;                           /* max iterations, default 20      */
    double hess_tol;                          /* relative tolerance, default 1e-3 */
    int hess_trace_samples;                   /* 0 = no trace estimate           */
    int hess_mode;                            /* ns_mode: NS_MODE_TRAIN / EVAL   */

    int thm41;                                /* Theorem 4.1 check on BN layers  */

    /* Exact curvature (curvature.h, docs/measurements.md "Exact curvature"):
     * Lanczos top-k / smallest eigenpairs and the gradient's top-k share, and
     * optionally the SLQ spectral density, Hutchinson's trace and the top
     * eigenvalue of each measured layer's diagonal block, in train and/or
     * eval mode, on exact (R-operator) or finite-difference products */
    int curv;                                 /* 1: on                           */
    int curv_mode;                            /* ns_curv_mode_choice: train/eval/both */
    int curv_hvp;                             /* ns_curv_hvp: exact (default) / fd */
    int curv_k;                               /* top eigenvalues, default 3      */
    int curv_steps;                           /* Lanczos steps at most, 20       */
    double curv_tol;                          /* converged: residual <= tol ||H||_est */
    int curv_slq;                             /* 1: spectral density by SLQ      */
    int curv_slq_nv, curv_slq_m;              /* SLQ vectors (2), steps (30)     */
    int curv_hutchinson;                      /* Hutchinson samples, 0 = off     */
    int curv_layers;                          /* 1: per-layer block eigenvalues  */
    int curv_layer_steps;                     /* their Lanczos steps, default 10 */
    int curv_fd_check;                        /* 1: exact vs FD product each step */
} ns_probe_config;

/* probes.curvature.mode: the index of its choice "train|eval|both". */
typedef enum ns_curv_mode_choice {
    NS_CURV_MODE_TRAIN = 0, NS_CURV_MODE_EVAL = 1, NS_CURV_MODE_BOTH = 2
} ns_curv_mode_choice;
/* probes.curvature.hvp: "exact|fd". */
typedef enum ns_curv_hvp { NS_CURV_HVP_EXACT = 0, NS_CURV_HVP_FD = 1 } ns_curv_hvp;
#define NS_SPEC_MAX_CURV_K 32      /* probes.curvature.k (curvature.h NS_SPECTRUM_MAX_K)  */
#define NS_SPEC_MAX_LANCZOS 1000   /* any Lanczos steps (curvature.h NS_LANCZOS_MAX_STEPS) */

/* Whether the curvature probes measure in mode m (ns_mode: 0 train, 1 eval). */
static inline int ns_curv_in_mode(const ns_probe_config *p, int m)
{
    return p->curv && (p->curv_mode == NS_CURV_MODE_BOTH || p->curv_mode == m);
}
/* The largest Lanczos basis the curvature probes need (vectors). */
static inline int ns_curv_max_steps(const ns_probe_config *p)
{
    int m = p->curv ? p->curv_steps : 0;
    if (p->curv && p->curv_slq && p->curv_slq_m > m) m = p->curv_slq_m;
    if (p->curv && p->curv_layers && p->curv_layer_steps > m) m = p->curv_layer_steps;
    return m;
}

/* Everything ONE training run needs. */
typedef struct ns_run_config {
    int index;                 /* position in the expanded sweep (0-based)         */
    int random_sample;         /* -1: grid run; k >= 0: random-search sample k      */
    double lr;
    char arch[128];
    char norm[64];
    uint64_t seed;             /* init, data order, noise, probe directions         */
    char data[256];            /* data set string as written (data.h)               */
    uint64_t data_seed;        /* synthetic data sets (same for every run)          */
    int batch;                 /* samples per step (n_train for batch: full)        */
    int64_t steps;             /* optimizer steps                                   */
    double momentum;           /* SGD momentum (PyTorch convention), default 0      */
    double weight_decay;       /* L2 added to the gradient (adamw: decoupled), 0    */
    int optimizer;             /* ns_optim_kind (optim.h): sgd (default), adam, adamw */
    double beta1, beta2, eps;  /* adam/adamw (optim.h), defaults 0.9, 0.999, 1e-8   */
    ns_lr_schedule schedule;   /* lr schedule (optim.h), default constant; the run
                                  sets schedule.total = steps                       */
    int init;                  /* ns_init_kind                                      */
    int64_t log_every;         /* record train loss every k steps, default 1        */
    int64_t eval_every;        /* test-set eval every k steps; 0 = after last step  */
    int64_t checkpoint_every;  /* checkpoint every k steps; 0 = only on stop signal */
    double diverge_above;      /* stop when loss > this (or not finite); +inf = only
                                  a non-finite loss stops the run                    */
    ns_probe_config probe;
} ns_run_config;

/* The axes after normalization (ranges and counts turned into explicit
 * lists), kept for the canonical form and the plan table. */
enum {
    NS_AXIS_ARCH = 0, NS_AXIS_NORM, NS_AXIS_LR, NS_AXIS_BATCH, NS_AXIS_MOMENTUM,
    NS_AXIS_WEIGHT_DECAY, NS_AXIS_INIT, NS_AXIS_SEED, NS_AXIS_COUNT
};
/* "arch", "norm", "lr", ... (the YAML key of axis a). */
const char *ns_spec_axis_name(int axis);

typedef struct ns_spec {
    char name[128];
    char *path;                /* source file ("<string>" name for ns_spec_parse)   */
    char *text;                /* the YAML text of the spec: as read, or, with
                                  command-line overrides, the spec after them (a
                                  comment header lists the overrides): parsing it
                                  again gives this same spec                        */
    char *overrides;           /* the command-line overrides, one per line, or NULL */
    char *warnings;            /* "file:line:col: warning: ..." lines, or NULL      */
    /* the data set (from ns_dataset_info_get) */
    char data[256];
    int data_missing;          /* not readable (plan only): published sizes used    */
    ns_shape in_shape;
    int nclasses, target_dim;
    int64_t n_train, n_test;
    ns_run_config base;        /* fixed settings; index -1, axis fields unset       */
    unsigned varied;           /* bit a set: axis a takes more than one value       */
    int nruns;
    ns_run_config *runs;       /* [nruns], runs[i].index == i                        */
    double *train_flops;       /* [nruns] training FLOPs per sample (fwd + bwd)      */
    int *measured_layers;      /* [nruns] dense/conv layer count of the arch         */
    struct ns_spec_priv *priv; /* internal: parsed axes, overrides, canonical text   */
} ns_spec;

/* Parse + validate + expand. On any error: returns NS_ERR_ARG (NS_ERR_IO if the
 * file cannot be read), *out = NULL, and *errors (if errors != NULL; free()
 * it) holds every message, "file:line:col: msg", one per line;
 * ns_error_msg() holds the first. On success *errors = NULL. */
ns_status ns_spec_load(const char *path, ns_spec **out, char **errors);
ns_status ns_spec_parse(const char *text, const char *name_for_messages, ns_spec **out,
                        char **errors);

/* Options of a load (docs/sweep-format.md, "Command-line overrides"). */
#define NS_SPEC_MAX_CLI_OVERRIDES 64
typedef struct ns_spec_options {
    const char *const *overrides; /* Hydra-style "train.steps=500", "grid.seed=[0,1]",
                                     "+key=value" (add), "~key" (remove); in order     */
    int noverrides;
    int allow_missing_data;       /* plan: a data set whose files cannot be read gives
                                     a warning and its published sizes, not an error */
} ns_spec_options;
ns_status ns_spec_load_opts(const char *path, const ns_spec_options *opt, ns_spec **out,
                            char **errors);
ns_status ns_spec_parse_opts(const char *text, const char *name_for_messages,
                             const ns_spec_options *opt, ns_spec **out, char **errors);
/* Whether a command-line argument after SPEC is an override ("a.b=v", "~a.b"). */
int ns_spec_is_override(const char *arg);
void ns_spec_free(ns_spec *s);

/* A canonical one-line JSON form of the spec's meaning: data set, fixed
 * settings, normalized axes, overrides, random section, run count. Key order
 * and number formatting (%.17g) are fixed, so two specs that expand to the same
 * runs with the same settings give the same string, whatever their YAML
 * layout, comments or key order. Returns malloc'd text (free()) or NULL. */
char *ns_spec_canonical(const ns_spec *s);

/* Estimated cost of one run (docs/sweep-format.md, "Cost model"). */
typedef struct ns_run_cost {
    double train_gflop;   /* steps * batch * F                                     */
    double probe_gflop;   /* all probe steps together                              */
    double eval_gflop;    /* test-set evaluations                                  */
    double total_gflop;
    int64_t nprobes;      /* probe steps (estimate for log schedules)               */
} ns_run_cost;
ns_run_cost ns_plan_run_cost(const ns_spec *s, int run);

/* Short text of the settings of run i that vary across the sweep other than
 * lr/arch/norm/seed, e.g. "batch=64 momentum=0.9" ("-" if none). */
void ns_plan_varied_text(const ns_spec *s, int run, char *buf, size_t n);

#endif
