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

/* ||a - b||_2 in double */
static double dist(const float *a, const float *b, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(e);
}

ns_status ns_fd_hvp_err(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                        const float *x, double h, float *hu, float *u, float *scratch,
                        double *err)
{
    NS_CHECK(hu && scratch && err && hu != scratch, NS_ERR_ARG,
             "fd hvp: NULL or aliased output buffers");
    NS_TRY(ns_probe_hvp(obj, ws, w, x, h, hu, NULL, NULL));
    NS_TRY(ns_probe_hvp(obj, ws, w, x, 2.0 * h, scratch, NULL, NULL));
    const double e2 = dist(hu, scratch, obj->n);
    NS_TRY(ns_probe_hvp(obj, ws, w, x, 0.5 * h, scratch, NULL, NULL));
    const double e_half = dist(hu, scratch, obj->n);
    *err = e2 + e_half;
    for (size_t i = 0; u && i < obj->n; i++) {
        float p = (float)((double)w[i] + h * x[i]), m = (float)((double)w[i] - h * x[i]);
        u[i] = (float)(((double)p - (double)m) / (2.0 * h));
    }
    return NS_OK;
}
