/* test_norm_util.h - helpers shared by the test_norm_*.c suites (header-only:
 * each suite is its own executable). The test plays the net: it creates a
 * normalization layer, allocates and binds its w/dw/state slices, runs init,
 * forward and backward on buffers it owns, and checks gradients by central
 * differences. */
#ifndef TEST_NORM_UTIL_H
#define TEST_NORM_UTIL_H

#include "ns_test.h"
#include "normsweep/norm.h"

#include <stdlib.h>
#include <string.h>

typedef struct tnorm {
    ns_layer l;
    ns_norm_config cfg;
    ns_shape shape;
    size_t n; /* floats per sample */
    float *w, *dw, *state;
} tnorm;

static inline void tn_make(tnorm *t, ns_norm_config cfg, ns_shape shape, int max_batch)
{
    memset(t, 0, sizeof *t);
    t->cfg = cfg;
    t->shape = shape;
    t->n = ns_shape_size(shape);
    ns_status st = ns_norm_create(&t->l, &cfg, shape, max_batch);
    ck_assert_msg(st == NS_OK, "create %s: %s", ns_norm_name(cfg.kind), ns_error_msg());
    t->w = calloc(t->l.nparams + 1, sizeof(float));
    t->dw = calloc(t->l.nparams + 1, sizeof(float));
    t->state = calloc(t->l.nstate + 1, sizeof(float));
    t->l.w = t->w;
    t->l.dw = t->dw;
    t->l.state = t->state;
    if (t->l.ops->init) t->l.ops->init(&t->l, NULL, NS_INIT_GLOROT);
}

static inline void tn_free(tnorm *t)
{
    if (t->l.ops && t->l.ops->destroy) t->l.ops->destroy(&t->l);
    free(t->w);
    free(t->dw);
    free(t->state);
}

static inline void tn_fill_normal(float *x, size_t n, ns_rng *r, float scale, float offset)
{
    for (size_t i = 0; i < n; i++) x[i] = offset + scale * ns_rng_normal(r);
}

/* sum_i r_i out_i, accumulated in double so that only out's own float
 * rounding enters the finite differences. */
static inline double tn_objective(tnorm *t, float *out, const float *x, const float *r, int batch,
                                  const ns_pass *p)
{
    t->l.ops->forward(&t->l, out, x, batch, p);
    double s = 0.0;
    for (size_t i = 0; i < (size_t)batch * t->n; i++) s += (double)r[i] * out[i];
    return s;
}

/* Five-point central difference of the objective along one float,
 *   f' ~ (8 (f(v+h) - f(v-h)) - (f(v+2h) - f(v-2h))) / (12 h),
 * truncation O(h^4), so h can be large enough that the float rounding of out
 * (the dominant error, ~1/h) stays small. Uses the steps actually taken
 * after rounding v +- h (v +- 2h is then exact up to one more rounding). */
static inline double tn_fd(tnorm *t, float *out, float *v, const float *x, const float *r,
                           int batch, const ns_pass *p, float h)
{
    float v0 = *v;
    double f[4];
    const float steps[4] = {v0 + h, v0 - h, v0 + 2 * h, v0 - 2 * h};
    for (int k = 0; k < 4; k++) {
        *v = steps[k];
        f[k] = tn_objective(t, out, x, r, batch, p);
    }
    *v = v0;
    /* rounding of v +- h moves the nodes by ~1e-7 |v|: a 1e-5 relative effect at most */
    double hh = ((double)steps[0] - steps[1]) / 2;
    return (8.0 * (f[0] - f[1]) - (f[2] - f[3])) / (12.0 * hh);
}

/* err = |a - b| / (|a| + |b| + floor). */
static inline double tn_err(double a, double b, double floor)
{
    return fabs(a - b) / (fabs(a) + fabs(b) + floor);
}

/* Step for tn_fd: the data of every test keeps kinks (sign changes, argmax
 * swaps, var -> 0) more than 2h away. NS_TEST_FD_H overrides it. */
static inline float tn_fd_step(void)
{
    const char *e = getenv("NS_TEST_FD_H");
    return e ? (float)atof(e) : 3e-2f;
}

typedef struct tn_gc_result {
    double max_err_din, max_err_dw; /* largest tn_err over checked entries */
    double gscale;                  /* max |din| (the floor's scale)         */
} tn_gc_result;

/* Finite-difference check of din and dw (train mode, noise redrawn once and
 * then reused) for objective sum(r .* out). x is given (batch x n); gamma and
 * beta are randomised away from (1, 0). Checks every entry. */
static inline tn_gc_result tn_gradcheck(ns_norm_config cfg, ns_shape shape, int batch, float *x,
                                        uint64_t seed, float h)
{
    tnorm t;
    tn_make(&t, cfg, shape, batch);
    size_t N = (size_t)batch * t.n;
    ns_rng rng, noise;
    ns_rng_init(&rng, seed, 77);
    ns_rng_init(&noise, seed, NS_STREAM(NS_STREAM_NOISE, 0));
    size_t C = (size_t)shape.c;
    for (size_t c = 0; c < C; c++) {
        t.w[c] = ns_rng_range(&rng, 0.5f, 1.5f);
        t.w[C + c] = ns_rng_range(&rng, -0.5f, 0.5f);
    }
    float *r = malloc(N * sizeof(float)), *out = malloc(N * sizeof(float));
    float *din = malloc(N * sizeof(float)), *dout = malloc(N * sizeof(float));
    tn_fill_normal(r, N, &rng, 1.0f, 0.0f);
    ns_pass first = {NS_MODE_TRAIN, 0, 1, &noise}, again = {NS_MODE_TRAIN, 0, 0, &noise};
    t.l.ops->forward(&t.l, out, x, batch, &first);
    memcpy(dout, r, N * sizeof(float)); /* dL/dout of sum(r .* out) */
    t.l.ops->backward(&t.l, din, dout, x, out, batch);
    float *dw = malloc(t.l.nparams * sizeof(float));
    memcpy(dw, t.dw, t.l.nparams * sizeof(float));

    tn_gc_result res = {0, 0, 0};
    for (size_t i = 0; i < N; i++)
        if (fabs(din[i]) > res.gscale) res.gscale = fabs(din[i]);
    for (size_t i = 0; i < t.l.nparams; i++)
        if (fabs(dw[i]) > res.gscale) res.gscale = fabs(dw[i]);
    /* Floor: the FD's own rounding noise. Each out_i carries ~6e-8 |out_i|
     * relative error, so the objective is noisy by ~6e-8 sqrt(sum (r out)^2)
     * and the difference quotient by that / (2h); 20x that, and never below
     * 1e-3 of the largest gradient. */
    double ro2 = 0.0;
    for (size_t i = 0; i < N; i++) ro2 += (double)r[i] * r[i] * out[i] * out[i];
    double fdnoise = 6e-8 * sqrt(ro2) * 1.5 / h; /* (8+8+1+1)/12h per unit noise */
    double floor = 1e-3 * (res.gscale > 0 ? res.gscale : 1.0);
    if (20.0 * fdnoise > floor) floor = 20.0 * fdnoise;
    for (size_t i = 0; i < N; i++) {
        double fd = tn_fd(&t, out, &x[i], x, r, batch, &again, h);
        double e = tn_err(din[i], fd, floor);
        if (e > res.max_err_din) res.max_err_din = e;
    }
    for (size_t i = 0; i < t.l.nparams; i++) {
        double fd = tn_fd(&t, out, &t.w[i], x, r, batch, &again, h);
        double e = tn_err(dw[i], fd, floor);
        if (e > res.max_err_dw) res.max_err_dw = e;
    }
    free(r);
    free(out);
    free(din);
    free(dout);
    free(dw);
    tn_free(&t);
    return res;
}

#endif
