/* probe.h - the paper's measurements, defined on an abstract objective.
 *
 * A probe never sees a network. It sees an ns_objective: a loss and gradient
 * over a flat float parameter vector w, on ONE fixed batch, plus where each
 * measured layer's weights sit in that vector. That keeps every measurement
 * testable on closed-form objectives (least squares, small linear chains) and
 * independent of the engine. Exact definitions, costs and NaN rules:
 * docs/measurements.md.
 *
 * ---------------------------------------------------------------------------
 * What the glue that builds an ns_objective from the real net MUST guarantee
 * ---------------------------------------------------------------------------
 *  1. loss_grad(ctx, w, &loss, grad) evaluates the loss and gradient at the
 *     GIVEN vector w (any vector the probe built; not the net's own params) on
 *     the training step's batch (x^t, y^t), the same batch the step's gradient
 *     g was computed on. It copies w into the net's parameter buffer (or w
 *     already is that buffer). It need not restore the net's own parameters
 *     after each evaluation: probes never read them, and the caller puts them
 *     back once the probe is done (the run does: run_internal.h).
 *  2. It runs the net in TRAIN mode with update_stats = 0 and new_noise = 0
 *     (layer.h ns_pass): batch statistics are used exactly as in training, but
 *     running statistics, the noisy-BN draw and every rng stream are left as if
 *     the probe never ran. The training step after a probe is bit-identical to
 *     the step without the probe.
 *  3. The loss is the training loss (same reduction: mean or sum, same scale as
 *     the g the caller passes), in double. grad is written in the flat layout
 *     of w (all n entries, overwritten, not accumulated). grad may be NULL:
 *     then only the loss is computed.
 *  4. A non-finite loss or gradient is DATA, not an error: return NS_OK with
 *     NaN/inf in *loss / grad. Return an error status only for real failures
 *     (then the probe stops and propagates it).
 *  5. layer_off/layer_len/prefix_end describe the measured layers (each dense
 *     and conv weight, network order); prefix_end[i] is non-decreasing and
 *     covers every parameter of layers strictly before measured layer i
 *     (including norm gamma/beta and biases there), usually layer_off[i].
 *  6. For ICS, w_next is the parameters the optimizer's update produced
 *     (w_{t+1}, exactly as training continues from them).
 *
 * No probe allocates: scratch lives in an ns_probe_ws made once per run.
 * A workspace serves one thread at a time.
 *
 * Order at a probe step t (ns_schedule_index(t) >= 0), inside the training
 * step, after its forward/backward on batch t and BEFORE the update:
 *   1. ns_activation_stats / Theorem 4.1 on the step's own layer buffers (every
 *      probe evaluation below reruns the net and overwrites them; the run takes
 *      Theorem 4.1 from the engine, ns_norm_thm41, in a hook on that backward);
 *   2. ns_probe_grad_norms(g);
 *   3. ns_probe_landscape(w_t, g, seed, t);
 *   4. ns_probe_hessian(w_t, seed, t);
 *   5. the exact curvature (curvature.h) at w_t, in train and/or eval mode:
 *      the FD check, ns_curv_spectrum (with g), ns_curv_slq,
 *      ns_curv_hutchinson, ns_curv_layers;
 *   6. the optimizer applies the update as if nothing happened: w_{t+1};
 *   7. ns_probe_ics(w_t, g, w_{t+1}) (then put w_{t+1} back).
 */
#ifndef NORMSWEEP_PROBE_H
#define NORMSWEEP_PROBE_H

#include "normsweep/error.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ objective */

typedef struct ns_objective {
    size_t n; /* number of parameters */
    /* Loss (and gradient unless grad == NULL) at parameters w on the step's
     * fixed batch; see the contract above. */
    ns_status (*loss_grad)(void *ctx, const float *w, double *loss, float *grad);
    void *ctx;
    /* Measured layers (dense/conv weights) in network order. The flat buffer
     * is in layer order, so "all layers before measured layer i" is the
     * prefix [0, prefix_end[i]). */
    int nlayers;
    const size_t *layer_off, *layer_len; /* weight slice of measured layer i   */
    const size_t *prefix_end;            /* end of all params before layer i    */
} ns_objective;

/* Checks sizes and layer tables (slices inside [0, n), prefix_end
 * non-decreasing and <= layer_off[i]); NS_ERR_ARG naming the bad entry. */
ns_status ns_objective_check(const ns_objective *obj);

/* Scratch for all probes: four float vectors of n entries (16 n bytes),
 * made once per run, either allocated (ns_probe_ws_alloc) or a view of
 * buffers the caller owns (ns_probe_ws_over). */
typedef struct ns_probe_ws {
    size_t n;
    float *wx; /* displaced parameters                        */
    float *gx; /* gradient at the displaced parameters        */
    float *gy; /* second gradient / random direction           */
    float *v;  /* power-iteration / Hutchinson vector          */
    int owned; /* 1: made by ns_probe_ws_alloc, freed by ns_probe_ws_free */
} ns_probe_ws;

ns_status ns_probe_ws_alloc(ns_probe_ws *ws, size_t n);
/* A workspace over the caller's buffers (n floats each, distinct): nothing is
 * allocated and ns_probe_ws_free releases nothing of it. wx may be the
 * objective's own parameter buffer and gx its own gradient buffer when its
 * glue evaluates in place (contract rule 1), as long as the probe that uses
 * the view holds one gradient at a time (landscape, ICS; the Hessian needs a
 * gx of its own). */
ns_probe_ws ns_probe_ws_over(size_t n, float *wx, float *gx, float *gy, float *v);
void ns_probe_ws_free(ns_probe_ws *ws); /* safe on a zeroed, freed or view ws */

/* Probe randomness: stream NS_STREAM(NS_STREAM_PROBE, purpose << 28 | step)
 * with the run's seed, so a probe's draws depend only on (seed, purpose,
 * training step): not on the schedule, not on other probes, and never on
 * training's streams. step is taken modulo 2^28. */
enum {
    NS_PROBE_RNG_DIRECTION = 1,  /* landscape random direction  */
    NS_PROBE_RNG_HESSIAN = 2,    /* power-iteration start vector */
    NS_PROBE_RNG_HUTCHINSON = 3, /* Rademacher vectors           */
    NS_PROBE_RNG_LANCZOS = 4,    /* spectrum start vector (curvature.h) */
    NS_PROBE_RNG_SLQ = 5,        /* quadrature probes (curvature.h)     */
    NS_PROBE_RNG_BLOCK = 6,      /* per-layer block start vectors        */
    NS_PROBE_RNG_FDCHECK = 7     /* exact-vs-FD check vector (the run)    */
};
uint64_t ns_probe_stream(int purpose, long step);

/* ------------------------------------------------------------ small helpers */

/* ||x||_2 accumulated in double (NaN/inf propagate). */
double ns_vec_norm(const float *x, size_t n);

/* Total and per-measured-layer gradient norms ||g||_2, ||g[layer i]||_2.
 * No evaluation. per_layer has obj->nlayers entries (may be NULL). */
void ns_probe_grad_norms(const ns_objective *obj, const float *g, double *total,
                         double *per_layer);

/* ------------------------------------------------------------ landscape */

typedef struct ns_landscape_config {
    double r_lo, r_hi; /* eta_k = lr * r_k, r log-spaced on [r_lo, r_hi]     */
    int count;         /* number of eta points                              */
    int random_dir;    /* 1: also probe along a random direction d, ||d||=||g|| */
} ns_landscape_config;

/* Defaults: r in [0.5, 4] (the paper's VGG range), count 8, random_dir 0. */
ns_landscape_config ns_landscape_defaults(void);

/* eta[k] = lr * r_lo * (r_hi / r_lo)^(k / (count-1)), k = 0..count-1
 * (count == 1: eta[0] = lr * r_lo). Needs lr > 0, 0 < r_lo <= r_hi, count >= 1. */
ns_status ns_eta_grid(double lr, double r_lo, double r_hi, int count, double *eta);

/* Walk from w along -dir: for each eta[k], one loss+grad at w - eta[k] dir:
 *   loss[k]        = L(w - eta_k dir)
 *   grad_change[k] = ||g - grad L(w - eta_k dir)||_2
 *   *beta_eff      = max over FINITE k of grad_change[k] / (eta_k ||dir||)
 *                    (NaN if no point is finite or ||dir|| == 0).
 * g is grad L(w) on the same batch. dir = g gives the paper's landscape.
 * Non-finite points are recorded as they come (NaN/inf) and skipped by the
 * max. Cost: exactly count evaluations. Uses ws->wx, ws->gx. */
ns_status ns_probe_line(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                        const float *g, const float *dir, const double *eta, int count,
                        double *loss, double *grad_change, double *beta_eff);

/* d ~ N(0, I) from stream (seed, ns_probe_stream(NS_PROBE_RNG_DIRECTION, step)),
 * rescaled so that ||d||_2 = ||g||_2 (all zeros if g == 0). */
void ns_probe_random_direction(uint64_t seed, long step, const float *g, float *d,
                               size_t n);

/* Everything the landscape probe records at one step. Arrays are the
 * caller's, cfg->count entries each; the rand_* arrays may be NULL when
 * cfg->random_dir == 0. */
typedef struct ns_landscape_out {
    double *eta;              /* the grid (written)                            */
    double *loss;             /* L(w - eta g)                                 */
    double *grad_change;      /* ||g - grad L(w - eta g)||                     */
    double beta_eff;          /* max_eta grad_change / (eta ||g||)             */
    double *rand_loss;        /* L(w - eta d)                                 */
    double *rand_grad_change; /* ||g - grad L(w - eta d)||                     */
    double rand_beta_eff;     /* max_eta rand_grad_change / (eta ||d||)        */
} ns_landscape_out;

/* The landscape probe at training step `step` (seeds the random direction).
 * Cost: count evaluations, 2 count with random_dir. Uses ws->gy for d. */
ns_status ns_probe_landscape(const ns_objective *obj, ns_probe_ws *ws,
                             const ns_landscape_config *cfg, double lr, const float *w,
                             const float *g, uint64_t seed, long step,
                             ns_landscape_out *out);

/* ------------------------------------------------------------ ICS (Def. 2.1) */

/* For each selected measured layer i (layers[j], strictly increasing; NULL
 * with nsel == obj->nlayers means all):
 *   G_i  = slice i of g  (g = grad L(w))
 *   G'_i = slice i of grad L(w'), w' = w_next on [0, prefix_end[i]), w elsewhere
 *   diff[j] = ||G_i - G'_i||_2,  cosine[j] = <G_i, G'_i> / (||G_i|| ||G'_i||)
 * w_next is the step's updated parameters (w_{t+1}). If w_next equals w on
 * the whole prefix (always for the first layer), G' = G exactly and no
 * evaluation is made: diff 0, cosine 1. Consecutive selected layers whose
 * prefixes differ only where w_next == w share one evaluation.
 * cosine is 1 when G' == G bitwise, NaN when a norm is 0 otherwise.
 * Cost: at most one evaluation per selected layer that has a nonzero prefix
 * update (k layers, all updated: k - 1). *evals (may be NULL) gets the count. */
ns_status ns_probe_ics(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                       const float *g, const float *w_next, const int *layers, int nsel,
                       double *diff, double *cosine, int *evals);

/* ------------------------------------------------------------ Hessian */

typedef struct ns_hessian_config {
    int max_iters;  /* power iterations (each 2 evaluations)        default 20    */
    double tol;     /* stop when |lambda_k - lambda_{k-1}| <= tol |lambda_k|
                                                                   default 1e-3  */
    double h_rel;   /* FD step h = h_rel * max(||w||_2, 1)          default 1e-3  */
    int hutchinson; /* Rademacher samples for the trace (0: skip)   default 0     */
} ns_hessian_config;

ns_hessian_config ns_hessian_defaults(void);

typedef struct ns_hessian_out {
    double lambda;   /* dominant eigenvalue (largest |lambda|, sign kept)   */
    int iters;       /* power iterations made                              */
    int converged;   /* 1 if the tolerance was met within max_iters         */
    double residual; /* ||Hu - lambda u|| / (|lambda| ||u||) at the last iterate */
    double trace;    /* Hutchinson estimate of tr(H) (NaN if not asked)      */
    double trace_se; /* its standard error, sample std / sqrt(m) (NaN if m < 2) */
    double h;        /* the finite-difference step used                     */
    int evals;       /* loss+grad evaluations made                          */
} ns_hessian_out;

/* Hessian-vector product by central differences of gradients:
 *   u  = (fl(w + h v) - fl(w - h v)) / (2h)   (the displacement really taken)
 *   hu = (grad L(w + h v) - grad L(w - h v)) / (2h)  ~= H u
 * Two evaluations. Writes hu; returns the Rayleigh data <u,hu> and <u,u>
 * (either may be NULL). Uses ws->wx, ws->gx (hu may be ws->gx), ws->gy. */
ns_status ns_probe_hvp(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                       const float *v, double h, float *hu, double *u_hu, double *u_u);

/* Power iteration from a random unit start vector (stream
 * NS_PROBE_RNG_HESSIAN of `step`), then optionally Hutchinson's estimator
 * (stream NS_PROBE_RNG_HUTCHINSON). Non-finite gradients make lambda (or the
 * trace) NaN and stop that part; the status is still NS_OK. */
ns_status ns_probe_hessian(const ns_objective *obj, ns_probe_ws *ws,
                           const ns_hessian_config *cfg, const float *w, uint64_t seed,
                           long step, ns_hessian_out *out);

/* ------------------------------------------------------------ activations */

/* The paper's activation plots and numpy's default (linear) quantiles. */
#define NS_NQUANTILES_DEFAULT 5
#define NS_MAX_QUANTILES 64 /* most quantiles one call computes */
extern const double ns_quantiles_default[NS_NQUANTILES_DEFAULT]; /* .025 .16 .5 .84 .975 */

/* Choose k distinct units of [0, nunits) uniformly at random, reproducibly
 * (seed, stream NS_STREAM(NS_STREAM_UNITS, layer)), returned ascending in
 * units[0..k). If k > nunits, all units are taken and units[nunits..k) = -1;
 * *chosen (may be NULL) gets min(k, nunits). */
ns_status ns_units_choose(uint64_t seed, int layer, int nunits, int k, int *units,
                          int *chosen);

/* Distribution of each tracked unit of an activation x laid out
 * [batch][channels][spatial] (NCHW with spatial = h*w; dense: spatial = 1):
 * unit c's sample is x[b][c][s] over all b, s (batch*spatial values).
 *   quant[j*nq + m] = quantile q[m] (numpy 'linear': sorted value at position
 *                     q (N-1), interpolated), mean[j], std[j] (population,
 *                     ddof = 0, numpy's default), for unit units[j].
 * units[j] == -1 (padding from ns_units_choose) gives NaN rows. A unit with any
 * NaN value gives NaN quantiles/mean/std. scratch: batch*spatial floats.
 * nq <= NS_MAX_QUANTILES. Cost O(batch*spatial) per unit (partial selection,
 * no full sort). */
ns_status ns_activation_stats(const float *x, int batch, int channels, int spatial,
                              const int *units, int k, const double *q, int nq,
                              float *scratch, double *quant, double *mean, double *std);

/* ------------------------------------------------------------ Theorem 4.1 */

/* The paper's Theorem 4.1 (its proof's equality, with 1/m) for one batch-norm
 * layer on one batch, per unit j (m = batch*spatial values of the unit):
 *   lhs[j]     = ||dL/dy_j||^2                  (dy: the engine's backward)
 *   rhs[j]     = gamma_j^2 / s_j^2 ( ||g_j||^2 - <1,g_j>^2/m - <g_j,yhat_j>^2/m )
 *   rhs_eps[j] = the same with the last term times (1 + eps/s_j^2): the exact
 *                value of lhs for BN with eps (rhs is exact only for eps = 0)
 * with g = dL/dz (gradient at the BN output z = gamma yhat + beta), y the BN
 * input, mu_j/var_j its batch mean/variance (biased), s_j^2 = var_j + eps,
 * yhat = (y - mu)/s. Layout [batch][channels][spatial] for y, dy, dz.
 * rhs_eps may be NULL. All sums in double. No evaluation. */
ns_status ns_thm41(const float *y, const float *dy, const float *dz, const float *gamma,
                   double eps, int batch, int channels, int spatial, double *lhs, double *rhs,
                   double *rhs_eps);

/* ------------------------------------------------------------ schedules */

typedef enum ns_schedule_kind {
    NS_SCHEDULE_EVERY = 0, /* t = 0, k, 2k, ... < steps                     */
    NS_SCHEDULE_LIST = 1,  /* an explicit list of steps                     */
    NS_SCHEDULE_LOG = 2    /* count steps log-spaced on [0, steps)           */
} ns_schedule_kind;

typedef struct ns_schedule {
    ns_schedule_kind kind;
    long steps;  /* training steps: probe steps lie in [0, steps)           */
    long every;  /* EVERY                                                    */
    int count;   /* number of probe steps (fixed shapes for the output)     */
    long *list;  /* LIST/LOG: ascending probe steps (owned)                 */
} ns_schedule;

ns_status ns_schedule_every(ns_schedule *s, long steps, long every);
/* Any order; duplicates or steps outside [0, steps) are NS_ERR_ARG. */
ns_status ns_schedule_list(ns_schedule *s, long steps, const long *list, int n);
/* count distinct steps, first 0, last steps-1 (count >= 2), between them
 * t_i ~ (steps)^(i/(count-1)) - 1 rounded, pushed up to stay strictly
 * increasing. Needs 1 <= count <= steps. */
ns_status ns_schedule_log(ns_schedule *s, long steps, int count);
void ns_schedule_free(ns_schedule *s);

/* Probe index of step t (0..count-1), or -1 if t is not a probe step. */
int ns_schedule_index(const ns_schedule *s, long t);
/* Step of probe index i (0 <= i < count). */
long ns_schedule_step(const ns_schedule *s, int i);

#endif
