/* layers.h - constructors of the engine's layers (stage 1 of layer.h's
 * create/bind/init). Private to src/nn and the tests; the public face is net.h.
 * Each constructor fills shapes, nparams, views and allocates its workspace for
 * max_batch in l->priv; the net binds w/dw/state afterwards. On error the layer
 * holds nothing to free. */
#ifndef NS_NN_LAYERS_H
#define NS_NN_LAYERS_H

#include "normsweep/layer.h"

/* out[b][o] = sum_i W[o][i] in[b][i] (+ bias[o]); in may be any shape (flattened
 * NCHW, as torch's x.view(B, -1)). Views: weight [nout][in], bias [nout]. */
ns_status ns_dense_create(ns_layer *l, ns_shape in, int nout, int bias, int max_batch);

/* 2-D convolution, square kernel k, stride s, zero padding p, NCHW.
 * Views: weight [cout][cin][k][k], bias [cout]. Ho = (H + 2p - k)/s + 1. */
ns_status ns_conv_create(ns_layer *l, ns_shape in, int cout, int k, int s, int p, int bias,
                         int max_batch);

/* The same with the strategy forced (tests, benchmarks; src/nn/layers/
 * conv_impl.h describes them). AUTO is what ns_conv_create does: Winograd
 * F(2x2,3x3) for 3x3/1/1 convs on even maps with enough input channels, else
 * im2col + sgemm, its lowering and dX chosen by conv.c's thresholds. A forced
 * strategy that does not fit the conv fails with NS_ERR_ARG saying what it
 * needs (Winograd: 3x3/1/1 on an even map; shift and flip: a "same" conv;
 * gather: a padded tile within its size limit; lowering and dX: im2col only). */
typedef enum ns_conv_algo { NS_CONV_AUTO = 0, NS_CONV_IM2COL = 1, NS_CONV_WINOGRAD = 2 } ns_conv_algo;
typedef enum ns_conv_lowering {
    NS_CONV_LOWER_AUTO = 0,
    NS_CONV_LOWER_ROWS = 1,   /* general im2col                     */
    NS_CONV_LOWER_SHIFT = 2,  /* shifted copies, "same" convs        */
    NS_CONV_LOWER_GATHER = 3  /* padded tile + gather, small maps    */
} ns_conv_lowering;
typedef enum ns_conv_dx {
    NS_CONV_DX_AUTO = 0,
    NS_CONV_DX_ADJOINT = 1, /* W^T dY, then col2im                   */
    NS_CONV_DX_FLIP = 2     /* forward conv of dY, rotated kernel    */
} ns_conv_dx;
typedef struct ns_conv_choice {
    ns_conv_algo algo;
    ns_conv_lowering lower;
    ns_conv_dx dx;
} ns_conv_choice;
ns_status ns_conv_create_with(ns_layer *l, ns_shape in, int cout, int k, int s, int p, int bias,
                              int max_batch, ns_conv_choice choice);
ns_status ns_conv_create_algo(ns_layer *l, ns_shape in, int cout, int k, int s, int p, int bias,
                              int max_batch, ns_conv_algo algo);
/* The strategy a conv layer runs, e.g. "gemm/gather/flip" or "winograd",
 * written into buf (returned). */
const char *ns_conv_describe(const ns_layer *l, char *buf, size_t size);

/* Max-pool 2x2 stride 2 (floor: an odd last row/column is dropped). Needs h, w >= 2. */
ns_status ns_maxpool2_create(ns_layer *l, ns_shape in, int max_batch);

/* max(x, 0); gradient 0 at x <= 0 (as torch). */
ns_status ns_relu_create(ns_layer *l, ns_shape in, int max_batch);

/* y = x (a placeholder where a net wants a layer that does nothing). */
ns_status ns_identity_create(ns_layer *l, ns_shape in, int max_batch);

/* Hot elementwise loops are marked NS_HOT (core/hot.h). */
#include "core/hot.h"

/* Shared by dense and conv init: fill w[0..n) per layer.h's ns_init_kind with
 * the given fans (Glorot uniform or He normal). */
void ns_init_weights(float *w, size_t n, int fan_in, int fan_out, ns_rng *rng, ns_init_kind kind);

/* Fill the common fields of a fresh layer (zeroing it first). */
void ns_layer_setup(ns_layer *l, const ns_layer_ops *ops, ns_shape in, ns_shape out, int max_batch);
/* Append a view; dims given as ndim ints. */
void ns_layer_add_view(ns_layer *l, const char *suffix, size_t offset, int is_state, int ndim,
                       const int *dims);

#endif
