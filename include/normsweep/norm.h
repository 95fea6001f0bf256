/* norm.h - normalization layers, one per file in src/nn/norm/, all behind the
 * ns_layer interface (layer.h). The net places one after each dense/conv
 * except the classifier: dense/conv -> norm -> ReLU.
 *
 * Statistics are per unit j: a dense feature (over the batch) or a conv
 * channel (over batch x height x width), as PyTorch's BatchNorm1d/2d.
 * Exact formulas, train and eval behaviour, defaults and draw order of each
 * kind: docs/normalizations.md.
 *
 * Layer contract (all kinds): out must not alias in; din must not alias dout.
 * backward follows the mode of the most recent forward (TRAIN: batch
 * statistics; EVAL: the affine map with running statistics). A TRAIN forward
 * of noisy_batch with new_noise = 0 needs an earlier draw for the same batch
 * size (else NS_ASSERT: a caller bug).
 */
#ifndef NORMSWEEP_NORM_H
#define NORMSWEEP_NORM_H

#include "normsweep/layer.h"

typedef enum ns_norm_kind {
    NS_NORM_NONE = 0,
    NS_NORM_BATCH,       /* BatchNorm                                         */
    NS_NORM_NOISY_BATCH, /* BatchNorm + the paper's Algorithm 1 noise          */
    NS_NORM_L1,          /* (x - mean) / mean|x|            (paper Sec. 3.3)   */
    NS_NORM_L2,          /* (x - mean) / sqrt(mean x^2)                         */
    NS_NORM_LINF,        /* (x - mean) / max|x|                                 */
    NS_NORM_LAYER,       /* LayerNorm over all features of a sample            */
    NS_NORM_GROUP,       /* GroupNorm over channel groups of a sample          */
    NS_NORM_COUNT
} ns_norm_kind;

typedef struct ns_norm_config {
    ns_norm_kind kind;
    float eps;      /* default 1e-5 (PyTorch)                               */
    float momentum; /* running stats: r = (1-m) r + m batch; default 0.1    */
    int groups;     /* GroupNorm groups (default 32, must divide channels)  */
    /* noisy BN (Algorithm 1), defaults n_mu 0.5, n_sigma 1.25, r_mu 0.1, r_sigma 0.1 */
    float n_mu, n_sigma, r_mu, r_sigma;
} ns_norm_config;

/* Defaults for a kind (the values above). */
ns_norm_config ns_norm_defaults(ns_norm_kind kind);

/* "none", "batch", "noisy_batch", "l1", "l2", "linf", "layer", "group". */
const char *ns_norm_name(ns_norm_kind kind);
/* Parse a name, optionally with options: "group:groups=8", "batch:momentum=0.01,eps=1e-3".
 * Unknown name/option -> NS_ERR_ARG with a message naming the offending text. */
ns_status ns_norm_parse(const char *text, ns_norm_config *out);

/* Construct a normalization layer for per-sample shape `shape` (stage 1 of
 * layer.h's create/bind/init). kind NONE is an error here: the net simply
 * places no layer. */
ns_status ns_norm_create(ns_layer *l, const ns_norm_config *cfg, ns_shape shape, int max_batch);

/* Theorem 4.1 of the paper, for a batch- or noisy-batch-norm layer after a
 * backward pass, per unit j (m = samples per unit, i.e. batch*h*w):
 *   lhs_j = || dL/dy_j ||^2
 *   rhs_j = gamma_j^2 / sigma_j^2 * ( ||g_j||^2 - (1/m) <1, g_j>^2 - (1/m) <g_j, yhat_j>^2 )
 * with g_j = dL/dz_j (z = gamma*yhat + beta) and sigma_j^2 = var_j + eps.
 * Uses the layer's saved forward state (including the INPUT buffer of the last
 * forward, which the net keeps until the next forward) and the dout/din of
 * the last backward, which the caller passes in. For noisy_batch g = s .* dout
 * (the stored noise scale). lhs, rhs: arrays of `units` (= channels) doubles.
 * With eps > 0 the two sides differ by a relative ~eps/var on the last term.
 * Returns NS_ERR_STATE for other kinds, before a TRAIN forward, or when batch
 * differs from the last forward's. */
ns_status ns_norm_thm41(const ns_layer *l, const float *dout, const float *din, int batch,
                        double *lhs, double *rhs);

/* The noise of a noisy_batch layer's last draw (norm/noisy.c): per element
 * out = s .* z + m over [batch][C][h][w]; *batch is the batch size it was
 * drawn for (0: no draw yet, s and m NULL). NS_ERR_ARG for other kinds. The
 * pointers stay valid until the next draw. */
ns_status ns_norm_noise(const ns_layer *l, const float **s, const float **m, int *batch);

#endif
