/* test_hvp_net.c - exact Hessian-vector products of whole nets (hvp.h):
 *   - a linear least-squares net: H v and the Lanczos eigenvalues equal the
 *     closed form 2 [X 1]^T [X 1] (x) I to 1e-6 relative;
 *   - on a net of a few hundred parameters, H formed column by column is
 *     symmetric and the Lanczos top / smallest eigenvalues match the dense
 *     eigensolver (Jacobi) of it; Hutchinson and SLQ agree with its trace;
 *   - on MLP, DLN and a small VGG with every normalization, in train and eval
 *     mode: the finite-difference HVP agrees with the exact one to the error
 *     it reports, and u^T H v = v^T H u;
 *   - blocks, the stale-base check, the noise check, and that the base pass
 *     leaves running statistics and the noise stream untouched. */
#include "ns_test.h"
#include "normsweep/curvature.h"
#include "normsweep/hvp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A net, its batch, and the objective (probe.h) of its loss in a given mode. */
typedef struct tnet {
    ns_net *n;
    ns_hvp *h;
    float *x, *t;
    int32_t *y;
    int batch;
    ns_mode mode;
    ns_objective obj;
    ns_probe_ws ws;
} tnet;

static ns_status tnet_loss_grad(void *ctx, const float *w, double *loss, float *grad)
{
    tnet *T = ctx;
    memcpy(T->n->params, w, T->n->nparams * sizeof(float));
    ns_pass p = {T->mode, 0, 0, NULL};
    *loss = ns_net_forward(T->n, T->x, T->y, T->t, T->batch, &p, NULL);
    if (grad) {
        ns_net_backward(T->n, T->batch);
        memcpy(grad, T->n->grads, T->n->nparams * sizeof(float));
    }
    return NS_OK;
}

/* Build, init, a random batch, one training step's forward (noise drawn,
 * running statistics moved so that eval mode is not the identity). */
static void tnet_make(tnet *T, const char *arch, const char *norm, ns_shape in, int nout,
                      ns_loss_kind loss, int batch, uint64_t seed)
{
    memset(T, 0, sizeof *T);
    ns_norm_config cfg;
    ck_assert_int_eq(ns_norm_parse(norm, &cfg), NS_OK);
    ck_assert_msg(ns_net_build(arch, &cfg, in, nout, loss, batch, &T->n) == NS_OK, "%s %s: %s",
                  arch, norm, ns_error_msg());
    ck_assert_int_eq(ns_net_init(T->n, seed, NS_INIT_GLOROT), NS_OK);
    T->batch = batch;
    const size_t nx = (size_t)batch * ns_shape_size(in);
    T->x = malloc(nx * sizeof(float));
    ns_rng r;
    ns_rng_init(&r, seed, 99);
    for (size_t i = 0; i < nx; i++) T->x[i] = ns_rng_normal(&r);
    if (loss == NS_LOSS_SOFTMAX_CE) {
        T->y = malloc((size_t)batch * sizeof(int32_t));
        for (int i = 0; i < batch; i++) T->y[i] = (int32_t)ns_rng_below(&r, (uint32_t)nout);
    } else {
        T->t = malloc((size_t)batch * nout * sizeof(float));
        for (int i = 0; i < batch * nout; i++) T->t[i] = ns_rng_normal(&r);
    }
    ns_optim sgd;
    ns_optim_config c = ns_optim_defaults();
    c.lr = loss == NS_LOSS_SOFTMAX_CE ? 0.05 : 1e-3;
    ck_assert_int_eq(ns_optim_create(&sgd, &c, T->n->nparams), NS_OK);
    for (int s = 0; s < 3; s++) ns_net_train_step(T->n, T->x, T->y, T->t, batch, &sgd, s, NULL);
    ns_optim_free(&sgd);
    ns_net_forward(T->n, T->x, T->y, T->t, batch, NULL, NULL); /* the step's noise */
    T->obj = (ns_objective){.n = T->n->nparams, .loss_grad = tnet_loss_grad, .ctx = T};
    ck_assert_int_eq(ns_probe_ws_alloc(&T->ws, T->n->nparams), NS_OK);
    ck_assert_int_eq(ns_hvp_create(T->n, &T->h), NS_OK);
}

static void tnet_free(tnet *T)
{
    ns_hvp_free(T->h);
    ns_probe_ws_free(&T->ws);
    ns_net_free(T->n);
    free(T->x);
    free(T->y);
    free(T->t);
}

static void tnet_begin(tnet *T, ns_mode mode)
{
    T->mode = mode;
    ck_assert_msg(ns_hvp_begin(T->h, T->x, T->y, T->t, T->batch, mode, NULL) == NS_OK, "%s",
                  ns_error_msg());
}

static void random_vec(float *v, size_t n, uint64_t seed, uint64_t stream)
{
    ns_rng r;
    ns_rng_init(&r, seed, stream);
    for (size_t i = 0; i < n; i++) v[i] = ns_rng_normal(&r);
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---------------------------------------------------------------- least squares */

/* mlp:D-K is one dense layer: L = sum_b ||W x_b + c - t_b||^2, a quadratic with
 * H = 2 A^T A (x) I_K, A = [X 1] (B x (D+1)), the same for every w. */
START_TEST(least_squares_closed_form)
{
    enum { D = 12, K = 3, B = 40 };
    tnet T;
    tnet_make(&T, "mlp:12-3", "none", (ns_shape){D, 1, 1}, K, NS_LOSS_SQUARED_SUM, B, 1);
    const size_t n = T.n->nparams;
    ck_assert_uint_eq(n, K * D + K);
    tnet_begin(&T, NS_MODE_TRAIN);
    float *v = malloc(n * sizeof(float)), *hv = malloc(n * sizeof(float));
    random_vec(v, n, 2, 1);
    ck_assert_int_eq(ns_hvp_apply(T.h, v, hv), NS_OK);
    /* closed form: (Hv)_{W[o][j]} = 2 sum_b (V_o . x_b + Vc_o) x_b[j], (Hv)_{c[o]} the same with 1 */
    double e2 = 0, r2 = 0;
    for (int o = 0; o < K; o++) {
        double ref[D + 1] = {0};
        for (int b = 0; b < B; b++) {
            double s = v[K * D + o];
            for (int j = 0; j < D; j++) s += (double)v[o * D + j] * T.x[b * D + j];
            for (int j = 0; j < D; j++) ref[j] += 2 * s * T.x[b * D + j];
            ref[D] += 2 * s;
        }
        for (int j = 0; j <= D; j++) {
            double got = j < D ? hv[o * D + j] : hv[K * D + o];
            e2 += (got - ref[j]) * (got - ref[j]);
            r2 += ref[j] * ref[j];
        }
    }
    ck_assert_msg(sqrt(e2 / r2) < 1e-6, "least squares H v: relative error %g", sqrt(e2 / r2));
    free(v);
    free(hv);
    tnet_free(&T);
}
END_TEST

/* One output (K = 1): H = 2 A^T A itself, 13 x 13 with distinct eigenvalues
 * (with K outputs each would appear K times, which a single-vector Krylov
 * method resolves only through rounding). */
START_TEST(least_squares_eigenvalues)
{
    enum { D = 12, B = 40 };
    tnet T;
    tnet_make(&T, "mlp:12-1", "none", (ns_shape){D, 1, 1}, 1, NS_LOSS_SQUARED_SUM, B, 1);
    const size_t n = T.n->nparams;
    tnet_begin(&T, NS_MODE_TRAIN);
    double AtA[(D + 1) * (D + 1)] = {0}, ev[D + 1];
    for (int b = 0; b < B; b++)
        for (int i = 0; i <= D; i++)
            for (int j = 0; j <= D; j++)
                AtA[i * (D + 1) + j] += 2.0 * (i < D ? T.x[b * D + i] : 1.0) *
                                        (j < D ? T.x[b * D + j] : 1.0);
    ck_assert_int_eq(ns_jacobi_eig(D + 1, AtA, ev, NULL), NS_OK);
    ns_linop op = ns_hvp_linop(T.h);
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, n, 13), NS_OK);
    ns_spectrum_config cfg = {.k = 3, .steps = 13, .tol = 1e-6, .residuals = 1};
    ns_spectrum_out out;
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 3, 0, &out), NS_OK);
    for (int t = 0; t < 3; t++) {
        ns_assert_close(out.top[t].lambda, ev[D - t], 1e-6);
        ck_assert(out.top[t].converged);
    }
    ns_assert_close(out.min.lambda, ev[0], 1e-6);
    ck_assert(out.min.converged);
    ns_lanczos_ws_free(&ws);
    tnet_free(&T);
}
END_TEST

/* ---------------------------------------------------------------- formed H */

/* H column by column (n products), symmetric to rounding; its dense
 * eigenvalues vs Lanczos; tr H vs Hutchinson and SLQ. */
static void formed_hessian(const char *norm, ns_mode mode)
{
    tnet T;
    tnet_make(&T, "mlp:8-16-6", norm, (ns_shape){8, 1, 1}, 6, NS_LOSS_SOFTMAX_CE, 16, 4);
    const int n = (int)T.n->nparams;
    tnet_begin(&T, mode);
    double *H = malloc(sizeof(double) * n * n), *ev = malloc(sizeof(double) * n);
    float *e = calloc(n, sizeof(float)), *col = malloc(n * sizeof(float));
    double asym = 0, norm2 = 0, tr = 0;
    for (int j = 0; j < n; j++) {
        e[j] = 1;
        ck_assert_int_eq(ns_hvp_apply(T.h, e, col), NS_OK);
        e[j] = 0;
        for (int i = 0; i < n; i++) H[i * n + j] = col[i];
    }
    for (int i = 0; i < n; i++) {
        tr += H[i * n + i];
        for (int j = 0; j < n; j++) {
            asym = fmax(asym, fabs(H[i * n + j] - H[j * n + i]));
            norm2 = fmax(norm2, fabs(H[i * n + j]));
        }
    }
    ck_assert_msg(asym <= 1e-5 * norm2, "%s: H not symmetric: %g vs max |H| %g", norm, asym, norm2);
    for (int i = 0; i < n; i++) /* symmetrize the rounding away for the reference */
        for (int j = 0; j < i; j++) H[i * n + j] = H[j * n + i] = (H[i * n + j] + H[j * n + i]) / 2;
    ck_assert_int_eq(ns_jacobi_eig(n, H, ev, NULL), NS_OK);
    ns_linop op = ns_hvp_linop(T.h);
    ns_lanczos_ws ws;
    ck_assert_int_eq(ns_lanczos_ws_alloc(&ws, (size_t)n, 80), NS_OK);
    ns_spectrum_config cfg = {.k = 2, .steps = 80, .tol = 1e-5, .residuals = 1};
    ns_spectrum_out out;
    ck_assert_int_eq(ns_curv_spectrum(&op, &ws, &cfg, NULL, 5, 0, &out), NS_OK);
    const double scale = fmax(fabs(ev[0]), fabs(ev[n - 1]));
    ns_assert_close_abs(out.top[0].lambda, ev[n - 1], 1e-5, scale);
    ns_assert_close_abs(out.min.lambda, ev[0], 1e-5, scale);
    ck_assert_msg(out.top[0].converged, "%s: top residual %g", norm, out.top[0].residual);
    /* Hutchinson: unbiased, within 5 standard errors; SLQ's mean first moment
     * n * sum tau theta is the same estimator on its own probes */
    double t, se;
    ck_assert_int_eq(ns_curv_hutchinson(&op, e, col, 30, 5, 0, &t, &se), NS_OK);
    ck_assert_msg(fabs(t - tr) <= 5 * se + 1e-6 * fabs(tr), "%s: Hutchinson %g +- %g vs tr %g", norm,
                  t, se, tr);
    enum { NV = 4, M = 12 };
    double nodes[NV * M], weights[NV * M], sm = 0;
    ck_assert_int_eq(ns_curv_slq(&op, &ws, NV, M, 5, 0, nodes, weights), NS_OK);
    for (int i = 0; i < NV * M; i++)
        if (weights[i] > 0) sm += n * weights[i] * nodes[i] / NV;
    ck_assert_msg(fabs(sm - tr) <= 0.5 * fabs(tr) + 6 * se, "%s: SLQ trace %g vs %g", norm, sm, tr);
    for (int i = 0; i < NV * M; i++) /* quadrature nodes lie in the spectrum */
        if (weights[i] > 0) ck_assert(nodes[i] >= ev[0] - 1e-4 * scale && nodes[i] <= ev[n - 1] + 1e-4 * scale);
    ns_lanczos_ws_free(&ws);
    free(H);
    free(ev);
    free(e);
    free(col);
    tnet_free(&T);
}

START_TEST(formed_hessian_vs_lanczos)
{
    const char *norms[4] = {"none", "batch", "layer", "l2"};
    formed_hessian(norms[_i / 2], _i % 2 ? NS_MODE_EVAL : NS_MODE_TRAIN);
}
END_TEST

/* ---------------------------------------------------------------- FD and symmetry */

static const struct { const char *arch; ns_shape in; int nout; ns_loss_kind loss; int batch; } nets[] = {
    {"mlp:10-16-12-4", {10, 1, 1}, 4, NS_LOSS_SOFTMAX_CE, 12},
    {"dln:depth=4,width=6", {6, 1, 1}, 6, NS_LOSS_SQUARED_SUM, 10},
    {"vgg11:width=0.0625", {3, 8, 8}, 5, NS_LOSS_SOFTMAX_CE, 4},
};
static const char *const all_norms[] = {"none", "batch", "noisy_batch", "l1", "l2", "linf", "layer",
                                        "group:groups=2"};
enum { NNETS = 3, NNORMS = 8 };

/* FD (ns_fd_hvp_err) vs exact at direction v, step h: asserts agreement to
 * the reported error; returns that error relative to |H u|. */
static double fd_try(tnet *T, const float *w, const float *v, double h, const char *what)
{
    const size_t n = T->n->nparams;
    float *u = malloc(n * sizeof(float)), *hu = malloc(n * sizeof(float));
    float *fd = malloc(n * sizeof(float)), *scr = malloc(n * sizeof(float));
    double err;
    ck_assert_int_eq(ns_fd_hvp_err(&T->obj, &T->ws, w, v, h, fd, u, scr, &err), NS_OK);
    memcpy(T->n->params, w, n * sizeof(float));
    tnet_begin(T, T->mode);
    ck_assert_int_eq(ns_hvp_apply(T->h, u, hu), NS_OK);
    double d2 = 0, h2 = dot(hu, hu, n);
    for (size_t i = 0; i < n; i++) d2 += ((double)fd[i] - hu[i]) * ((double)fd[i] - hu[i]);
    if (getenv("NS_TEST_VERBOSE"))
        fprintf(stderr, "%s h %.2g: |H u| %.4g, |FD - H u| %.3g, FD reports %.3g\n", what, h,
                sqrt(h2), sqrt(d2), err);
    ck_assert_msg(sqrt(h2) > 0 && isfinite(h2), "%s: |H u| = %g", what, sqrt(h2));
    ck_assert_msg(sqrt(d2) <= err + 1e-5 * sqrt(h2),
                  "%s: |FD - exact| = %g > the %g the FD reports (|Hu| %g, h %g)", what, sqrt(d2),
                  err, sqrt(h2), h);
    free(u);
    free(hu);
    free(fd);
    free(scr);
    return err / sqrt(h2);
}

/* On every try the FD agrees with the exact product to the error it reports.
 * A kink (ReLU, max-pool, l1, linf) crossed within the step makes that error
 * large; among 12 directions and two steps at least one must be smooth enough
 * for the FD to be informative (2% of |H u|), so the agreement is a real
 * check on every net. Then v^T H u = u^T H v. */
START_TEST(fd_and_symmetry_every_norm)
{
    const int k = _i / (2 * NNORMS), norm = (_i / 2) % NNORMS;
    tnet T;
    tnet_make(&T, nets[k].arch, all_norms[norm], nets[k].in, nets[k].nout, nets[k].loss,
              nets[k].batch, 7 + k);
    T.mode = _i % 2 ? NS_MODE_EVAL : NS_MODE_TRAIN;
    const size_t n = T.n->nparams;
    float *w = malloc(n * sizeof(float)), *v = malloc(n * sizeof(float));
    float *hv = malloc(n * sizeof(float)), *hu = malloc(n * sizeof(float));
    memcpy(w, T.n->params, n * sizeof(float));
    char what[96];
    snprintf(what, sizeof what, "%s %s %s", nets[k].arch, all_norms[norm],
             T.mode ? "eval" : "train");
    double best = INFINITY;
    for (int t = 0; t < 20 && best > 0.02; t++) {
        random_vec(v, n, 3 + t % 12, 2);
        double vn = sqrt(dot(v, v, n));
        for (size_t i = 0; i < n; i++) v[i] /= (float)vn;
        const double h = (t < 12 ? 1e-3 : 1e-4) * fmax(sqrt(dot(w, w, n)), 1.0);
        best = fmin(best, fd_try(&T, w, v, h, what));
    }
    ck_assert_msg(best <= 0.02, "%s: no direction where the FD is informative (best %g)", what,
                  best);
    /* symmetry, on the last direction: v^T H u = u^T H v with u = H v's v, exact products */
    ck_assert_int_eq(ns_hvp_apply(T.h, v, hv), NS_OK);
    random_vec(w, n, 99, 5); /* a second direction */
    ck_assert_int_eq(ns_hvp_apply(T.h, w, hu), NS_OK);
    double a = dot(w, hv, n), b = dot(v, hu, n);
    double scale = sqrt(dot(hv, hv, n)) * sqrt(dot(w, w, n));
    ck_assert_msg(fabs(a - b) <= 1e-5 * scale, "%s: w'Hv %.9g v'Hw %.9g", what, a, b);
    free(w);
    free(v);
    free(hv);
    free(hu);
    tnet_free(&T);
}
END_TEST

/* ---------------------------------------------------------------- blocks and states */

START_TEST(block_equals_restricted_full_product)
{
    tnet T;
    tnet_make(&T, "vgg11:width=0.0625", "batch", (ns_shape){3, 8, 8}, 5, NS_LOSS_SOFTMAX_CE, 4, 3);
    const size_t n = T.n->nparams;
    tnet_begin(&T, NS_MODE_TRAIN);
    float *v = malloc(n * sizeof(float)), *vb = calloc(n, sizeof(float));
    float *full = malloc(n * sizeof(float)), *blk = malloc(n * sizeof(float));
    random_vec(v, n, 5, 3);
    for (int w = 0; w < T.n->nweights; w++) {
        const ns_weight_slice *s = &T.n->weights[w];
        /* the weight alone (cuts the layer: bias left out), then weight + bias + next norm */
        for (int variant = 0; variant < 2; variant++) {
            size_t lo = s->off, hi = variant ? s->off + s->len : s->off + s->wlen;
            if (variant && hi < n) hi += T.n->layers[s->layer + 1].nparams;
            memset(vb, 0, n * sizeof(float));
            memcpy(vb + lo, v + lo, (hi - lo) * sizeof(float));
            for (size_t i = 0; i < n; i++) blk[i] = 12345.0f;
            ck_assert_int_eq(ns_hvp_apply(T.h, vb, full), NS_OK);
            ck_assert_int_eq(ns_hvp_apply_block(T.h, v, blk, lo, hi), NS_OK);
            double d2 = 0, f2 = 0;
            for (size_t i = lo; i < hi; i++) {
                d2 += ((double)blk[i] - full[i]) * ((double)blk[i] - full[i]);
                f2 += (double)full[i] * full[i];
            }
            ck_assert_msg(sqrt(d2) <= 1e-6 * sqrt(f2), "layer %s [%zu,%zu): %g vs %g", s->name, lo,
                          hi, sqrt(d2), sqrt(f2));
            for (size_t i = 0; i < n; i++)
                if (i < lo || i >= hi) ck_assert_float_eq(blk[i], 12345.0f);
        }
    }
    /* the same product twice: the same bits (no state carried between products) */
    ck_assert_int_eq(ns_hvp_apply(T.h, v, full), NS_OK);
    ck_assert_int_eq(ns_hvp_apply(T.h, v, blk), NS_OK);
    ck_assert(memcmp(full, blk, n * sizeof(float)) == 0);
    ck_assert_int_eq(ns_hvp_apply_block(T.h, v, blk, 5, 5), NS_ERR_ARG);
    ck_assert_int_eq(ns_hvp_apply_block(T.h, v, blk, 0, n + 1), NS_ERR_ARG);
    ck_assert_int_eq(ns_hvp_count(T.h), 4L * T.n->nweights + 2);
    free(v);
    free(vb);
    free(full);
    free(blk);
    tnet_free(&T);
}
END_TEST

START_TEST(stale_base_and_missing_noise)
{
    tnet T;
    tnet_make(&T, "mlp:10-16-4", "noisy_batch", (ns_shape){10, 1, 1}, 4, NS_LOSS_SOFTMAX_CE, 8, 2);
    const size_t n = T.n->nparams;
    float *v = calloc(n, sizeof(float)), *hv = malloc(n * sizeof(float));
    ck_assert_int_eq(ns_hvp_apply(T.h, v, hv), NS_ERR_STATE); /* no begin yet */
    tnet_begin(&T, NS_MODE_TRAIN);
    ck_assert_int_eq(ns_hvp_apply(T.h, v, hv), NS_OK);
    ck_assert_int_eq(ns_hvp_apply(T.h, v, v), NS_ERR_ARG); /* aliased */
    ns_pass p = {NS_MODE_EVAL, 0, 0, NULL};
    ns_net_forward(T.n, T.x, T.y, T.t, T.batch, &p, NULL);
    ck_assert_int_eq(ns_hvp_apply(T.h, v, hv), NS_ERR_STATE);
    /* the last noise draw was for batch 8: batch 5 has none */
    ck_assert_int_eq(ns_hvp_begin(T.h, T.x, T.y, T.t, 5, NS_MODE_TRAIN, NULL), NS_ERR_STATE);
    ck_assert_int_eq(ns_hvp_begin(T.h, T.x, T.y, T.t, 5, NS_MODE_EVAL, NULL), NS_OK);
    ck_assert_int_eq(ns_hvp_begin(T.h, T.x, NULL, T.t, 5, NS_MODE_EVAL, NULL), NS_ERR_ARG);
    ck_assert_int_eq(ns_hvp_begin(T.h, T.x, T.y, T.t, 9, NS_MODE_EVAL, NULL), NS_ERR_ARG);
    free(v);
    free(hv);
    tnet_free(&T);
}
END_TEST

/* The base pass and the products leave running statistics, the noise stream
 * and the noise draw exactly as they were (probes never perturb training). */
START_TEST(hvp_leaves_training_state_alone)
{
    tnet T;
    tnet_make(&T, "vgg11:width=0.0625", "noisy_batch", (ns_shape){3, 8, 8}, 5,
              NS_LOSS_SOFTMAX_CE, 4, 6);
    const size_t n = T.n->nparams, ns = T.n->nstate;
    float *state = malloc(ns * sizeof(float)), *params = malloc(n * sizeof(float));
    memcpy(state, T.n->state, ns * sizeof(float));
    memcpy(params, T.n->params, n * sizeof(float));
    ns_rng_pos pos = ns_rng_tell(&T.n->noise);
    float *v = malloc(n * sizeof(float)), *hv = malloc(n * sizeof(float));
    random_vec(v, n, 1, 1);
    for (int m = 0; m < 2; m++) {
        tnet_begin(&T, m ? NS_MODE_EVAL : NS_MODE_TRAIN);
        ck_assert_int_eq(ns_hvp_apply(T.h, v, hv), NS_OK);
    }
    ck_assert(memcmp(state, T.n->state, ns * sizeof(float)) == 0);
    ck_assert(memcmp(params, T.n->params, n * sizeof(float)) == 0);
    ns_rng_pos now = ns_rng_tell(&T.n->noise);
    ck_assert(now.counter == pos.counter && now.used == pos.used);
    free(state);
    free(params);
    free(v);
    free(hv);
    tnet_free(&T);
}
END_TEST

static Suite *hvp_suite(void)
{
    Suite *s = suite_create("hvp_net");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, least_squares_closed_form);
    tcase_add_test(tc, least_squares_eigenvalues);
    tcase_add_loop_test(tc, formed_hessian_vs_lanczos, 0, 8);
    tcase_add_loop_test(tc, fd_and_symmetry_every_norm, 0, NNETS * NNORMS * 2);
    tcase_add_test(tc, block_equals_restricted_full_product);
    tcase_add_test(tc, stale_base_and_missing_noise);
    tcase_add_test(tc, hvp_leaves_training_state_alone);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(hvp_suite(), argc, argv); }
