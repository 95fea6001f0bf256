/* rop.h - private to src/nn and the tests: how the net finds a layer's R-ops
 * (layer.h) and the generic R-ops of a bilinear weight layer.
 *
 * A weight layer (dense, conv) computes out = f(in; W) + b, bilinear in
 * (in, W) and affine in b. Its R-ops are then compositions of its OWN forward
 * and backward, called with the weight pointer swapped (l->w = V, l->dw =
 * scratch), so whatever algorithm the layer's forward uses (im2col, Winograd,
 * ...) is reused unchanged:
 *   R(out) = f(rin; W) + f(in; V) + Vb
 *   R(din) = f^T(R(dout); W) + f^T(dout; V)
 *   R(dW)  = corr(in, R(dout)) + corr(rin, dout),   R(db) = sums of R(dout)
 * Two forwards and two backwards of the layer, plus elementwise adds. This
 * relies on the layer's forward reading only l->w (weights, then bias) and
 * its backward only l->w and writing only l->dw and din: no state carried
 * from one call to the next.
 */
#ifndef NS_NN_ROP_H
#define NS_NN_ROP_H

#include "normsweep/layer.h"

typedef void (*ns_rop_forward_fn)(ns_layer *l, float *rout, const float *rin, const float *v,
                                  const float *in, const float *out, int batch, float *scratch);
typedef void (*ns_rop_backward_fn)(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                                   const float *dout, const float *rin, const float *v,
                                   const float *in, const float *out, int batch,
                                   float *scratch);

/* The layer's R-ops: its own, else the bilinear composition for a weight
 * layer. NS_ERR_ARG naming the layer kind when it has none. */
ns_status ns_rop_find(const ns_layer *l, ns_rop_forward_fn *fwd, ns_rop_backward_fn *bwd);

/* Floats of scratch the R-ops of l need for batch samples. */
size_t ns_rop_scratch_size(const ns_layer *l, int batch);

/* The generic R-ops of a bilinear weight layer (see above). */
void ns_bilinear_r_forward(ns_layer *l, float *rout, const float *rin, const float *v,
                           const float *in, const float *out, int batch, float *scratch);
void ns_bilinear_r_backward(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                            const float *dout, const float *rin, const float *v, const float *in,
                            const float *out, int batch, float *scratch);

#endif
