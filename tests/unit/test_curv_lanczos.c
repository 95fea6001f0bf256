/* test_curv_lanczos.c - curvature.h on closed-form operators: the tridiagonal
 * (implicit QL) and dense (Jacobi) eigensolvers against known spectra;
 * Lanczos top-k / smallest eigenvalues, residuals, the gradient's top-k
 * share; stochastic Lanczos quadrature's moments; Hutchinson; per-layer
 * blocks; NaN handling, argument checks, determinism. */
#include "ns_test.h"
#include "normsweep/curvature.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- operators */

/* A = U diag(lam) U^T, U = two Householder reflections (U = I: diagonal). */
typedef struct dense_op {
    int n, diagonal;
    double *A, *lam, *U; /* U columns: eigenvectors                      */
    int calls;
    int poison;          /* 1: return NaN                                 */
} dense_op;

static ns_status dense_apply(void *ctx, const float *x, float *y)
{
    dense_op *d = ctx;
    d->calls++;
    for (int i = 0; i < d->n; i++) {
        double s = 0;
        if (d->diagonal) s = d->lam[i] * x[i];
        else
            for (int j = 0; j < d->n; j++) s += d->A[(size_t)i * d->n + j] * x[j];
        y[i] = d->poison ? NAN : (float)s;
    }
    return NS_OK;
}

static void householder(double *U, int n, const double *u) /* U = U (I - 2 u u^T), |u| = 1 */
{
    for (int r = 0; r < n; r++) {
        double s = 0;
        for (int k = 0; k < n; k++) s += U[r * n + k] * u[k];
        for (int k = 0; k < n; k++) U[r * n + k] -= 2 * s * u[k];
    }
}

static void dense_make(dense_op *d, int n, const double *lam, int diagonal, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->diagonal = diagonal;
    d->lam = malloc(n * sizeof(double));
    memcpy(d->lam, lam, n * sizeof(double));
    d->U = calloc((size_t)n * n, sizeof(double));
    d->A = calloc((size_t)n * n, sizeof(double));
    for (int i = 0; i < n; i++) d->U[i * n + i] = 1;
    if (!diagonal) {
        ns_rng r;
        ns_rng_init(&r, seed, 1);
        double *u = malloc(n * sizeof(double));
        for (int h = 0; h < 2; h++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                u[i] = ns_rng_normal(&r);
                s += u[i] * u[i];
            }
            for (int i = 0; i < n; i++) u[i] /= sqrt(s);
            householder(d->U, n, u);
        }
        free(u);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += d->U[i * n + k] * lam[k] * d->U[j * n + k];
            d->A[(size_t)i * n + j] = s;
        }
}

static void dense_free(dense_op *d)
{
    free(d->A);
    free(d->lam);
    free(d->U);
}

static ns_linop as_linop(dense_op *d)
{
    return (ns_linop){.n = (size_t)d->n, .apply = dense_apply, .ctx = d};
}

/* A spectrum with a clear top: 10, 9, 8.5, then [-1, 5) spread, min -2. */
static void test_spectrum(double *lam, int n)
{
    for (int i = 0; i < n; i++) lam[i] = -1.0 + 6.0 * i / n;
    lam[0] = -2.0;
    lam[n - 1] = 10.0;
    lam[n - 2] = 9.0;
    lam[n - 3] = 8.5;
}

/* ---------------------------------------------------------------- dense solvers */

START_TEST(tridiag_second_difference_closed_form)
{
    /* T = tridiag(-1, 2, -1) of size k: lambda_j = 2 - 2 cos(j pi / (k + 1)) */
    for (int k = 1; k <= 40; k += 13) {
        double d[40], e[40], ev[40], V[1600], w[40];
        for (int i = 0; i < k; i++) {
            d[i] = 2;
            e[i] = -1;
        }
        ck_assert_int_eq(ns_tridiag_eig(k, d, e, ev, V, w), NS_OK);
        for (int j = 0; j < k; j++) {
            ns_assert_close_abs(ev[j], 2 - 2 * cos((j + 1) * acos(-1.0) / (k + 1)), 1e-13, 1e-14);
            /* T v = lambda v, |v| = 1 */
            double r = 0, nv = 0;
            for (int i = 0; i < k; i++) {
                double tv = d[i] * V[i * k + j] + (i > 0 ? e[i - 1] * V[(i - 1) * k + j] : 0) +
                            (i + 1 < k ? e[i] * V[(i + 1) * k + j] : 0);
                r += (tv - ev[j] * V[i * k + j]) * (tv - ev[j] * V[i * k + j]);
                nv += V[i * k + j] * V[i * k + j];
            }
            ck_assert(sqrt(r) < 1e-13 && fabs(nv - 1) < 1e-13);
        }
    }
}
END_TEST

START_TEST(tridiag_matches_jacobi_on_random)
{
    enum { K = 25 };
    double d[K], e[K], ev[K], V[K * K], w[K], A[K * K] = {0}, ej[K];
    ns_rng r;
    ns_rng_init(&r, 5, 1);
    for (int i = 0; i < K; i++) {
        d[i] = ns_rng_normal(&r);
        e[i] = i % 7 == 3 ? 0.0 : ns_rng_normal(&r); /* a split block too */
        A[i * K + i] = d[i];
    }
    for (int i = 0; i + 1 < K; i++) A[i * K + i + 1] = A[(i + 1) * K + i] = e[i];
    ck_assert_int_eq(ns_tridiag_eig(K, d, e, ev, V, w), NS_OK);
    ck_assert_int_eq(ns_jacobi_eig(K, A, ej, NULL), NS_OK);
    for (int i = 0; i < K; i++) ns_assert_close_abs(ev[i], ej[i], 1e-12, 1e-12);
    for (int i = 0; i + 1 < K; i++) ck_assert(ev[i] <= ev[i + 1]);
}
END_TEST

START_TEST(jacobi_recovers_rotated_spectrum)
{
    enum { N = 30 };
    double lam[N], ev[N], V[N * N];
    for (int i = 0; i < N; i++) lam[i] = (i * 37 % N) - 10.5; /* unsorted, distinct */
    dense_op d;
    dense_make(&d, N, lam, 0, 9);
    double *A = malloc(sizeof(double) * N * N);
    memcpy(A, d.A, sizeof(double) * N * N);
    ck_assert_int_eq(ns_jacobi_eig(N, A, ev, V), NS_OK);
    for (int i = 0; i < N; i++) ns_assert_close_abs(ev[i], i - 10.5, 1e-12, 1e-12);
    /* A v = lambda v for each column */
    for (int j = 0; j < N; j++) {
        double r = 0;
        for (int i = 0; i < N; i++) {
            double s = 0;
            for (int k = 0; k < N; k++) s += d.A[i * N + k] * V[k * N + j];
            r += (s - ev[j] * V[i * N + j]) * (s - ev[j] * V[i * N + j]);
        }
        ck_assert(sqrt(r) < 1e-11);
    }
    free(A);
    dense_free(&d);
}
END_TEST

START_TEST(eigensolvers_reject_nonfinite)
{
    double d[3] = {1, NAN, 2}, e[3] = {1, 1, 0}, ev[3], w[3], A[4] = {1, INFINITY, INFINITY, 1};
    ck_assert_int_eq(ns_tridiag_eig(3, d, e, ev, NULL, w), NS_ERR_NUMERIC);
    ck_assert_int_eq(ns_jacobi_eig(2, A, ev, NULL), NS_ERR_NUMERIC);
}
END_TEST

/* ---------------------------------------------------------------- Lanczos */

START_TEST(spectrum_top_k_and_min_closed_form)
{
    enum { N = 400 };
    double lam[N];
    test_spectrum(lam, N);
    dense_op d;
    dense_make(&d, N, lam, _i, 3); /* _i = 1: diagonal, 0: rotated */
    ns_linop op = as_linop(&d);
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, N, 60), NS_OK);
    ns_spectrum_config cfg = ns_spectrum_defaults();
    cfg.steps = 60;
    cfg.tol = 1e-5;
    ns_spectrum_out out;
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 1, 0, &out), NS_OK);
    ck_assert_int_eq(out.k, 3);
    const double top[3] = {10, 9, 8.5};
    for (int t = 0; t < 3; t++) {
        ns_assert_close(out.top[t].lambda, top[t], 1e-6);
        ck_assert_msg(out.top[t].converged && out.top[t].residual < 1e-4,
                      "top %d residual %g", t, out.top[t].residual);
    }
    ns_assert_close(out.min.lambda, -2.0, 1e-6);
    ck_assert(out.min.converged);
    ns_assert_close(out.norm_est, 10.0, 1e-6);
    /* products: the steps plus one true residual per pair (3 top + min) */
    ck_assert_int_eq(out.products, out.steps + 4);
    ck_assert_int_eq(d.calls, out.products);
    ck_assert(out.steps < 60); /* stopped early, converged */
    ns_lanczos_ws_free(&ws);
    dense_free(&d);
}
END_TEST

/* ||P_3 g||^2 / ||g||^2 for g built from known eigenvectors. */
START_TEST(spectrum_gradient_share)
{
    enum { N = 200 };
    double lam[N];
    test_spectrum(lam, N);
    dense_op d;
    dense_make(&d, N, lam, 0, 4);
    ns_linop op = as_linop(&d);
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, N, 50), NS_OK);
    ns_spectrum_config cfg = ns_spectrum_defaults();
    cfg.steps = 50;
    cfg.tol = 1e-6;
    float g[N];
    /* g = 3 u_top1 + 4 u_top3 + 12 u_(some bulk vector): share (9 + 16) / 169 */
    for (int i = 0; i < N; i++)
        g[i] = (float)(3 * d.U[i * N + N - 1] + 4 * d.U[i * N + N - 3] + 12 * d.U[i * N + 100]);
    ns_spectrum_out out;
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, g, 7, 3, &out), NS_OK);
    ns_assert_close(out.grad_share, 25.0 / 169.0, 1e-5);
    float zero[N] = {0};
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, zero, 7, 3, &out), NS_OK);
    ck_assert(isnan(out.grad_share));
    ns_lanczos_ws_free(&ws);
    dense_free(&d);
}
END_TEST

/* Fewer steps than needed: the estimates say so (not converged), values are
 * still Ritz values (inside the spectrum). Lanczos residual estimates equal
 * the true residuals up to rounding. */
START_TEST(spectrum_unconverged_and_estimates)
{
    enum { N = 300 };
    double lam[N];
    for (int i = 0; i < N; i++) lam[i] = 1.0 + i * 1e-3; /* no gap: slow */
    dense_op d;
    dense_make(&d, N, lam, 1, 1);
    ns_linop op = as_linop(&d);
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, N, 8), NS_OK);
    ns_spectrum_config cfg = {.k = 2, .steps = 6, .tol = 1e-6, .residuals = 1};
    ns_spectrum_out t, e;
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 1, 0, &t), NS_OK);
    cfg.residuals = 0;
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 1, 0, &e), NS_OK);
    ck_assert_int_eq(t.steps, 6);
    ck_assert(!t.top[0].converged && !t.min.converged);
    ck_assert(t.top[0].lambda <= lam[N - 1] && t.min.lambda >= lam[0]);
    ck_assert_int_eq(e.products, 6);
    for (int i = 0; i < 2; i++) {
        ck_assert(t.top[i].lambda == e.top[i].lambda);
        ns_assert_close(t.top[i].residual, e.top[i].residual, 1e-3);
    }
    ns_lanczos_ws_free(&ws);
    dense_free(&d);
}
END_TEST

/* An operator of rank 2 on n = 50: Lanczos finds an invariant subspace. */
START_TEST(spectrum_invariant_subspace)
{
    enum { N = 50 };
    double lam[N] = {0};
    lam[10] = 4.0;
    lam[20] = -3.0;
    dense_op d;
    dense_make(&d, N, lam, 0, 2);
    ns_linop op = as_linop(&d);
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, N, 20), NS_OK);
    ns_spectrum_config cfg = {.k = 1, .steps = 20, .tol = 1e-6, .residuals = 1};
    ns_spectrum_out out;
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 1, 0, &out), NS_OK);
    ck_assert_int_le(out.steps, 4);
    ns_assert_close(out.top[0].lambda, 4.0, 1e-6);
    ns_assert_close(out.min.lambda, -3.0, 1e-6);
    ck_assert(out.top[0].converged && out.min.converged);
    ns_lanczos_ws_free(&ws);
    dense_free(&d);
}
END_TEST

START_TEST(spectrum_nan_is_data)
{
    enum { N = 40 };
    double lam[N];
    test_spectrum(lam, N);
    dense_op d;
    dense_make(&d, N, lam, 1, 1);
    d.poison = 1;
    ns_linop op = as_linop(&d);
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, N, 10), NS_OK);
    ns_spectrum_config cfg = ns_spectrum_defaults();
    cfg.steps = 10;
    ns_spectrum_out out;
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 1, 0, &out), NS_OK);
    ck_assert(isnan(out.top[0].lambda) && isnan(out.min.lambda) && !out.top[0].converged);
    ck_assert_int_eq(out.products, 1);
    double nodes[20], weights[20], lambda[1], res[1], tr, se;
    int conv[1];
    size_t off[1] = {0}, len[1] = {N};
    ck_assert_int_eq(ns_curv_slq(&op, &ws, 2, 10, 1, 0, nodes, weights), NS_OK);
    ck_assert(isnan(nodes[0]) && isnan(weights[19]));
    ck_assert_int_eq(ns_curv_layers(&op, &ws, 1, off, len, 10, 1e-3, 1, 0, lambda, res, conv),
                     NS_OK);
    ck_assert(isnan(lambda[0]) && !conv[0]);
    float z[N], az[N];
    ck_assert_int_eq(ns_curv_hutchinson(&op, z, az, 3, 1, 0, &tr, &se), NS_OK);
    ck_assert(isnan(tr) && isnan(se));
    ns_lanczos_ws_free(&ws);
    dense_free(&d);
}
END_TEST

START_TEST(spectrum_bad_arguments)
{
    enum { N = 10 };
    double lam[N];
    test_spectrum(lam, N);
    dense_op d;
    dense_make(&d, N, lam, 1, 1);
    ns_linop op = as_linop(&d);
    ns_lanczos_ws ws, small;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, N, 8), NS_OK);
    ck_assert_int_eq(ns_lanczos_ws_alloc(&small, N - 1, 8), NS_OK);
    ns_spectrum_out out;
    ns_spectrum_config cfg = {.k = 0, .steps = 5, .tol = 1e-3, .residuals = 1};
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 1, 0, &out), NS_ERR_ARG);
    cfg.k = 5; /* steps must exceed k */
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 1, 0, &out), NS_ERR_ARG);
    cfg = (ns_spectrum_config){.k = 2, .steps = 9, .tol = 1e-3}; /* more than ws->m */
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 1, 0, &out), NS_ERR_ARG);
    cfg.steps = 5;
    cfg.tol = -1;
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 1, 0, &out), NS_ERR_ARG);
    cfg.tol = 1e-3;
    ck_assert_int_eq(ns_curv_spectrum(&op, &small, &cfg, NULL, 1, 0, &out), NS_ERR_ARG);
    double nd[8], wt[8];
    ck_assert_int_eq(ns_curv_slq(&op, &ws, 0, 4, 1, 0, nd, wt), NS_ERR_ARG);
    ck_assert_int_eq(ns_curv_slq(&op, &ws, 1, 9, 1, 0, nd, wt), NS_ERR_ARG);
    size_t off[1] = {5}, len[1] = {6};
    double l1[1], r1[1];
    int c1[1];
    ck_assert_int_eq(ns_curv_layers(&op, &ws, 1, off, len, 4, 1e-3, 1, 0, l1, r1, c1), NS_ERR_ARG);
    ck_assert_int_eq(ns_lanczos_ws_alloc(&small, N, 0), NS_ERR_ARG);
    ns_lanczos_ws_free(&ws);
    ns_lanczos_ws_free(&small);
    dense_free(&d);
}
END_TEST

START_TEST(spectrum_is_deterministic_per_step)
{
    enum { N = 120 };
    double lam[N];
    test_spectrum(lam, N);
    dense_op d;
    dense_make(&d, N, lam, 0, 8);
    ns_linop op = as_linop(&d);
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, N, 6), NS_OK);
    ns_spectrum_config cfg = {.k = 2, .steps = 6, .tol = 0, .residuals = 0};
    ns_spectrum_out a, b, c;
    ns_curv_spectrum(&op, &ws, &cfg, NULL, 11, 5, &a);
    ns_curv_spectrum(&op, &ws, &cfg, NULL, 11, 5, &b);
    ns_curv_spectrum(&op, &ws, &cfg, NULL, 11, 6, &c);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert(a.top[1].lambda != c.top[1].lambda); /* another start vector */
    ns_lanczos_ws_free(&ws);
    dense_free(&d);
}
END_TEST

/* ---------------------------------------------------------------- SLQ, Hutchinson */

/* Diagonal A: q^T A^p q = tr(A^p)/n exactly for Rademacher q/sqrt(n), and the
 * m-node Gauss quadrature is exact for p < 2m. */
START_TEST(slq_moments_exact_on_diagonal)
{
    enum { N = 300, M = 8, NV = 3 };
    double lam[N];
    test_spectrum(lam, N);
    dense_op d;
    dense_make(&d, N, lam, 1, 1);
    ns_linop op = as_linop(&d);
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, N, M), NS_OK);
    double nodes[NV * M], weights[NV * M];
    ck_assert_int_eq(ns_curv_slq(&op, &ws, NV, M, 3, 1, nodes, weights), NS_OK);
    for (int p = 0; p <= 6; p++) {
        double exact = 0;
        for (int i = 0; i < N; i++) exact += pow(lam[i], p) / N;
        for (int j = 0; j < NV; j++) {
            double q = 0;
            for (int i = 0; i < M; i++) q += weights[j * M + i] * pow(nodes[j * M + i], p);
            ns_assert_close_abs(q, exact, 2e-6, 1e-6 * pow(10, p));
        }
    }
    for (int j = 0; j + 1 < NV * M; j++)
        if ((j + 1) % M) ck_assert(nodes[j] <= nodes[j + 1]);
    ns_lanczos_ws_free(&ws);
    dense_free(&d);
}
END_TEST

START_TEST(hutchinson_closed_form)
{
    enum { N = 64 };
    double lam[N], tr = 0;
    test_spectrum(lam, N);
    for (int i = 0; i < N; i++) tr += lam[i];
    dense_op d;
    dense_make(&d, N, lam, 1, 1);
    ns_linop op = as_linop(&d);
    float z[N], az[N];
    double t, se;
    ck_assert_int_eq(ns_curv_hutchinson(&op, z, az, 5, 2, 4, &t, &se), NS_OK);
    ns_assert_close(t, tr, 1e-6); /* diagonal: every sample is the trace */
    ck_assert(se < 1e-5);
    dense_free(&d);
    /* rotated: the samples are z^T A z; recompute them with the same vectors */
    dense_make(&d, N, lam, 0, 6);
    op = as_linop(&d);
    ck_assert_int_eq(ns_curv_hutchinson(&op, z, az, 4, 2, 4, &t, &se), NS_OK);
    ns_rng r;
    ns_rng_init(&r, 2, ns_probe_stream(NS_PROBE_RNG_HUTCHINSON, 4));
    double s[4], m = 0, v = 0;
    for (int j = 0; j < 4; j++) {
        ns_rademacher(&r, z, N);
        s[j] = 0;
        for (int a = 0; a < N; a++)
            for (int b = 0; b < N; b++) s[j] += z[a] * d.A[a * N + b] * z[b];
        m += s[j] / 4;
    }
    for (int j = 0; j < 4; j++) v += (s[j] - m) * (s[j] - m) / 3;
    ns_assert_close(t, m, 1e-5);
    ns_assert_close(se, sqrt(v / 4), 1e-4);
    dense_free(&d);
}
END_TEST

/* ---------------------------------------------------------------- layer blocks */

static ns_status dense_block(void *ctx, const float *x, float *y, size_t lo, size_t hi)
{
    dense_op *d = ctx;
    d->calls++;
    for (size_t i = lo; i < hi; i++) {
        double s = 0;
        for (size_t j = lo; j < hi; j++) s += d->A[i * d->n + j] * x[j];
        y[i] = (float)s;
    }
    return NS_OK;
}

/* A block-diagonal operator: blocks of 5, 40 and 100 with known tops. */
START_TEST(layers_block_tops)
{
    enum { N = 160 };
    const size_t off[3] = {0, 10, 60}, len[3] = {5, 40, 100};
    const double tops[3] = {3.0, 7.0, 2.5};
    double *A = calloc(N * N, sizeof(double));
    for (int b = 0; b < 3; b++) {
        double lam[100];
        for (size_t i = 0; i < len[b]; i++) lam[i] = -1.0 + 2.0 * i / len[b];
        lam[len[b] - 1] = tops[b];
        dense_op blk;
        dense_make(&blk, (int)len[b], lam, 0, 10 + b);
        for (size_t i = 0; i < len[b]; i++)
            for (size_t j = 0; j < len[b]; j++)
                A[(off[b] + i) * N + off[b] + j] = blk.A[i * len[b] + j];
        dense_free(&blk);
    }
    for (int i = 0; i < N; i++) /* coupling between blocks: not part of any block */
        for (int j = 0; j < N; j++)
            if (A[i * N + j] == 0 && i != j) A[i * N + j] = 0.01 * ((i + j) % 3);
    dense_op d = {.n = N, .A = A};
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, N, 40), NS_OK);
    for (int mode = 0; mode < 2; mode++) { /* with apply_block, then plain apply */
        ns_linop op = {.n = N, .apply = dense_apply, .apply_block = mode ? NULL : dense_block,
                       .ctx = &d};
        double lambda[3], res[3];
        int conv[3];
        ck_assert_int_eq(ns_curv_layers(&op, &ws, 3, off, len, 40, 1e-5, 4, 2, lambda, res, conv),
                         NS_OK);
        for (int b = 0; b < 3; b++) {
            ns_assert_close(lambda[b], tops[b], 1e-6);
            ck_assert_msg(conv[b] && res[b] < 1e-4, "block %d residual %g", b, res[b]);
        }
    }
    ns_lanczos_ws_free(&ws);
    free(A);
}
END_TEST

static Suite *curv_suite(void)
{
    Suite *s = suite_create("curv_lanczos");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tridiag_second_difference_closed_form);
    tcase_add_test(tc, tridiag_matches_jacobi_on_random);
    tcase_add_test(tc, jacobi_recovers_rotated_spectrum);
    tcase_add_test(tc, eigensolvers_reject_nonfinite);
    tcase_add_loop_test(tc, spectrum_top_k_and_min_closed_form, 0, 2);
    tcase_add_test(tc, spectrum_gradient_share);
    tcase_add_test(tc, spectrum_unconverged_and_estimates);
    tcase_add_test(tc, spectrum_invariant_subspace);
    tcase_add_test(tc, spectrum_nan_is_data);
    tcase_add_test(tc, spectrum_bad_arguments);
    tcase_add_test(tc, spectrum_is_deterministic_per_step);
    tcase_add_test(tc, slq_moments_exact_on_diagonal);
    tcase_add_test(tc, hutchinson_closed_form);
    tcase_add_test(tc, layers_block_tops);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(curv_suite(), argc, argv); }
