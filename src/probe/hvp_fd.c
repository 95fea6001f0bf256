/* hvp_fd.c - the finite-difference Hessian-vector product of probe.h as a
 * curvature.h operator, and with an estimate of its own error. */
#include "normsweep/curvature.h"
#include "probe_internal.h"

#include <math.h>

static ns_status fd_apply(void *ctx, const float *x, float *y)
{
    const ns_fd_hvp *fd = ctx;
    return ns_probe_hvp(fd->obj, fd->ws, fd->w, x, fd->h, y, NULL, NULL);
}

ns_linop ns_fd_linop(ns_fd_hvp *fd)
{
    return (ns_linop){.n = fd->obj->n, .apply = fd_apply, .apply_block = NULL, .ctx = fd};
}

ns_status ns_fd_hvp_err(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                        const float *x, double h, float *hu, float *u, float *scratch,
                        double *err)
{
    NS_CHECK(hu && scratch && err && hu != scratch, NS_ERR_ARG,
             "fd hvp: NULL or aliased output buffers");
    NS_TRY(ns_probe_hvp(obj, ws, w, x, h, hu, NULL, NULL));
    NS_TRY(ns_probe_hvp(obj, ws, w, x, 2.0 * h, scratch, NULL, NULL));
    double e = 0;
    for (size_t i = 0; i < obj->n; i++) {
        double d = (double)hu[i] - scratch[i];
        e += d * d;
        if (!u) continue;
        float p = (float)((double)w[i] + h * x[i]), m = (float)((double)w[i] - h * x[i]);
        u[i] = (float)(((double)p - (double)m) / (2.0 * h));
    }
    *err = sqrt(e);
    return NS_OK;
}
