/* test_conv.c - the convolution's strategies (src/nn/layers/conv_impl.h), each
 * forced on every shape it applies to and checked against the direct
 * double-precision convolution (forward, dx, dw, bias gradient) and finite
 * differences; the automatic choice; the gather lowering's size limit (not an
 * out-of-memory error); weights read at call time (no cache to invalidate);
 * the scratch shared by all conv layers. */
#include "ns_test.h"
#include "conv_ref.h"
#include "gradcheck.h"
#include "nn/layers/layers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *rand_input(size_t n, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    ns_rng r;
    ns_rng_init(&r, seed, 5);
    for (size_t i = 0; i < n; i++) x[i] = ns_rng_range(&r, -1.0f, 1.0f);
    return x;
}

/* max |a - b| / max(max |b|, 1) */
static double max_rel(const float *a, const double *b, size_t n)
{
    double e = 0, m = 1;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
    }
    return e / m;
}

typedef struct conv_case {
    int c, h, w, co, k, s, p, batch;
} conv_case;

static const conv_case cases[] = {
    {3, 6, 6, 4, 3, 1, 1, 3},   /* "same", cout > cin, tiled (P = 36)               */
    {4, 6, 6, 3, 3, 1, 1, 3},   /* "same", cout < cin                               */
    {2, 24, 24, 3, 3, 1, 1, 2}, /* "same", one image per GEMM (P = 576)             */
    {3, 12, 12, 2, 3, 1, 1, 9}, /* "same", T = 4: batch 9 ends on a partial tile    */
    {2, 6, 5, 3, 5, 1, 2, 3},   /* 5x5 "same": 2 wrapped edge columns               */
    {3, 7, 5, 2, 3, 2, 1, 3},   /* stride 2, odd, non-square                        */
    {2, 5, 6, 3, 3, 1, 0, 2},   /* valid conv                                       */
    {2, 1, 1, 3, 3, 1, 1, 4},   /* 3x3/1/1 on a 1x1 map                             */
    {8, 4, 4, 8, 3, 1, 1, 70},  /* Winograd fits; gemm: 3 tiles of 32, last partial */
};

static const struct {
    const char *name;
    ns_conv_choice ch;
} strategies[] = {
    {"gemm/rows/adjoint", {NS_CONV_IM2COL, NS_CONV_LOWER_ROWS, NS_CONV_DX_ADJOINT}},
    {"gemm/rows/flip", {NS_CONV_IM2COL, NS_CONV_LOWER_ROWS, NS_CONV_DX_FLIP}},
    {"gemm/shift/adjoint", {NS_CONV_IM2COL, NS_CONV_LOWER_SHIFT, NS_CONV_DX_ADJOINT}},
    {"gemm/shift/flip", {NS_CONV_IM2COL, NS_CONV_LOWER_SHIFT, NS_CONV_DX_FLIP}},
    {"gemm/gather/adjoint", {NS_CONV_IM2COL, NS_CONV_LOWER_GATHER, NS_CONV_DX_ADJOINT}},
    {"gemm/gather/flip", {NS_CONV_IM2COL, NS_CONV_LOWER_GATHER, NS_CONV_DX_FLIP}},
    {"winograd", {NS_CONV_WINOGRAD, NS_CONV_LOWER_AUTO, NS_CONV_DX_AUTO}},
};
#define NSTRAT ((int)(sizeof strategies / sizeof strategies[0]))

static int is_same(const conv_case *c)
{
    return c->s == 1 && 2 * c->p == c->k - 1;
}

static int applies(const conv_case *c, ns_conv_choice ch)
{
    if (ch.algo == NS_CONV_WINOGRAD)
        return c->k == 3 && c->s == 1 && c->p == 1 && c->h % 2 == 0 && c->w % 2 == 0;
    if (ch.lower == NS_CONV_LOWER_SHIFT || ch.dx == NS_CONV_DX_FLIP) return is_same(c);
    return 1;
}

/* Forward, dx, dw and db against the direct conv in double, then finite
 * differences, for strategy _i % NSTRAT on case _i / NSTRAT. */
START_TEST(strategy_matches_direct)
{
    const conv_case *c = &cases[_i / NSTRAT];
    const int si = _i % NSTRAT, B = c->batch, CO = c->co;
    ns_shape in = {c->c, c->h, c->w};
    ns_layer l;
    ns_status st = ns_conv_create_with(&l, in, CO, c->k, c->s, c->p, 1, B, strategies[si].ch);
    if (!applies(c, strategies[si].ch)) {
        ck_assert_int_eq(st, NS_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(ns_error_msg(), "conv2d"));
        return;
    }
    ck_assert_msg(st == NS_OK, "%s: %s", strategies[si].name, ns_error_msg());
    char what[64];
    ck_assert_str_eq(ns_conv_describe(&l, what, sizeof what), strategies[si].name);
    snprintf(what, sizeof what, "case %d %s", _i / NSTRAT, strategies[si].name);

    gc_buffers b;
    gc_bind(&l, &b, 40 + (uint64_t)_i);
    const size_t nin = (size_t)B * ns_shape_size(in), nout = (size_t)B * ns_shape_size(l.out_shape);
    const size_t nw = (size_t)CO * c->c * c->k * c->k;
    float *x = rand_input(nin, 3), *dy = rand_input(nout, 4);
    float *y = malloc(nout * sizeof *y), *yr = malloc(nout * sizeof *yr), *dx = malloc(nin * sizeof *dx);
    double *yd = malloc(nout * sizeof *yd), *dxr = malloc(nin * sizeof *dxr),
           *dwr = malloc(nw * sizeof *dwr), *dbr = malloc((size_t)CO * sizeof *dbr);
    l.ops->forward(&l, y, x, B, NULL);
    conv_ref(x, l.w, l.w + nw, yr, B, c->c, c->h, c->w, CO, c->k, c->s, c->p);
    for (size_t i = 0; i < nout; i++) yd[i] = yr[i];
    l.ops->backward(&l, dx, dy, x, y, B);
    conv_ref_grad(x, l.w, dy, dxr, dwr, dbr, B, c->c, c->h, c->w, CO, c->k, c->s, c->p);
    double ey = max_rel(y, yd, nout), ex = max_rel(dx, dxr, nin), ew = max_rel(l.dw, dwr, nw),
           eb = max_rel(l.dw + nw, dbr, (size_t)CO);
    ck_assert_msg(ey < 2e-6 && ex < 2e-6 && ew < 2e-6 && eb < 2e-6,
                  "%s: rel err y %g dx %g dw %g db %g", what, ey, ex, ew, eb);
    /* layer 0 of a net passes din = NULL: the same dw */
    float *dw0 = malloc(l.nparams * sizeof *dw0);
    memcpy(dw0, l.dw, l.nparams * sizeof *dw0);
    l.ops->backward(&l, NULL, dy, x, y, B);
    ck_assert_msg(memcmp(dw0, l.dw, l.nparams * sizeof *dw0) == 0, "%s: dw without dx", what);
    int Bfd = B > 4 ? 4 : B;
    double efw, efx = gc_layer(&l, x, Bfd, 1e-2, 9, NULL, &efw);
    ck_assert_msg(efx < 1e-4 && efw < 1e-4, "%s: finite differences dx err %g dw err %g", what,
                  efx, efw);
    free(dw0);
    free(x), free(dy), free(y), free(yr), free(dx), free(yd), free(dxr), free(dwr), free(dbr);
    gc_free(&l, &b);
}
END_TEST

/* The lowerings only copy (im2col) and scatter-add in the same order
 * (col2im), so for one dX strategy every lowering that fits gives the same
 * bits: the gather threshold is a pure speed knob. */
START_TEST(lowerings_give_the_same_bits)
{
    const conv_case *c = &cases[_i];
    const int B = c->batch, same = is_same(c);
    ns_shape in = {c->c, c->h, c->w};
    const size_t nin = (size_t)B * ns_shape_size(in);
    float *x = rand_input(nin, 81), *dy = NULL, *ref[3] = {NULL, NULL, NULL};
    for (int dxs = NS_CONV_DX_ADJOINT; dxs <= (same ? NS_CONV_DX_FLIP : NS_CONV_DX_ADJOINT); dxs++)
        for (int lw = NS_CONV_LOWER_ROWS; lw <= NS_CONV_LOWER_GATHER; lw++) {
            if (lw == NS_CONV_LOWER_SHIFT && !same) continue;
            ns_layer l;
            ns_conv_choice ch = {NS_CONV_IM2COL, (ns_conv_lowering)lw, (ns_conv_dx)dxs};
            ck_assert_int_eq(ns_conv_create_with(&l, in, c->co, c->k, c->s, c->p, 1, B, ch), NS_OK);
            gc_buffers b;
            gc_bind(&l, &b, 82);
            const size_t nout = (size_t)B * ns_shape_size(l.out_shape), np = l.nparams;
            if (!dy) dy = rand_input(nout, 83);
            float *got[3] = {malloc(nout * 4), malloc(nin * 4), malloc(np * 4)};
            l.ops->forward(&l, got[0], x, B, NULL);
            l.ops->backward(&l, got[1], dy, x, got[0], B);
            memcpy(got[2], l.dw, np * 4);
            const size_t size[3] = {nout * 4, nin * 4, np * 4};
            for (int k = 0; k < 3; k++) {
                if (lw == NS_CONV_LOWER_ROWS) {
                    free(ref[k]);
                    ref[k] = got[k];
                    continue;
                }
                ck_assert_msg(memcmp(got[k], ref[k], size[k]) == 0,
                              "case %d dx %d: lowering %d differs from rows in output %d", _i, dxs,
                              lw, k);
                free(got[k]);
            }
            gc_free(&l, &b);
        }
    for (int k = 0; k < 3; k++) free(ref[k]);
    free(x), free(dy);
}
END_TEST

/* What ns_conv_create picks (conv.c's thresholds): VGG shapes and the rest. */
START_TEST(auto_choice)
{
    static const struct {
        conv_case c;
        const char *want;
    } t[] = {
        {{3, 32, 32, 16, 3, 1, 1, 128}, "gemm/shift/adjoint"},   /* first VGG conv: cin < 8  */
        {{16, 16, 16, 32, 3, 1, 1, 128}, "winograd"},            /* even maps, cin >= 8      */
        {{64, 5, 5, 64, 3, 1, 1, 128}, "gemm/gather/flip"},      /* odd small map, cout <= cin */
        {{32, 5, 5, 64, 3, 1, 1, 128}, "gemm/gather/adjoint"},   /* cout > cin               */
        {{64, 7, 7, 64, 3, 1, 1, 128}, "gemm/shift/flip"},       /* P = 49 above the gather's */
        {{16, 9, 9, 32, 3, 1, 1, 128}, "gemm/shift/adjoint"},
        {{3, 40, 40, 8, 3, 2, 1, 128}, "gemm/rows/adjoint"},     /* stride 2, P = 400        */
        {{3, 9, 9, 8, 3, 2, 1, 128}, "gemm/gather/adjoint"},     /* stride 2, P = 25         */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const conv_case *c = &t[i].c;
        ns_layer l;
        ns_shape in = {c->c, c->h, c->w};
        ck_assert_int_eq(ns_conv_create(&l, in, c->co, c->k, c->s, c->p, 1, c->batch), NS_OK);
        char d[64];
        ck_assert_msg(strcmp(ns_conv_describe(&l, d, sizeof d), t[i].want) == 0,
                      "shape %zu: %s, expected %s", i, d, t[i].want);
        l.ops->destroy(&l);
    }
}
END_TEST

/* A small output map (gather territory) behind a huge padded input: the
 * gather's padded tile would need 2 x 40 x 4001 x 4001 floats (5 GiB), past
 * its size limit. That used to fail as "out of memory for the column buffer"
 * (NS_ERR_NOMEM) whatever the memory; the conv now lowers another way and is
 * correct, and forcing the gather names the limit. */
START_TEST(gather_size_limit_is_not_out_of_memory)
{
    ns_layer l;
    ns_shape in = {40, 1, 1};
    const int CO = 2, k = 1, s = 1000, p = 2000, B = 2; /* output 5x5 */
    ns_status st = ns_conv_create(&l, in, CO, k, s, p, 1, B);
    ck_assert_msg(st == NS_OK, "%s", ns_error_msg());
    char d[64];
    ck_assert_str_eq(ns_conv_describe(&l, d, sizeof d), "gemm/rows/adjoint");
    ck_assert_int_eq(l.out_shape.h, 5);
    gc_buffers b;
    gc_bind(&l, &b, 51);
    const size_t nin = (size_t)B * 40, nout = (size_t)B * CO * 25, nw = (size_t)CO * 40;
    float *x = rand_input(nin, 52), *y = malloc(nout * sizeof *y), *yr = malloc(nout * sizeof *yr);
    l.ops->forward(&l, y, x, B, NULL);
    conv_ref(x, l.w, l.w + nw, yr, B, 40, 1, 1, CO, k, s, p);
    for (size_t i = 0; i < nout; i++) ns_assert_close_abs(y[i], yr[i], 1e-6, 1.0);
    double ew, ex = gc_layer(&l, x, B, 1e-2, 53, NULL, &ew);
    ck_assert_msg(ex < 1e-4 && ew < 1e-4, "dx err %g dw err %g", ex, ew);
    free(x), free(y), free(yr);
    gc_free(&l, &b);

    ns_conv_choice gather = {NS_CONV_IM2COL, NS_CONV_LOWER_GATHER, NS_CONV_DX_AUTO};
    ck_assert_int_eq(ns_conv_create_with(&l, in, CO, k, s, p, 1, B, gather), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "size limit"));
    ck_assert_ptr_null(strstr(ns_error_msg(), "memory"));
}
END_TEST

/* The R-op passes point l->w / l->dw at other buffers between calls: every
 * strategy must read them at call time. After switching to w2 and back to
 * w1, results are bitwise those of layers that only ever saw w2 or w1. */
START_TEST(weights_are_read_at_call_time)
{
    const conv_case *c = &cases[_i / NSTRAT];
    const int si = _i % NSTRAT, B = c->batch;
    if (!applies(c, strategies[si].ch)) return;
    ns_shape in = {c->c, c->h, c->w};
    ns_layer l, l2;
    ck_assert_int_eq(ns_conv_create_with(&l, in, c->co, c->k, c->s, c->p, 1, B, strategies[si].ch), NS_OK);
    ck_assert_int_eq(ns_conv_create_with(&l2, in, c->co, c->k, c->s, c->p, 1, B, strategies[si].ch), NS_OK);
    gc_buffers b1, b2;
    gc_bind(&l, &b1, 61);
    gc_bind(&l2, &b2, 62);
    const size_t nin = (size_t)B * ns_shape_size(in), nout = (size_t)B * ns_shape_size(l.out_shape);
    const size_t np = l.nparams;
    float *x = rand_input(nin, 63), *dy = rand_input(nout, 64);
    float *y[3], *dx[3], *dw[3];
    for (int r = 0; r < 3; r++) {
        y[r] = malloc(nout * sizeof(float));
        dx[r] = malloc(nin * sizeof(float));
        dw[r] = malloc(np * sizeof(float));
    }
    /* reference: l2 with its own w2 */
    l2.ops->forward(&l2, y[0], x, B, NULL);
    l2.ops->backward(&l2, dx[0], dy, x, y[0], B);
    memcpy(dw[0], l2.dw, np * sizeof(float));
    /* l: a pass with w1, then l's pointers swapped to l2's buffers */
    l.ops->forward(&l, y[1], x, B, NULL);
    l.ops->backward(&l, dx[1], dy, x, y[1], B);
    memcpy(dw[1], l.dw, np * sizeof(float));
    float *w1 = l.w, *dw1 = l.dw;
    l.w = l2.w;
    l.dw = l2.dw;
    l.ops->forward(&l, y[2], x, B, NULL);
    l.ops->backward(&l, dx[2], dy, x, y[2], B);
    memcpy(dw[2], l.dw, np * sizeof(float));
    ck_assert_msg(memcmp(y[2], y[0], nout * sizeof(float)) == 0, "%s: y after swap", strategies[si].name);
    ck_assert_msg(memcmp(dx[2], dx[0], nin * sizeof(float)) == 0, "%s: dx after swap", strategies[si].name);
    ck_assert_msg(memcmp(dw[2], dw[0], np * sizeof(float)) == 0, "%s: dw after swap", strategies[si].name);
    /* and back */
    l.w = w1;
    l.dw = dw1;
    l.ops->forward(&l, y[2], x, B, NULL);
    l.ops->backward(&l, dx[2], dy, x, y[2], B);
    ck_assert(memcmp(y[2], y[1], nout * sizeof(float)) == 0);
    ck_assert(memcmp(dx[2], dx[1], nin * sizeof(float)) == 0);
    ck_assert(memcmp(l.dw, dw[1], np * sizeof(float)) == 0);
    for (int r = 0; r < 3; r++) free(y[r]), free(dx[r]), free(dw[r]);
    free(x), free(dy);
    gc_free(&l, &b1);
    gc_free(&l2, &b2);
}
END_TEST

/* All conv layers share one scratch, grown when a larger layer is created
 * and kept until the last layer goes: a small layer gives the same bits
 * before and after a larger one came and went. */
START_TEST(shared_scratch_grows_and_outlives_layers)
{
    ns_layer small, big;
    ns_shape in = {4, 6, 6}, bin = {16, 24, 24};
    ck_assert_int_eq(ns_conv_create(&small, in, 4, 3, 1, 1, 1, 2), NS_OK);
    gc_buffers bs, bb;
    gc_bind(&small, &bs, 71);
    const size_t nin = 2 * 4 * 36, nout = nin;
    float *x = rand_input(nin, 72), *dy = rand_input(nout, 73);
    float *y0 = malloc(nout * sizeof *y0), *y1 = malloc(nout * sizeof *y1),
          *dx0 = malloc(nin * sizeof *dx0), *dx1 = malloc(nin * sizeof *dx1);
    small.ops->forward(&small, y0, x, 2, NULL);
    small.ops->backward(&small, dx0, dy, x, y0, 2);
    ck_assert_int_eq(ns_conv_create(&big, bin, 16, 3, 1, 1, 1, 64), NS_OK); /* grows it */
    gc_bind(&big, &bb, 74);
    small.ops->forward(&small, y1, x, 2, NULL);
    small.ops->backward(&small, dx1, dy, x, y1, 2);
    ck_assert(memcmp(y0, y1, nout * sizeof *y0) == 0 && memcmp(dx0, dx1, nin * sizeof *dx0) == 0);
    gc_free(&big, &bb);
    small.ops->forward(&small, y1, x, 2, NULL);
    small.ops->backward(&small, dx1, dy, x, y1, 2);
    ck_assert(memcmp(y0, y1, nout * sizeof *y0) == 0 && memcmp(dx0, dx1, nin * sizeof *dx0) == 0);
    free(x), free(dy), free(y0), free(y1), free(dx0), free(dx1);
    gc_free(&small, &bs);
}
END_TEST

static Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    int n = (int)(sizeof cases / sizeof cases[0]) * NSTRAT;
    tcase_add_loop_test(tc, strategy_matches_direct, 0, n);
    tcase_add_loop_test(tc, lowerings_give_the_same_bits, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, auto_choice);
    tcase_add_test(tc, gather_size_limit_is_not_out_of_memory);
    tcase_add_loop_test(tc, weights_are_read_at_call_time, 0, n);
    tcase_add_test(tc, shared_scratch_grows_and_outlives_layers);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(conv_suite(), argc, argv); }
