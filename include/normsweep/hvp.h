/* hvp.h - exact Hessian-vector products of a net's loss on one batch, by
 * forward-over-reverse differentiation (Pearlmutter's R-operator, 1994).
 *
 * H is the Hessian of L(w) = loss(net(x; w)) on ONE fixed batch, w = all
 * parameters in the flat layout of net->params, in the mode of the base pass:
 *   NS_MODE_TRAIN  batch statistics are functions of w and are differentiated:
 *                  the Hessian of the loss training minimizes. noisy_batch:
 *                  the step's noise held fixed, as training saw it (the last
 *                  draw, which must exist for this batch size).
 *   NS_MODE_EVAL   running statistics held fixed, no noise (what PyHessian
 *                  measures).
 * ReLU and max-pool make L piecewise smooth: H is the Hessian of the piece
 * the point lies on (the kinks, a measure-zero set, contribute 0), as
 * autograd's double backward computes it.
 *
 * How: each layer has an R-forward and an R-backward (layer.h). One HVP is
 * the R-forward of all layers (R(a_i), the directional derivative of every
 * activation along v), the loss's R-op (loss.h), then the R-backward
 * (R(dL/da_i) and R(dL/dw) = H v). The plain forward and backward at w do not
 * depend on v: ns_hvp_begin runs them ONCE and keeps every layer's input,
 * output and output gradient, so each ns_hvp_apply costs only the two R-passes
 * (about two training steps' worth of forward + backward work).
 *
 * Precision: float32 like the net, sums of the normalizations and the loss in
 * double; ~1e-6 relative on well-conditioned problems.
 *
 *     ns_hvp *h;
 *     ns_hvp_create(net, &h);                                 allocates everything
 *     ns_hvp_begin(h, x, y, t, batch, NS_MODE_TRAIN, &loss);  base pass at net->params
 *     ns_hvp_apply(h, v, hv);                                 hv = H v, any number of times
 *
 * Between begin and apply the net's parameters and the batch buffers must not
 * change, and no other forward may run on the net (checked: NS_ERR_STATE).
 * Nothing allocates after ns_hvp_create. A workspace serves one thread.
 */
#ifndef NORMSWEEP_HVP_H
#define NORMSWEEP_HVP_H

#include "normsweep/curvature.h"
#include "normsweep/net.h"

typedef struct ns_hvp ns_hvp;

/* Workspace for batches up to net->max_batch. NS_ERR_ARG if a layer has no
 * R-operator; NS_ERR_NOMEM. The net must outlive it. */
ns_status ns_hvp_create(ns_net *net, ns_hvp **out);
void ns_hvp_free(ns_hvp *h);

/* Base pass at the net's current parameters on batch (x, y) or (x, t) (as
 * ns_net_forward), in `mode`, with running statistics and the noise stream
 * untouched (update_stats = 0, new_noise = 0). Writes *loss (may be NULL) and
 * net->grads = grad L(w). NS_ERR_STATE: a noisy_batch layer has no noise
 * draw for this batch size (run a training forward first). x, y, t must stay
 * valid until the last apply. */
ns_status ns_hvp_begin(ns_hvp *h, const float *x, const int32_t *y, const float *t, int batch,
                       ns_mode mode, double *loss);

/* hv = H v (nparams floats each; hv must not alias v). NS_ERR_STATE if there
 * was no begin or another forward ran on the net since. */
ns_status ns_hvp_apply(ns_hvp *h, const float *v, float *hv);

/* The diagonal block of H on the parameters [lo, hi): writes
 * hv[lo, hi) = (H v~)[lo, hi), v~ = v on [lo, hi) and 0 elsewhere. Entries of
 * v outside the block are not read, entries of hv outside are not written.
 * Cheaper than apply: the R-passes skip the layers before the block's first
 * layer. NS_ERR_ARG unless 0 <= lo < hi <= nparams. */
ns_status ns_hvp_apply_block(ns_hvp *h, const float *v, float *hv, size_t lo, size_t hi);

/* Number of applies since create (for cost accounting). */
long ns_hvp_count(const ns_hvp *h);

/* The exact HVP as a curvature.h operator (apply and apply_block), valid
 * while h is and after an ns_hvp_begin. */
ns_linop ns_hvp_linop(ns_hvp *h);

#endif
