/* test_rop_layers.c - the R-ops (layer.h) of every layer against central
 * finite differences of its forward and backward (ropcheck.h): dense (own
 * R-ops), conv on every algorithm path (the bilinear composition of nn/rop.h),
 * max-pool, ReLU, identity; with rin and v given, and each absent. Then the
 * losses' R-ops against finite differences of their gradients. */
#include "ns_test.h"
#include "ropcheck.h"
#include "nn/layers/layers.h"
#include "normsweep/loss.h"

#include <stdio.h>

#define H_STEP 0.015625 /* 2^-6 */
#define TOL_ROP 1e-4
#define TOL_FD 1e-4

typedef struct bound {
    float *w, *dw, *state;
} bound;

/* Own flat buffers; weights on the 2^-10 grid in [-1, 1]. */
static void bind(ns_layer *l, bound *b, uint64_t seed)
{
    b->w = calloc(l->nparams + 1, sizeof(float));
    b->dw = calloc(l->nparams + 1, sizeof(float));
    b->state = calloc(l->nstate + 1, sizeof(float));
    l->w = b->w;
    l->dw = b->dw;
    l->state = b->state;
    ns_rng r;
    ns_rng_init(&r, seed, 11);
    rc_fill(l->w, l->nparams, &r, -1, 1, 10);
}

static void unbind(ns_layer *l, bound *b)
{
    if (l->ops->destroy) l->ops->destroy(l);
    free(b->w);
    free(b->dw);
    free(b->state);
}

/* Values with |x| in [0.125, 1] (away from ReLU's kink) on the grid. */
static void fill_away_from_zero(float *x, size_t n, ns_rng *r)
{
    for (size_t i = 0; i < n; i++) {
        float a = rc_grid(r, 0.125f, 1.0f, 10);
        x[i] = ns_rng_u32(r) & 1u ? a : -a;
    }
}

enum { HAVE_BOTH, NO_RIN, NO_V, NCOMBO };

/* Directions per combo, run the check, assert. */
static void check(ns_layer *l, const float *x, int batch, int combo, uint64_t seed, double h,
                  const char *what)
{
    const size_t nin = (size_t)batch * ns_shape_size(l->in_shape);
    float *rx = malloc(nin * sizeof(float)), *v = malloc((l->nparams + 1) * sizeof(float));
    ns_rng r;
    ns_rng_init(&r, seed, 21);
    rc_fill(rx, nin, &r, -1, 1, 12);
    rc_fill(v, l->nparams, &r, -1, 1, 12);
    const ns_pass pass = {NS_MODE_TRAIN, 0, 0, NULL};
    rc_errs e = rc_check(l, x, combo == NO_RIN ? NULL : rx, combo == NO_V || !l->nparams ? NULL : v,
                         batch, &pass, &pass, seed, h);
    const char *names[3] = {"out", "din", "dw"};
    if (getenv("NS_TEST_VERBOSE")) fprintf(stderr, "%s combo %d: rop %.2e %.2e %.2e fd %.2e %.2e %.2e\n", what, combo, e.rop[0], e.rop[1], e.rop[2], e.fd[0], e.fd[1], e.fd[2]);
    for (int k = 0; k < 3; k++) {
        if (e.rop[k] < 0) continue;
        ck_assert_msg(e.fd[k] < TOL_FD, "%s (combo %d) %s: finite differences disagree with "
                      "themselves: %g", what, combo, names[k], e.fd[k]);
        ck_assert_msg(e.rop[k] < TOL_ROP, "%s (combo %d) %s: R-op error %g (FD self-check %g)",
                      what, combo, names[k], e.rop[k], e.fd[k]);
    }
    free(rx);
    free(v);
}

START_TEST(dense_rop)
{
    for (int bias = 0; bias <= 1; bias++) {
        ns_layer l;
        ck_assert_int_eq(ns_dense_create(&l, (ns_shape){2, 3, 2}, 5, bias, 4), NS_OK);
        bound b;
        bind(&l, &b, 3);
        ns_rng r;
        ns_rng_init(&r, 5, 1);
        float x[48];
        rc_fill(x, 48, &r, -1, 1, 10);
        char what[32];
        snprintf(what, sizeof what, "dense bias=%d", bias);
        check(&l, x, 4, _i, 7, H_STEP, what);
        unbind(&l, &b);
    }
}
END_TEST

/* Every conv strategy (conv_impl.h): im2col with each lowering and each dX,
 * and Winograd; AUTO lets conv.c choose. */
#define IM(lower, dx) {NS_CONV_IM2COL, NS_CONV_LOWER_##lower, NS_CONV_DX_##dx}
#define AUTO {NS_CONV_AUTO, NS_CONV_LOWER_AUTO, NS_CONV_DX_AUTO}
#define WINO {NS_CONV_WINOGRAD, NS_CONV_LOWER_AUTO, NS_CONV_DX_AUTO}
static const struct { int c, h, w, co, k, s, p, batch; ns_conv_choice choice; } conv_cases[] = {
    {3, 6, 6, 4, 3, 1, 1, 3, IM(ROWS, ADJOINT)},  /* tiled GEMM */
    {3, 6, 6, 4, 3, 1, 1, 3, IM(GATHER, ADJOINT)},
    {4, 6, 6, 3, 3, 1, 1, 3, IM(SHIFT, FLIP)},    /* "same": rotated-kernel dX */
    {4, 6, 6, 3, 3, 1, 1, 3, IM(GATHER, FLIP)},
    {2, 24, 24, 3, 3, 1, 1, 2, IM(SHIFT, ADJOINT)}, /* one image per GEMM */
    {3, 7, 5, 2, 3, 2, 1, 3, IM(ROWS, ADJOINT)},  /* stride 2, odd, non-square */
    {2, 5, 5, 3, 1, 1, 0, 2, AUTO},               /* 1x1 */
    {2, 5, 6, 3, 3, 1, 0, 2, AUTO},               /* valid conv */
    {8, 8, 8, 6, 3, 1, 1, 3, WINO},
    {2, 4, 4, 3, 3, 1, 1, 2, WINO},
    {8, 4, 4, 8, 3, 1, 1, 2, AUTO},
};

START_TEST(conv_rop)
{
    const int i = _i / NCOMBO, combo = _i % NCOMBO;
    ns_layer l;
    ns_shape in = {conv_cases[i].c, conv_cases[i].h, conv_cases[i].w};
    ck_assert_msg(ns_conv_create_with(&l, in, conv_cases[i].co, conv_cases[i].k, conv_cases[i].s,
                                      conv_cases[i].p, 1, conv_cases[i].batch,
                                      conv_cases[i].choice) == NS_OK,
                  "case %d: %s", i, ns_error_msg());
    ck_assert_ptr_null(l.ops->r_forward); /* conv gets the bilinear composition */
    bound b;
    bind(&l, &b, 30 + i);
    size_t nin = (size_t)conv_cases[i].batch * ns_shape_size(in);
    float *x = malloc(nin * sizeof(float));
    ns_rng r;
    ns_rng_init(&r, 40 + i, 1);
    rc_fill(x, nin, &r, -1, 1, 10);
    char what[64], how[32];
    snprintf(what, sizeof what, "conv case %d (%s)", i, ns_conv_describe(&l, how, sizeof how));
    check(&l, x, conv_cases[i].batch, combo, 50 + i, H_STEP, what);
    free(x);
    unbind(&l, &b);
}
END_TEST

START_TEST(maxpool_rop)
{
    /* even and odd maps; all values distinct, 2^-7 apart, |x| < 2 (displaced
     * points exact at both steps), and a small step
     * (|e rx| <= 2^-9): every winner stays the winner at the displaced points.
     * Max-pool is piecewise linear, so the small step costs no truncation. */
    const ns_shape shapes[2] = {{2, 4, 6}, {3, 5, 7}};
    ns_layer l;
    ck_assert_int_eq(ns_maxpool2_create(&l, shapes[_i], 3), NS_OK);
    bound b;
    bind(&l, &b, 1);
    size_t n = 3 * ns_shape_size(shapes[_i]);
    float *x = malloc(n * sizeof(float));
    uint32_t *perm = malloc(n * sizeof(uint32_t));
    ns_rng r;
    ns_rng_init(&r, 9, 2);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    ns_rng_shuffle(&r, perm, (uint32_t)n);
    for (size_t i = 0; i < n; i++) x[i] = 0.0078125f * (float)perm[i] - 1.25f;
    check(&l, x, 3, HAVE_BOTH, 3 + _i, 1.0 / 1024, "maxpool2");
    free(perm);
    free(x);
    unbind(&l, &b);
}
END_TEST

START_TEST(relu_and_identity_rop)
{
    ns_layer l;
    ns_shape s = {3, 2, 5};
    ns_rng r;
    ns_rng_init(&r, 4, 3);
    float x[60];
    fill_away_from_zero(x, 60, &r);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(k ? ns_identity_create(&l, s, 2) : ns_relu_create(&l, s, 2), NS_OK);
        bound b;
        bind(&l, &b, 1);
        check(&l, x, 2, HAVE_BOTH, 8, H_STEP, k ? "identity" : "relu");
        unbind(&l, &b);
    }
}
END_TEST

/* The R-op of a layer with no input direction and no parameter direction is 0. */
START_TEST(zero_direction_gives_zero)
{
    ns_layer l;
    ck_assert_int_eq(ns_conv_create(&l, (ns_shape){2, 4, 4}, 3, 3, 1, 1, 1, 2), NS_OK);
    bound b;
    bind(&l, &b, 2);
    float x[64], out[96], rout[96], g[96], dx[64], rdx[64], rdw[64];
    ns_rng r;
    ns_rng_init(&r, 1, 1);
    rc_fill(x, 64, &r, -1, 1, 10);
    rc_fill(g, 96, &r, -1, 1, 10);
    l.ops->forward(&l, out, x, 2, NULL);
    l.ops->backward(&l, dx, g, x, out, 2);
    float scratch[256];
    ck_assert_uint_le(ns_rop_scratch_size(&l, 2), 256);
    ns_bilinear_r_forward(&l, rout, NULL, NULL, x, out, 2, scratch);
    for (int i = 0; i < 96; i++) ck_assert_float_eq(rout[i], 0.0f);
    float zero[96] = {0};
    ns_bilinear_r_backward(&l, rdx, rdw, zero, g, NULL, NULL, x, out, 2, scratch);
    for (int i = 0; i < 64; i++) ck_assert_float_eq(rdx[i], 0.0f);
    for (size_t i = 0; i < l.nparams; i++) ck_assert_float_eq(rdw[i], 0.0f);
    unbind(&l, &b);
}
END_TEST

/* ---------------------------------------------------------------- losses */

/* rdz vs the 5-point difference of dL/dz along rz. */
static double loss_rop_err(int ce, double *fd_err)
{
    enum { B = 5, K = 4 };
    float z[B * K], rz[B * K], t[B * K], rdz[B * K], dz[B * K], ze[B * K];
    int32_t y[B] = {0, 3, 1, 1, 2};
    ns_rng r;
    ns_rng_init(&r, 77, 1);
    rc_fill(z, B * K, &r, -2, 2, 10);
    rc_fill(rz, B * K, &r, -1, 1, 12);
    rc_fill(t, B * K, &r, -1, 1, 10);
    if (ce) ns_loss_softmax_ce_r(z, rz, B, K, rdz);
    else ns_loss_squared_sum_r(rz, B, K, rdz);
    double fd[2][B * K] = {{0}};
    for (int s = 0; s < 2; s++) {
        const double h = H_STEP / (1 << s), es[4] = {h, -h, 2 * h, -2 * h}, cs[4] = {8, -8, -1, 1};
        for (int j = 0; j < 4; j++) {
            for (int i = 0; i < B * K; i++) ze[i] = z[i] + (float)es[j] * rz[i];
            if (ce) ns_loss_softmax_ce(ze, y, B, K, dz, NULL);
            else ns_loss_squared_sum(ze, t, B, K, dz);
            for (int i = 0; i < B * K; i++) fd[s][i] += cs[j] / (12 * h) * dz[i];
        }
    }
    double d = 0, n = 0, dd = 0;
    for (int i = 0; i < B * K; i++) {
        d += (fd[0][i] - rdz[i]) * (fd[0][i] - rdz[i]);
        dd += (fd[0][i] - fd[1][i]) * (fd[0][i] - fd[1][i]);
        n += fd[0][i] * fd[0][i];
    }
    *fd_err = sqrt(dd / n);
    return sqrt(d / n);
}

START_TEST(loss_rop)
{
    double efd, e = loss_rop_err(_i, &efd);
    ck_assert_msg(efd < TOL_FD && e < TOL_ROP, "%s: R-op error %g, FD self-check %g",
                  _i ? "cross-entropy" : "squared error", e, efd);
}
END_TEST

static Suite *rop_suite(void)
{
    Suite *s = suite_create("rop_layers");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, dense_rop, 0, NCOMBO);
    int nconv = (int)(sizeof conv_cases / sizeof conv_cases[0]);
    tcase_add_loop_test(tc, conv_rop, 0, nconv * NCOMBO);
    tcase_add_loop_test(tc, maxpool_rop, 0, 2);
    tcase_add_test(tc, relu_and_identity_rop);
    tcase_add_test(tc, zero_direction_gives_zero);
    tcase_add_loop_test(tc, loss_rop, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(rop_suite(), argc, argv); }
