/* optim.h - optimizers and learning-rate schedules over flat buffers, with
 * PyTorch's conventions (torch.optim 1.13; tested against it to 1e-6 in
 * tests/unit/test_optim.c). Exact definitions: docs/architectures.md,
 * "Optimizers and schedules".
 *
 * SGD (torch.optim.SGD, dampening 0, nesterov off):
 *     g' = g + wd * w
 *     v  = mu * v + g'        (only if mu != 0; v starts at 0, which equals
 *                              torch's "v = g' on the first step")
 *     w  = w - lr_t * (mu != 0 ? v : g')
 * Adam (torch.optim.Adam, amsgrad off), step t = 0, 1, ...:
 *     g' = g + wd * w                     (L2, added to the gradient)
 *     m  = b1 m + (1 - b1) g',   v = b2 v + (1 - b2) g'^2
 *     w  = w - lr_t / (1 - b1^(t+1)) * m / (sqrt(v) / sqrt(1 - b2^(t+1)) + eps)
 * AdamW (torch.optim.AdamW): w = w (1 - lr_t wd) first (decoupled decay),
 *     then the Adam step with g' = g.
 * Weight decay applies to every parameter (weights, biases, norm gamma/beta),
 * as torch does by default. Full-batch gradient descent is SGD with batch =
 * data set size.
 *
 * lr_t = lr * factor(t) of the schedule: an optional linear warm-up over the
 * first W steps, factor s + (1 - s) t / W (torch LinearLR, start factor s),
 * then on t' = t - W
 *     constant  1
 *     step      gamma^floor(t' / step_size)                      (StepLR)
 *     cosine    f + (1 - f) (1 + cos(pi t' / (T - W))) / 2         (CosineAnnealingLR,
 *               T the run's steps, f = min_factor; eta_min = f lr)
 */
#ifndef NORMSWEEP_OPTIM_H
#define NORMSWEEP_OPTIM_H

#include "normsweep/error.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ SGD kernel */

typedef struct ns_sgd_config {
    double lr;           /* learning rate, > 0                       */
    double momentum;     /* mu, 0 = plain SGD                        */
    double weight_decay; /* wd, 0 = none                             */
} ns_sgd_config;

/* One update of w[n] from g[n]; v[n] is the momentum buffer (untouched and may
 * be NULL when momentum == 0). */
void ns_sgd_step(const ns_sgd_config *c, float *w, const float *g, float *v, size_t n);

/* ------------------------------------------------------------ schedules */

typedef enum ns_lr_kind {
    NS_LR_CONSTANT = 0,
    NS_LR_STEP = 1,
    NS_LR_COSINE = 2
} ns_lr_kind;

typedef struct ns_lr_schedule {
    ns_lr_kind kind;
    int64_t warmup;       /* linear warm-up steps, 0 = none                     */
    double warmup_start;  /* factor at step 0, in (0, 1]; default 1/3 (LinearLR) */
    int64_t step_size;    /* step: steps between decays (> 0)                   */
    double gamma;         /* step: factor per decay, default 0.1 (StepLR)       */
    double min_factor;    /* cosine: final lr / lr, in [0, 1], default 0        */
    int64_t total;        /* cosine: the run's steps (T); the decay spans T - W */
} ns_lr_schedule;

/* constant, no warm-up, and the defaults above for the other fields. */
ns_lr_schedule ns_lr_schedule_default(void);
/* NS_ERR_ARG naming the field when a schedule is inconsistent (cosine needs
 * total > warmup, step needs step_size > 0, ...). */
ns_status ns_lr_schedule_check(const ns_lr_schedule *s);
/* 1 if a and b give the same factors: the fields their kind and warm-up use
 * (a cosine's gamma, say, does not count; total is the run's, not compared). */
int ns_lr_schedule_equal(const ns_lr_schedule *a, const ns_lr_schedule *b);
/* factor(t) above; lr_t = lr * ns_lr_factor(s, t). Exactly 1 for a constant
 * schedule after warm-up. */
double ns_lr_factor(const ns_lr_schedule *s, int64_t t);
/* The schedule as text, kind then the settings it uses, %g numbers:
 * "constant", "step:step_size=30,gamma=0.1", "cosine:min_factor=0", plus
 * ",warmup=W,warmup_start=s" (or ":warmup=..." after constant) with a warm-up. */
void ns_lr_schedule_text(const ns_lr_schedule *s, char *buf, size_t n);

/* ------------------------------------------------------------ optimizers */

typedef enum ns_optim_kind { NS_OPTIM_SGD = 0, NS_OPTIM_ADAM = 1, NS_OPTIM_ADAMW = 2 } ns_optim_kind;

typedef struct ns_optim_config {
    ns_optim_kind kind;
    double lr;           /* base learning rate, > 0                               */
    double momentum;     /* SGD only                                              */
    double weight_decay; /* L2 for sgd/adam, decoupled for adamw; default 0       */
    double beta1, beta2; /* Adam/AdamW, in [0, 1); default 0.9, 0.999 (torch's)   */
    double eps;          /* Adam/AdamW, > 0; default 1e-8                          */
    ns_lr_schedule schedule;
} ns_optim_config;

/* sgd, lr 0.01, no momentum or decay, Adam's defaults, a constant schedule. */
ns_optim_config ns_optim_defaults(void);

/* "sgd" / "adam" / "adamw" and back; parse: NS_ERR_ARG listing the names. */
const char *ns_optim_name(ns_optim_kind k);
ns_status ns_optim_parse(const char *text, ns_optim_kind *out);
/* "constant" / "step" / "cosine" and back. */
const char *ns_lr_kind_name(ns_lr_kind k);
ns_status ns_lr_kind_parse(const char *text, ns_lr_kind *out);

/* An optimizer and the state it keeps across steps (owned, one allocation):
 *   sgd with momentum: "momentum" (v);  adam/adamw: "adam_m", "adam_v";
 *   plain sgd: none. */
#define NS_OPTIM_MAX_STATE 2
typedef struct ns_optim {
    ns_optim_config cfg;
    size_t n;
    int nstate;                             /* buffers in use                */
    const char *state_name[NS_OPTIM_MAX_STATE];
    float *state[NS_OPTIM_MAX_STATE];       /* n floats each, zeroed at create */
} ns_optim;

/* Validates cfg (NS_ERR_ARG naming the field) and allocates the state
 * (NS_ERR_NOMEM). */
ns_status ns_optim_create(ns_optim *o, const ns_optim_config *cfg, size_t n);
void ns_optim_free(ns_optim *o); /* safe on a zeroed or freed optimizer */
/* The learning rate of update t (0-based). */
double ns_optim_lr(const ns_optim *o, int64_t t);
/* Update t of w[n] from g[n] (training step t makes update t). */
void ns_optim_step(ns_optim *o, int64_t t, float *w, const float *g);

#endif
