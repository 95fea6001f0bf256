/* ropcheck.h - finite-difference checks of a layer's R-ops (layer.h), shared
 * by test_rop_*.c.
 *
 * The R-ops are directional derivatives, along (rx, v, rg), of the layer's
 * forward (out) and backward (din, dw) as functions of (x, w, dout):
 *   out(e), din(e), dw(e)  at  x + e rx,  w + e v,  dout = g + e rg.
 * They are compared with the 5-point central difference in e,
 *   f'(0) ~ (8 (f(h) - f(-h)) - (f(2h) - f(-2h))) / (12 h)   (truncation O(h^4)),
 * taken at two steps h and h/2. Every input is a multiple of 2^-10 (|.| < 8)
 * and every direction a multiple of 2^-12 (|.| <= 1), h a power of two: the
 * displaced points are then exact floats, so the only FD errors are the
 * truncation and the float rounding of the layer's outputs. The check:
 *   e_fd  = ||FD(h) - FD(h/2)|| / ||FD(h)||   (how far the FD itself can be
 *           trusted: must be small, else the test says so),
 *   e_rop = ||R - FD(h)|| / ||FD(h)||          (the R-op's error),
 * for each of out, din, dw. Sums in double.
 */
#ifndef NS_ROPCHECK_H
#define NS_ROPCHECK_H

#include "nn/rop.h"
#include "normsweep/layer.h"
#include "normsweep/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Values on a grid: multiples of 2^-bits, uniform in [lo, hi]. */
static inline float rc_grid(ns_rng *r, float lo, float hi, int bits)
{
    float v = ns_rng_range(r, lo, hi);
    return ldexpf(nearbyintf(ldexpf(v, bits)), -bits);
}

static inline void rc_fill(float *a, size_t n, ns_rng *r, float lo, float hi, int bits)
{
    for (size_t i = 0; i < n; i++) a[i] = rc_grid(r, lo, hi, bits);
}

typedef struct rc_errs {
    double rop[3], fd[3]; /* out, din, dw: e_rop, e_fd (see above); -1: not checked */
} rc_errs;

/* One evaluation at e: forward + backward into out, din, dw (doubles += c * value). */
static inline void rc_eval(ns_layer *l, const float *x, const float *rx, const float *w0,
                           const float *v, const float *g, const float *rg, double e,
                           int batch, const ns_pass *pass, double c, double *acc[3],
                           float *buf[4])
{
    const size_t nin = (size_t)batch * ns_shape_size(l->in_shape);
    const size_t nout = (size_t)batch * ns_shape_size(l->out_shape);
    float *xe = buf[0], *out = buf[1], *din = buf[2], *ge = buf[3];
    for (size_t i = 0; i < nin; i++) xe[i] = x[i] + (rx ? (float)e * rx[i] : 0.0f);
    for (size_t i = 0; i < l->nparams; i++) l->w[i] = w0[i] + (v ? (float)e * v[i] : 0.0f);
    for (size_t i = 0; i < nout; i++) ge[i] = g[i] + (float)e * rg[i];
    l->ops->forward(l, out, xe, batch, pass);
    l->ops->backward(l, din, ge, xe, out, batch);
    for (size_t i = 0; i < nout; i++) acc[0][i] += c * out[i];
    for (size_t i = 0; i < nin; i++) acc[1][i] += c * din[i];
    for (size_t i = 0; i < l->nparams; i++) acc[2][i] += c * l->dw[i];
}

/* 5-point derivative at step h into fd[3] (zeroed here). */
static inline void rc_fd(ns_layer *l, const float *x, const float *rx, const float *w0,
                         const float *v, const float *g, const float *rg, double h, int batch,
                         const ns_pass *pass, double *fd[3], size_t n[3], float *buf[4])
{
    for (int k = 0; k < 3; k++) memset(fd[k], 0, n[k] * sizeof(double));
    const double es[4] = {h, -h, 2 * h, -2 * h}, cs[4] = {8, -8, -1, 1};
    for (int j = 0; j < 4; j++)
        rc_eval(l, x, rx, w0, v, g, rg, es[j], batch, pass, cs[j] / (12 * h), fd, buf);
}

static inline double rc_dist(const double *a, const float *b, size_t n, double *na)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        s += a[i] * a[i];
    }
    *na = sqrt(s);
    return sqrt(d);
}

/* The check described at the top, for a layer whose w/dw/state are bound and
 * initialised. x: batch inputs on the 2^-10 grid; rx or v may be NULL (0).
 * first: the base forward's pass (may draw noise), again: the pass for the
 * displaced points (reuses it). h: a power of two. */
static inline rc_errs rc_check(ns_layer *l, const float *x, const float *rx, const float *v,
                               int batch, const ns_pass *first, const ns_pass *again,
                               uint64_t seed, double h)
{
    const size_t nin = (size_t)batch * ns_shape_size(l->in_shape);
    const size_t nout = (size_t)batch * ns_shape_size(l->out_shape), np = l->nparams;
    size_t n[3] = {nout, nin, np};
    float *g = malloc(nout * sizeof(float)), *rg = malloc(nout * sizeof(float));
    float *w0 = malloc((np + 1) * sizeof(float));
    float *r[3] = {malloc(nout * sizeof(float)), malloc(nin * sizeof(float)),
                   malloc((np + 1) * sizeof(float))};
    float *buf[4] = {malloc(nin * sizeof(float)), malloc(nout * sizeof(float)),
                     malloc(nin * sizeof(float)), malloc(nout * sizeof(float))};
    double *fd1[3], *fd2[3];
    for (int k = 0; k < 3; k++) {
        fd1[k] = calloc(n[k] + 1, sizeof(double));
        fd2[k] = calloc(n[k] + 1, sizeof(double));
    }
    ns_rng rng;
    ns_rng_init(&rng, seed, 4242);
    rc_fill(g, nout, &rng, -1, 1, 12);
    rc_fill(rg, nout, &rng, -1, 1, 12);
    memcpy(w0, l->w, np * sizeof(float));
    /* base point, then the R-ops right after it (they read its saved state) */
    l->ops->forward(l, buf[1], x, batch, first);
    l->ops->backward(l, buf[2], g, x, buf[1], batch);
    ns_rop_forward_fn fwd;
    ns_rop_backward_fn bwd;
    ns_status st = ns_rop_find(l, &fwd, &bwd);
    NS_ASSERT(st == NS_OK);
    float *scratch = malloc((ns_rop_scratch_size(l, batch) + 1) * sizeof(float));
    fwd(l, r[0], rx, v, x, buf[1], batch, scratch);
    bwd(l, r[1], np ? r[2] : NULL, rg, g, rx, v, x, buf[1], batch, scratch);
    rc_fd(l, x, rx, w0, v, g, rg, h, batch, again, fd1, n, buf);
    rc_fd(l, x, rx, w0, v, g, rg, h / 2, batch, again, fd2, n, buf);
    memcpy(l->w, w0, np * sizeof(float));
    rc_errs e;
    for (int k = 0; k < 3; k++) {
        e.rop[k] = e.fd[k] = -1;
        if (n[k] == 0) continue;
        double nf;
        double d = rc_dist(fd1[k], r[k], n[k], &nf);
        double dd = 0;
        for (size_t i = 0; i < n[k]; i++) dd += (fd1[k][i] - fd2[k][i]) * (fd1[k][i] - fd2[k][i]);
        e.rop[k] = nf > 0 ? d / nf : d;
        e.fd[k] = nf > 0 ? sqrt(dd) / nf : sqrt(dd);
    }
    for (int k = 0; k < 3; k++) {
        free(r[k]);
        free(fd1[k]);
        free(fd2[k]);
    }
    for (int k = 0; k < 4; k++) free(buf[k]);
    free(g);
    free(rg);
    free(w0);
    free(scratch);
    return e;
}

#endif
