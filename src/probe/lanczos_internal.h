/* lanczos_internal.h - the Lanczos iteration shared by the curvature probes
 * (lanczos.c, spectrum.c, slq.c); not public API. */
#ifndef NS_LANCZOS_INTERNAL_H
#define NS_LANCZOS_INTERNAL_H

#include "normsweep/curvature.h"

/* The operator restricted to the block [lo, lo + len) (the whole of it when
 * full): vectors of len entries. */
typedef struct ns_subop {
    const ns_linop *op;
    ns_lanczos_ws *ws; /* x, ax: the full-length vectors of a block product */
    size_t lo, len;
    int full;
} ns_subop;

ns_status ns_subop_init(ns_subop *s, const ns_linop *op, ns_lanczos_ws *ws, size_t lo, size_t len);
ns_status ns_subop_apply(const ns_subop *s, const float *x, float *y);

typedef struct ns_lanczos_state {
    int steps;     /* alphas made: T is steps x steps                       */
    int products;  /* operator applications                                 */
    int invariant; /* stopped on an invariant subspace (beta[steps-1] = 0)   */
    int nonfinite; /* the operator returned NaN/inf                          */
} ns_lanczos_state;

/* Called after step k (k alphas, beta[k-1] the residual norm); nonzero stops. */
typedef int (*ns_lanczos_stop)(ns_lanczos_ws *ws, int k, void *ctx);

/* Up to m steps (at most len) from the unit vector in ws->Q[0 .. len). */
ns_status ns_lanczos_run(const ns_subop *op, int m, ns_lanczos_stop stop, void *sctx,
                         ns_lanczos_state *st);
/* Eigenpairs of T_k into ws->theta (ascending) and ws->S (k x k, columns). */
ns_status ns_lanczos_ritz(ns_lanczos_ws *ws, int k);
/* Unit Ritz vector i of T_k into ws->y, its image into ws->ay, and the true
 * residual ||A y - theta_i y||: one product. Clobbers ws->r. */
ns_status ns_lanczos_residual(const ns_subop *op, int k, int i, double *res);
/* ws->Q[0 .. len) = the Rademacher slice [off, off + len) of stream
 * (seed, ns_probe_stream(purpose, step)) (curvature.h ns_rademacher's
 * layout), divided by sqrt(len). */
void ns_lanczos_start(ns_lanczos_ws *ws, uint64_t seed, int purpose, long step, size_t off,
                      size_t len);

#endif
