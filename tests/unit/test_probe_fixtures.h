/* test_probe_fixtures.h - closed-form objectives for the probe tests
 * (header-only: each test binary is built from one .c file).
 *
 * quad: L(w) = c ||A w - b||^2 with A = diag(s) Q, Q orthonormal (a product
 * of two Householder reflections), so H = 2c A^T A = Q^T diag(2c s^2) Q has
 * KNOWN eigenvalues 2c s_i^2. The loss and gradient are computed in double
 * and the gradient rounded to float, as a real net would hand it over.
 */
#ifndef TEST_PROBE_FIXTURES_H
#define TEST_PROBE_FIXTURES_H

#include "normsweep/probe.h"

#include <math.h>
#include <string.h>

#define QMAX 16

typedef struct quad {
    int n;
    double c;             /* 0.5: 1/2 ||.||^2 ;  1: sum of squares        */
    double A[QMAX][QMAX]; /* A = diag(s) Q                                  */
    double H[QMAX][QMAX]; /* 2c A^T A                                       */
    double b[QMAX];
    int calls;            /* loss_grad evaluations                          */
    double center[QMAX];  /* the radii below are max_i |w_i - center_i|     */
    double nan_radius;    /* > 0: NaN loss/grad beyond this radius          */
    double inf_radius;    /* > 0: +inf loss, inf grad beyond this radius    */
    ns_status fail_with;  /* != NS_OK: loss_grad fails with this status    */
} quad;

/* Q = (I - 2 u u^T/|u|^2)(I - 2 v v^T/|v|^2) with fixed u, v (rotate = 0: Q = I). */
static inline void quad_init(quad *q, int n, const double *s, double c, int rotate)
{
    memset(q, 0, sizeof *q);
    q->n = n;
    q->c = c;
    double Q[QMAX][QMAX], P[QMAX][QMAX], u[QMAX], v[QMAX], uu = 0, vv = 0;
    for (int i = 0; i < n; i++) {
        u[i] = 1.0 + 0.37 * i - 0.05 * i * i;
        v[i] = (i % 3 == 0 ? -1.0 : 0.5) + 0.11 * i;
        uu += u[i] * u[i];
        vv += v[i] * v[i];
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            P[i][j] = (i == j) - (rotate ? 2 * u[i] * u[j] / uu : 0);
            Q[i][j] = (i == j) - (rotate ? 2 * v[i] * v[j] / vv : 0);
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double pq = 0;
            for (int k = 0; k < n; k++) pq += P[i][k] * Q[k][j];
            q->A[i][j] = s[i] * pq;
        }
    for (int i = 0; i < n; i++) {
        q->b[i] = 0.3 * i - 0.4;
        for (int j = 0; j < n; j++) {
            double h = 0;
            for (int k = 0; k < n; k++) h += q->A[k][i] * q->A[k][j];
            q->H[i][j] = 2 * c * h;
        }
    }
}

/* Exact loss and gradient in double at a double point. */
static inline double quad_eval(const quad *q, const double *w, double *grad)
{
    double r[QMAX], L = 0;
    for (int i = 0; i < q->n; i++) {
        r[i] = -q->b[i];
        for (int j = 0; j < q->n; j++) r[i] += q->A[i][j] * w[j];
        L += r[i] * r[i];
    }
    if (grad)
        for (int j = 0; j < q->n; j++) {
            double g = 0;
            for (int i = 0; i < q->n; i++) g += q->A[i][j] * r[i];
            grad[j] = 2 * q->c * g;
        }
    return q->c * L;
}

static inline ns_status quad_loss_grad(void *ctx, const float *w, double *loss, float *grad)
{
    quad *q = ctx;
    q->calls++;
    if (q->fail_with != NS_OK) return ns_error_set(q->fail_with, "quad: injected failure");
    double wd[QMAX], gd[QMAX], wmax = 0;
    for (int i = 0; i < q->n; i++) {
        wd[i] = w[i];
        if (fabs(wd[i] - q->center[i]) > wmax) wmax = fabs(wd[i] - q->center[i]);
    }
    double special = 0;
    if (q->nan_radius > 0 && wmax > q->nan_radius) special = NAN;
    else if (q->inf_radius > 0 && wmax > q->inf_radius) special = INFINITY;
    if (special != 0) {
        *loss = special;
        if (grad)
            for (int i = 0; i < q->n; i++) grad[i] = (float)special;
        return NS_OK;
    }
    *loss = quad_eval(q, wd, grad ? gd : NULL);
    if (grad)
        for (int i = 0; i < q->n; i++) grad[i] = (float)gd[i];
    return NS_OK;
}

/* H x in double. */
static inline void quad_hx(const quad *q, const double *x, double *y)
{
    for (int i = 0; i < q->n; i++) {
        y[i] = 0;
        for (int j = 0; j < q->n; j++) y[i] += q->H[i][j] * x[j];
    }
}

static inline double dnorm(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i] * x[i];
    return sqrt(s);
}

/* An objective over q with one "layer" covering everything. */
static inline ns_objective quad_objective(quad *q)
{
    static const size_t off[1] = {0}, pe[1] = {0};
    static size_t len[1];
    len[0] = (size_t)q->n;
    return (ns_objective){.n = (size_t)q->n, .loss_grad = quad_loss_grad, .ctx = q,
                          .nlayers = 1, .layer_off = off, .layer_len = len, .prefix_end = pe};
}

/* A ready case: the objective over q, a workspace, and g = grad L(w) as the
 * float gradient a training step would hand over (w may be NULL: no g).
 * The call counter starts at 0 after g. */
typedef struct qcase {
    quad q;
    ns_objective obj;
    ns_probe_ws ws;
    float g[QMAX];
    double L0;
} qcase;

static inline void qcase_init(qcase *t, int n, const double *s, double c, int rotate,
                              const float *w)
{
    quad_init(&t->q, n, s, c, rotate);
    t->obj = quad_objective(&t->q);
    ck_assert_int_eq(ns_probe_ws_alloc(&t->ws, (size_t)n), NS_OK);
    if (w) quad_loss_grad(&t->q, w, &t->L0, t->g);
    t->q.calls = 0;
}

static inline void qcase_free(qcase *t) { ns_probe_ws_free(&t->ws); }

#endif
