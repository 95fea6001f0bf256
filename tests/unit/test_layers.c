/* test_layers.c - every engine layer against finite differences and, where a
 * closed form is easy, against a direct reference computation:
 * dense, conv2d (several kernel/stride/padding combos, single-image and tiled
 * GEMMs; Winograd F(2x2,3x3) against both), maxpool2, relu, identity. */
#include "ns_test.h"
#include "conv_ref.h"
#include "gradcheck.h"
#include "nn/layers/layers.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *rand_input(size_t n, uint64_t seed, float lo, float hi)
{
    float *x = malloc(n * sizeof *x);
    ns_rng r;
    ns_rng_init(&r, seed, 5);
    for (size_t i = 0; i < n; i++) x[i] = ns_rng_range(&r, lo, hi);
    return x;
}

/* bind buffers, random input in [-1, 1), finite-difference check of dx and dw, free */
static void check_layer(ns_layer *l, int batch, uint64_t seed, const char *what)
{
    gc_buffers b;
    gc_bind(l, &b, seed);
    float *x = rand_input((size_t)batch * ns_shape_size(l->in_shape), seed + 1, -1, 1);
    double ew, ex = gc_layer(l, x, batch, 1e-2, seed + 2, NULL, &ew);
    ck_assert_msg(ex < 1e-4 && ew < 1e-4, "%s: dx err %g dw err %g", what, ex, ew);
    free(x);
    gc_free(l, &b);
}

/* ---------------------------------------------------------------- dense */

START_TEST(dense_known_values)
{
    /* W = [[1,2,3],[4,5,6]], b = [0.5,-1], x = [1,0,-1] -> y = [-1.5, -3] */
    ns_layer l;
    ns_shape in = {3, 1, 1};
    ck_assert_int_eq(ns_dense_create(&l, in, 2, 1, 4), NS_OK);
    ck_assert_int_eq((int)l.nparams, 8);
    float w[8] = {1, 2, 3, 4, 5, 6, 0.5f, -1}, dw[8], x[3] = {1, 0, -1}, y[2];
    l.w = w;
    l.dw = dw;
    l.ops->forward(&l, y, x, 1, NULL);
    ck_assert_float_eq(y[0], -1.5f);
    ck_assert_float_eq(y[1], -3.0f);
    /* dy = [1, 2]: dW = dy x^T, db = dy, dx = W^T dy = [9, 12, 15] */
    float dy[2] = {1, 2}, dx[3];
    l.ops->backward(&l, dx, dy, x, y, 1);
    float ew[8] = {1, 0, -1, 2, 0, -2, 1, 2}, ex[3] = {9, 12, 15};
    for (int i = 0; i < 8; i++) ck_assert_float_eq(dw[i], ew[i]);
    for (int i = 0; i < 3; i++) ck_assert_float_eq(dx[i], ex[i]);
    ck_assert_str_eq(l.views[0].suffix, "weight");
    ck_assert_int_eq(l.views[0].dims[0], 2);
    ck_assert_int_eq(l.views[0].dims[1], 3);
    ck_assert_int_eq((int)l.views[1].offset, 6);
    l.ops->destroy(&l);
}
END_TEST

START_TEST(dense_gradcheck)
{
    for (int bias = 0; bias <= 1; bias++) {
        ns_layer l;
        ns_shape in = {2, 3, 2}; /* flattened: 12 features */
        ck_assert_int_eq(ns_dense_create(&l, in, 5, bias, 4), NS_OK);
        check_layer(&l, 4, 3, bias ? "dense with bias" : "dense without bias");
    }
}
END_TEST

START_TEST(dense_bad_args)
{
    ns_layer l;
    ns_shape in = {3, 1, 1};
    ck_assert_int_eq(ns_dense_create(&l, in, 0, 1, 4), NS_ERR_ARG);
    ns_shape empty = {0, 1, 1};
    ck_assert_int_eq(ns_dense_create(&l, empty, 3, 1, 4), NS_ERR_ARG);
}
END_TEST

/* ---------------------------------------------------------------- conv */

static const struct { int c, h, w, co, k, s, p, batch; } conv_cases[] = {
    {3, 6, 6, 4, 3, 1, 1, 3},   /* the VGG case, tiled (P = 36 < 512) */
    {2, 24, 24, 3, 3, 1, 1, 2}, /* VGG case, one image per GEMM (P = 576) */
    {3, 7, 5, 2, 3, 2, 1, 3},   /* stride 2, odd, non-square */
    {2, 5, 5, 3, 1, 1, 0, 2},   /* 1x1 */
    {2, 8, 8, 2, 5, 2, 2, 2},   /* 5x5 stride 2 pad 2 */
    {1, 6, 6, 2, 2, 2, 0, 3},   /* 2x2 stride 2 no pad */
    {2, 5, 6, 3, 3, 1, 0, 2},   /* valid conv */
    {2, 1, 1, 3, 3, 1, 1, 4},   /* 3x3/1/1 on a 1x1 map */
    {2, 3, 3, 2, 3, 3, 2, 2},   /* stride 3 pad 2 */
    {2, 6, 5, 3, 5, 1, 2, 3},   /* 5x5 "same": shifted-copy im2col with 2 edge columns */
    {1, 3, 2, 2, 5, 1, 2, 2},   /* 5x5 "same" on a map narrower than the kernel */
    /* "same" with cout <= cin: backward dX as a forward conv of dY (rotated kernel) */
    {4, 6, 6, 3, 3, 1, 1, 3},   /* gather path, tiled */
    {3, 12, 12, 2, 3, 1, 1, 2}, /* shifted-copy path, 2 images per tile (P = 144) */
    {3, 24, 24, 3, 3, 1, 1, 2}, /* shifted-copy path, one image per GEMM */
    {4, 6, 5, 2, 5, 1, 2, 3},   /* 5x5 "same", 2 edge columns, gather path */
    {3, 1, 1, 3, 3, 1, 1, 4},   /* 3x3/1/1 on a 1x1 map */
};

START_TEST(conv_matches_direct)
{
    int i = _i;
    int C = conv_cases[i].c, H = conv_cases[i].h, W = conv_cases[i].w, CO = conv_cases[i].co,
        k = conv_cases[i].k, s = conv_cases[i].s, p = conv_cases[i].p, B = conv_cases[i].batch;
    ns_layer l;
    ns_shape in = {C, H, W};
    ck_assert_int_eq(ns_conv_create(&l, in, CO, k, s, p, 1, B), NS_OK);
    gc_buffers b;
    gc_bind(&l, &b, 7);
    size_t nin = (size_t)B * C * H * W, nout = (size_t)B * ns_shape_size(l.out_shape);
    float *x = rand_input(nin, 2, -1, 1), *y = malloc(nout * sizeof *y),
          *yr = malloc(nout * sizeof *yr);
    l.ops->forward(&l, y, x, B, NULL);
    conv_ref(x, l.w, l.w + (size_t)CO * C * k * k, yr, B, C, H, W, CO, k, s, p);
    for (size_t j = 0; j < nout; j++) ns_assert_close_abs(y[j], yr[j], 1e-5, 1.0); /* abs 1e-5 below 1 */
    free(x);
    free(y);
    free(yr);
    gc_free(&l, &b);
}
END_TEST

START_TEST(conv_gradcheck)
{
    int i = _i;
    ns_layer l;
    ns_shape in = {conv_cases[i].c, conv_cases[i].h, conv_cases[i].w};
    int B = conv_cases[i].batch;
    ck_assert_int_eq(ns_conv_create(&l, in, conv_cases[i].co, conv_cases[i].k, conv_cases[i].s,
                                    conv_cases[i].p, 1, B),
                     NS_OK);
    char what[32];
    snprintf(what, sizeof what, "conv case %d", i);
    check_layer(&l, B, 9, what);
}
END_TEST

START_TEST(conv_smaller_batch_than_max)
{
    /* tile T = min(ceil(512/P), max_batch); a batch that is not a multiple of T */
    ns_layer l;
    ns_shape in = {2, 4, 4};
    ck_assert_int_eq(ns_conv_create(&l, in, 3, 3, 1, 1, 1, 8), NS_OK);
    check_layer(&l, 5, 5, "conv, batch 5 of 8");
}
END_TEST

START_TEST(conv_bad_args)
{
    ns_layer l;
    ns_shape in = {2, 2, 2};
    ck_assert_int_eq(ns_conv_create(&l, in, 3, 5, 1, 0, 1, 2), NS_ERR_ARG); /* kernel > input */
    ck_assert_int_eq(ns_conv_create(&l, in, 3, 3, 0, 1, 1, 2), NS_ERR_ARG); /* stride 0 */
    ck_assert_int_eq(ns_conv_create(&l, in, 0, 3, 1, 1, 1, 2), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "conv2d"));
}
END_TEST

/* ------------------------------------------------- conv, Winograd F(2x2,3x3) */

/* 3x3/1/1 convs on even maps: {cin, H, W, cout, batch}. 130 images of 4x4 (4
 * tiles each) make two chunks of the 512-tile GEMM width, the last partial. */
static const struct { int c, h, w, co, batch; } wino_cases[] = {
    {3, 2, 2, 4, 3},   /* one tile per image: every patch entry is padding or data */
    {4, 6, 4, 3, 2},   /* non-square, 3x2 tiles */
    {8, 8, 8, 16, 5},  /* the VGG-11/4 8x8 shape class */
    {2, 4, 4, 3, 130}, /* two chunks, last one partial */
    {1, 16, 16, 2, 2}, /* 64 tiles per image, cin 1 */
};

/* max |a - b| / max(max |b|, 1) */
static double max_rel(const float *a, const float *b, size_t n)
{
    double e = 0, m = 1;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return e / m;
}

/* Forward against the direct double-precision conv; dx and dw (and the bias
 * gradient) against the im2col layer given the same dy. */
START_TEST(wino_matches_direct_and_im2col)
{
    int i = _i;
    const int C = wino_cases[i].c, H = wino_cases[i].h, W = wino_cases[i].w,
              CO = wino_cases[i].co, B = wino_cases[i].batch;
    ns_shape in = {C, H, W};
    ns_layer lw, li;
    ck_assert_int_eq(ns_conv_create_algo(&lw, in, CO, 3, 1, 1, 1, B, NS_CONV_WINOGRAD), NS_OK);
    ck_assert_int_eq(ns_conv_create_algo(&li, in, CO, 3, 1, 1, 1, B, NS_CONV_IM2COL), NS_OK);
    gc_buffers bw, bi;
    gc_bind(&lw, &bw, 11);
    gc_bind(&li, &bi, 11);
    const size_t np = lw.nparams, nin = (size_t)B * C * H * W, nout = (size_t)B * CO * H * W;
    float *bias = lw.w + (size_t)CO * C * 9;
    for (int co = 0; co < CO; co++) bias[co] = 0.1f * (float)(co + 1); /* init leaves it 0 */
    memcpy(li.w, lw.w, np * sizeof(float));
    float *x = rand_input(nin, 12, -1, 1), *dy = rand_input(nout, 13, -1, 1);
    float *y = malloc(nout * sizeof *y), *yr = malloc(nout * sizeof *yr),
          *yi = malloc(nout * sizeof *yi), *dxw = malloc(nin * sizeof *dxw),
          *dxi = malloc(nin * sizeof *dxi);
    lw.ops->forward(&lw, y, x, B, NULL);
    li.ops->forward(&li, yi, x, B, NULL);
    conv_ref(x, lw.w, bias, yr, B, C, H, W, CO, 3, 1, 1);
    double ey = max_rel(y, yr, nout);
    ck_assert_msg(ey < 2e-6, "case %d: forward vs direct rel err %g", i, ey);
    lw.ops->backward(&lw, dxw, dy, x, y, B);
    li.ops->backward(&li, dxi, dy, x, yi, B);
    double ex = max_rel(dxw, dxi, nin), ew = max_rel(lw.dw, li.dw, np);
    ck_assert_msg(ex < 2e-6 && ew < 2e-6, "case %d: dx rel err %g, dw rel err %g", i, ex, ew);
    /* layer 0 of a net passes din = NULL: dw must not change */
    float *dw0 = malloc(np * sizeof *dw0);
    memcpy(dw0, lw.dw, np * sizeof *dw0);
    lw.ops->backward(&lw, NULL, dy, x, y, B);
    ck_assert_int_eq(memcmp(dw0, lw.dw, np * sizeof *dw0), 0);
    free(dw0);
    free(x);
    free(dy);
    free(y);
    free(yr);
    free(yi);
    free(dxw);
    free(dxi);
    gc_free(&lw, &bw);
    gc_free(&li, &bi);
}
END_TEST

START_TEST(wino_gradcheck)
{
    int i = _i;
    ns_layer l;
    ns_shape in = {wino_cases[i].c, wino_cases[i].h, wino_cases[i].w};
    int B = wino_cases[i].batch > 4 ? 4 : wino_cases[i].batch;
    ck_assert_int_eq(ns_conv_create_algo(&l, in, wino_cases[i].co, 3, 1, 1, 1, B, NS_CONV_WINOGRAD),
                     NS_OK);
    char what[40];
    snprintf(what, sizeof what, "winograd case %d", i);
    check_layer(&l, B, 21, what);
}
END_TEST

/* Same bits on a second run (fixed summation order, no state carried over). */
START_TEST(wino_deterministic)
{
    ns_layer l;
    ns_shape in = {8, 8, 8};
    ck_assert_int_eq(ns_conv_create_algo(&l, in, 16, 3, 1, 1, 1, 3, NS_CONV_WINOGRAD), NS_OK);
    gc_buffers b;
    gc_bind(&l, &b, 31);
    const size_t nin = 3 * 8 * 64, nout = 3 * 16 * 64;
    float *x = rand_input(nin, 32, -1, 1), *dy = rand_input(nout, 33, -1, 1);
    float *y[2], *dx[2], *dw[2];
    for (int r = 0; r < 2; r++) {
        y[r] = malloc(nout * sizeof(float));
        dx[r] = malloc(nin * sizeof(float));
        dw[r] = malloc(l.nparams * sizeof(float));
        l.ops->forward(&l, y[r], x, 3, NULL);
        l.ops->backward(&l, dx[r], dy, x, y[r], 3);
        memcpy(dw[r], l.dw, l.nparams * sizeof(float));
    }
    ck_assert_int_eq(memcmp(y[0], y[1], nout * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(dx[0], dx[1], nin * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(dw[0], dw[1], l.nparams * sizeof(float)), 0);
    for (int r = 0; r < 2; r++) {
        free(y[r]);
        free(dx[r]);
        free(dw[r]);
    }
    free(x);
    free(dy);
    gc_free(&l, &b);
}
END_TEST

START_TEST(wino_rejects_unfit)
{
    ns_layer l;
    ns_shape odd = {2, 5, 4}, even = {2, 4, 4};
    ck_assert_int_eq(ns_conv_create_algo(&l, odd, 3, 3, 1, 1, 1, 2, NS_CONV_WINOGRAD), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "Winograd"));
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "5x4"));
    ck_assert_int_eq(ns_conv_create_algo(&l, even, 3, 3, 2, 1, 1, 2, NS_CONV_WINOGRAD), NS_ERR_ARG);
    ck_assert_int_eq(ns_conv_create_algo(&l, even, 3, 5, 1, 2, 1, 2, NS_CONV_WINOGRAD), NS_ERR_ARG);
    ck_assert_int_eq(ns_conv_create_algo(&l, even, 3, 3, 1, 0, 1, 2, NS_CONV_WINOGRAD), NS_ERR_ARG);
}
END_TEST

/* ---------------------------------------------------------------- pool, relu */

/* distinct values spaced >= 0.05 apart in random order: no ties, no kinks for h = 1e-2 */
static float *spaced_input(size_t n, uint64_t seed)
{
    uint32_t *idx = malloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
    ns_rng r;
    ns_rng_init(&r, seed, 6);
    ns_rng_shuffle(&r, idx, (uint32_t)n);
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = 0.05f * ((float)idx[i] - (float)n / 2) + 0.025f;
    free(idx);
    return x;
}

START_TEST(maxpool_known_values)
{
    ns_layer l;
    ns_shape in = {1, 3, 5}; /* floor: output 1x2, last row/col dropped */
    ck_assert_int_eq(ns_maxpool2_create(&l, in, 1), NS_OK);
    ck_assert_int_eq(l.out_shape.h, 1);
    ck_assert_int_eq(l.out_shape.w, 2);
    float x[15] = {1, 9, 2, 3, 100, 4, 5, 8, 6, 100, 100, 100, 100, 100, 100}, y[2];
    l.ops->forward(&l, y, x, 1, NULL);
    ck_assert_float_eq(y[0], 9);
    ck_assert_float_eq(y[1], 8);
    float dy[2] = {10, 20}, dx[15];
    l.ops->backward(&l, dx, dy, x, y, 1);
    for (int i = 0; i < 15; i++) ck_assert_float_eq(dx[i], i == 1 ? 10 : i == 7 ? 20 : 0);
    l.ops->destroy(&l);
}
END_TEST

START_TEST(maxpool_ties_nan_and_wide_rows)
{
    /* 2 planes of 2x40 (Wo = 20: vector body and scalar remainder of the row
     * kernels): window w holds a tie (first wins), a NaN (propagates, takes
     * the gradient) or distinct values, cycling; dx is pre-filled with junk
     * to show backward writes every input */
    ns_layer l;
    ns_shape in = {2, 2, 40};
    ck_assert_int_eq(ns_maxpool2_create(&l, in, 1), NS_OK);
    float x[160], y[40], dy[40], dx[160];
    for (int q = 0; q < 2; q++)
        for (int w = 0; w < 20; w++) {
            float *r0 = x + q * 80 + 2 * w, *r1 = r0 + 40;
            int kind = (w + q) % 3;
            r0[0] = 1.0f; r0[1] = kind == 0 ? 5.0f : 2.0f;
            r1[0] = kind == 1 ? NAN : 5.0f;
            r1[1] = kind == 2 ? 7.0f : 5.0f;
        }
    for (int i = 0; i < 40; i++) dy[i] = (float)(i + 1);
    for (int i = 0; i < 160; i++) dx[i] = -123.0f;
    l.ops->forward(&l, y, x, 1, NULL);
    l.ops->backward(&l, dx, dy, x, y, 1);
    for (int q = 0; q < 2; q++)
        for (int w = 0; w < 20; w++) {
            int kind = (w + q) % 3, o = q * 20 + w;
            /* winner offset inside the plane: (row, col) */
            int wr = kind == 0 ? 0 : 1, wc = kind == 0 ? 1 : kind == 1 ? 0 : 1;
            if (kind == 1) ck_assert(isnan(y[o]));
            else ck_assert_float_eq(y[o], kind == 0 ? 5.0f : 7.0f);
            for (int r = 0; r < 2; r++)
                for (int c = 0; c < 2; c++) {
                    float g = dx[q * 80 + r * 40 + 2 * w + c];
                    ck_assert_float_eq(g, r == wr && c == wc ? dy[o] : 0.0f);
                }
        }
    l.ops->destroy(&l);
}
END_TEST

/* Reference winner of one window by torch's rule (v > m or v is NaN). */
static int pool_ref_winner(const float v[4])
{
    int k = 0;
    for (int q = 1; q < 4; q++)
        if (v[q] > v[k] || isnan(v[q])) k = q;
    return k;
}

START_TEST(maxpool_narrow_maps_match_reference)
{
    /* 2x2, 4x4 and 8x8 maps have compile-time-width kernels; values drawn from
     * 5 levels (many ties) with NaNs sprinkled in */
    for (int w = 2; w <= 8; w *= 2) {
        ns_layer l;
        ns_shape in = {3, w, w};
        const int B = 2, n = B * 3 * w * w, no = n / 4;
        ck_assert_int_eq(ns_maxpool2_create(&l, in, B), NS_OK);
        float *x = malloc(n * sizeof *x), *dx = malloc(n * sizeof *dx);
        float *y = malloc(no * sizeof *y), *dy = malloc(no * sizeof *dy);
        ns_rng r;
        ns_rng_init(&r, 42 + w, 3);
        for (int i = 0; i < n; i++)
            x[i] = ns_rng_below(&r, 23) == 0 ? NAN : (float)ns_rng_below(&r, 5);
        for (int i = 0; i < no; i++) dy[i] = (float)(i + 1);
        l.ops->forward(&l, y, x, B, NULL);
        l.ops->backward(&l, dx, dy, x, y, B);
        const int ho = w / 2;
        for (int q = 0; q < B * 3; q++)
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < ho; ox++) {
                    const float *p0 = x + (size_t)q * w * w + 2 * oy * w + 2 * ox;
                    float v[4] = {p0[0], p0[1], p0[w], p0[w + 1]};
                    int k = pool_ref_winner(v), o = (q * ho + oy) * ho + ox;
                    if (isnan(v[k])) ck_assert(isnan(y[o]));
                    else ck_assert_float_eq(y[o], v[k]);
                    float *d0 = dx + (size_t)q * w * w + 2 * oy * w + 2 * ox;
                    float got[4] = {d0[0], d0[1], d0[w], d0[w + 1]};
                    for (int j = 0; j < 4; j++) ck_assert_float_eq(got[j], j == k ? dy[o] : 0.0f);
                }
        free(x);
        free(dx);
        free(y);
        free(dy);
        l.ops->destroy(&l);
    }
}
END_TEST

START_TEST(maxpool_gradcheck)
{
    ns_shape shapes[2] = {{3, 4, 6}, {2, 5, 7}};
    for (int s = 0; s < 2; s++) {
        ns_layer l;
        ck_assert_int_eq(ns_maxpool2_create(&l, shapes[s], 3), NS_OK);
        gc_buffers b;
        gc_bind(&l, &b, 1);
        float *x = spaced_input(3 * ns_shape_size(shapes[s]), 8 + s);
        double ex = gc_layer(&l, x, 3, 1e-2, 19, NULL, NULL);
        ck_assert_msg(ex < 1e-4, "shape %d: dx err %g", s, ex);
        free(x);
        gc_free(&l, &b);
    }
    ns_layer l;
    ns_shape tiny = {2, 1, 1};
    ck_assert_int_eq(ns_maxpool2_create(&l, tiny, 3), NS_ERR_ARG);
}
END_TEST

START_TEST(relu_values_and_gradcheck)
{
    ns_layer l;
    ns_shape in = {2, 3, 3};
    ck_assert_int_eq(ns_relu_create(&l, in, 4), NS_OK);
    float x[18], y[18], dy[18], dx[18];
    for (int i = 0; i < 18; i++) {
        x[i] = (float)(i - 9);
        dy[i] = 1.0f + i;
    }
    l.ops->forward(&l, y, x, 1, NULL);
    l.ops->backward(&l, dx, dy, x, y, 1);
    for (int i = 0; i < 18; i++) {
        ck_assert_float_eq(y[i], i > 9 ? (float)(i - 9) : 0.0f);
        ck_assert_float_eq(dx[i], i > 9 ? dy[i] : 0.0f); /* x = 0 gets gradient 0 */
    }
    gc_buffers b;
    gc_bind(&l, &b, 1);
    float *xs = spaced_input(4 * 18, 3);
    double ex = gc_layer(&l, xs, 4, 1e-2, 23, NULL, NULL);
    ck_assert_msg(ex < 1e-4, "dx err %g", ex);
    free(xs);
    gc_free(&l, &b);
}
END_TEST

START_TEST(identity_passes_through)
{
    ns_layer l;
    ns_shape in = {5, 1, 1};
    ck_assert_int_eq(ns_identity_create(&l, in, 2), NS_OK);
    float x[10], y[10], dx[10];
    for (int i = 0; i < 10; i++) x[i] = (float)i * 0.5f - 2;
    l.ops->forward(&l, y, x, 2, NULL);
    l.ops->backward(&l, dx, x, x, y, 2);
    for (int i = 0; i < 10; i++) {
        ck_assert_float_eq(y[i], x[i]);
        ck_assert_float_eq(dx[i], x[i]);
    }
}
END_TEST

static Suite *layers_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, dense_known_values);
    tcase_add_test(tc, dense_gradcheck);
    tcase_add_test(tc, dense_bad_args);
    int nconv = (int)(sizeof conv_cases / sizeof conv_cases[0]);
    tcase_add_loop_test(tc, conv_matches_direct, 0, nconv);
    tcase_add_loop_test(tc, conv_gradcheck, 0, nconv);
    tcase_add_test(tc, conv_smaller_batch_than_max);
    tcase_add_test(tc, conv_bad_args);
    int nwino = (int)(sizeof wino_cases / sizeof wino_cases[0]);
    tcase_add_loop_test(tc, wino_matches_direct_and_im2col, 0, nwino);
    tcase_add_loop_test(tc, wino_gradcheck, 0, nwino);
    tcase_add_test(tc, wino_deterministic);
    tcase_add_test(tc, wino_rejects_unfit);
    tcase_add_test(tc, maxpool_known_values);
    tcase_add_test(tc, maxpool_gradcheck);
    tcase_add_test(tc, maxpool_ties_nan_and_wide_rows);
    tcase_add_test(tc, maxpool_narrow_maps_match_reference);
    tcase_add_test(tc, relu_values_and_gradcheck);
    tcase_add_test(tc, identity_passes_through);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(layers_suite(), argc, argv); }
