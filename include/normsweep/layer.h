/* layer.h - the one interface every layer and normalization implements.
 *
 * Tensors are float32, batch-major, row-major: a conv activation is
 * x[b][c][h][w] (NCHW, as PyTorch), a dense activation x[b][features]
 * (features = c*h*w of its shape). A layer sees only its input and output
 * buffers; the net (net.h) owns every buffer and runs the list of layers.
 *
 * Parameters live in the net's flat buffers (params, grads, momentum: same
 * layout), so a whole-model update, w - eta*g, a norm or a checkpoint is one
 * BLAS-1 call. A layer learns where its slice is only when the net binds it:
 *   1. create  - the layer's constructor fills shapes, nparams, nstate, views,
 *                and allocates its own workspace for max_batch (priv);
 *   2. bind    - the net points w/dw into the flat buffers, state into the
 *                flat state buffer (running statistics), sized by 1.;
 *   3. init    - ops->init writes initial values into w and state.
 * Nothing allocates after build: forward/backward only use preallocated memory.
 */
#ifndef NORMSWEEP_LAYER_H
#define NORMSWEEP_LAYER_H

#include "normsweep/error.h"
#include "normsweep/rng.h"

#include <stddef.h>

/* Per-sample feature shape. Dense data: {features, 1, 1}. */
typedef struct ns_shape {
    int c, h, w;
} ns_shape;

static inline size_t ns_shape_size(ns_shape s) { return (size_t)s.c * s.h * s.w; }

typedef enum ns_mode {
    NS_MODE_TRAIN = 0, /* normalizations use batch statistics            */
    NS_MODE_EVAL = 1   /* normalizations use running statistics (BN) etc. */
} ns_mode;

/* What one forward pass is allowed to do besides computing outputs. A
 * training step uses {TRAIN, update_stats=1, new_noise=1}; a probe on the
 * same batch {TRAIN, 0, 0} so that running statistics and the noise stream
 * are exactly as if the probe never ran. */
typedef struct ns_pass {
    ns_mode mode;
    int update_stats; /* TRAIN: fold batch stats into running stats        */
    int new_noise;    /* noisy BN: draw new noise (else reuse the last draw) */
    ns_rng *noise;    /* stream for noise draws (NULL if no noisy layers)    */
} ns_pass;

typedef enum ns_init_kind { NS_INIT_GLOROT = 0, NS_INIT_HE = 1 } ns_init_kind;

/* A named parameter tensor inside the layer's slice, for export with names
 * and layouts a PyTorch user recognises ("features.0.weight", shape
 * [out, in, kh, kw]). Offsets are relative to the layer's w. */
typedef struct ns_param_view {
    char suffix[16]; /* "weight", "bias", "running_mean", ...              */
    size_t offset;   /* into w (or into state if is_state)                 */
    int ndim;
    int dims[4];
    int is_state;    /* 1: lives in the state buffer (running stats)       */
} ns_param_view;

typedef struct ns_layer ns_layer;

typedef struct ns_layer_ops {
    const char *kind; /* "dense", "conv2d", "maxpool2", "relu", "batch", ... */
    /* out[batch][out_shape] = f(in[batch][in_shape]) */
    void (*forward)(ns_layer *l, float *out, const float *in, int batch, const ns_pass *p);
    /* Given dout = dL/dout, write din = dL/din (skip if din == NULL: first
     * layer) and OVERWRITE l->dw with dL/dw. in/out are the buffers of the
     * most recent forward on this batch. */
    void (*backward)(ns_layer *l, float *din, const float *dout, const float *in,
                     const float *out, int batch);
    /* Initial values of w and state (e.g. running var = 1). May be NULL. */
    void (*init)(ns_layer *l, ns_rng *rng, ns_init_kind kind);
    /* Free priv. May be NULL. */
    void (*destroy)(ns_layer *l);

    /* ---- R-operator pair (Pearlmutter 1994) for exact Hessian-vector products
     * (hvp.h). Directional derivatives, along the direction (rin, v), of this
     * layer's forward and of its backward at the point of the most recent
     * forward (in/out) and backward (dout); they follow that forward's mode.
     * rin = R(in) [batch][in_shape], NULL = 0 (the input does not depend on
     * the parameters); v = the direction's slice for this layer's parameters
     * (nparams floats), NULL = 0. scratch: ns_rop_scratch_size(l, batch)
     * floats (nn/rop.h) the op may overwrite. Nothing allocates.
     *   r_forward:  rout[batch][out_shape] = d out/d in . rin + d out/d w . v
     *   r_backward: given rdout = R(dout) [batch][out_shape] (rdout = d/de of
     *               the dout a backward would get at in + e rin, w + e v), write
     *               rdin = R(din) [batch][in_shape] (skip if NULL) and
     *               OVERWRITE rdw = R(dw) (nparams floats; NULL: not needed).
     *               rin and v must be those of the last r_forward.
     * NULL for a weight layer (is_weight) that is bilinear in (in, w), like
     * dense and conv: the net then composes the R-ops from its own forward and
     * backward (nn/rop.h, ns_bilinear_r_forward). Every other layer must set
     * both. */
    void (*r_forward)(ns_layer *l, float *rout, const float *rin, const float *v,
                      const float *in, const float *out, int batch, float *scratch);
    void (*r_backward)(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                       const float *dout, const float *rin, const float *v, const float *in,
                       const float *out, int batch, float *scratch);
} ns_layer_ops;

struct ns_layer {
    const ns_layer_ops *ops;
    char name[32];          /* PyTorch-style module name, e.g. "features.3" */
    ns_shape in_shape, out_shape;
    int max_batch;
    int is_norm;            /* a normalization layer (activation probes look here) */
    int is_weight;          /* has a weight matrix/kernel (dense, conv): ICS and
                               per-layer gradient norms are taken over these    */
    size_t nparams, nstate; /* sizes of the slices below                        */
    float *w, *dw;          /* bound by the net: params and grads slices        */
    float *state;           /* bound by the net: running statistics etc.        */
    ns_param_view views[4];
    int nviews;
    void *priv;             /* layer-specific config and workspace              */
};

#endif
