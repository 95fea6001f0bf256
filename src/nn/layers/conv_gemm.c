/* conv_gemm.c - convolution as im2col + sgemm over TILES of images (the gemm
 * algorithm of conv_impl.h), with the plan's lowering and dX strategy.
 *
 * Why tiles: one image's column matrix cols[K = cin*k*k][P = ho*wo] keeps the
 * GEMM in cache (peers.md: per-image im2col beats one huge batch buffer), but
 * deep VGG layers have tiny maps (P = 4, 16) where a per-image GEMM is too
 * narrow to run fast. So T images share one GEMM (conv.c picks T):
 *   cols[K][T*P]   column t*P + p = image t, output pixel p
 *   Y[cout][T*P] = W[cout][K] cols            (forward; T = 1 writes NCHW directly)
 *   dW += dY cols^T,  db += row sums of dY,   dcols = W^T dY -> col2im -> dX
 * Backward recomputes cols instead of storing them for the whole batch.
 *
 * Scratch (one call): cols [nch*k*k][T*P], ybuf [rows][T*P] when T > 1, the
 * lowering's scratch, and the flip dX's rotated kernel. nch is cin, or
 * max(cin, cout) when dX is by the flip (which lowers dY's cout channels);
 * ybuf rows are cout, or max(cin, cout) with the flip (its GEMM writes cin). */
#include "conv_impl.h"

#include <cblas.h>
#include <string.h>

size_t conv_no_bytes(const conv_geom *g, int nch_max)
{
    (void)g, (void)nch_max;
    return 0;
}

/* Sum of a row in 16 float lanes combined in a fixed order: vectorizes (one
 * serial chain of adds was 2.5% of a VGG-11/4 step) and gives the same bits on
 * every clone. */
NS_HOT float conv_row_sum(const float *restrict r, int n)
{
    float acc[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int q = 0; q < 16; q++) acc[q] += r[i + q];
    for (int q = 0; i < n; i++, q++) acc[q] += r[i];
    float t = 0.0f;
    for (int q = 0; q < 16; q++) t += acc[q];
    return t;
}

typedef struct gemm_bufs {
    float *cols, *ybuf, *wflip;
    void *lower; /* the lowering's scratch */
} gemm_bufs;

static int max_int(int a, int b) { return a > b ? a : b; }

/* Channels lowered at most at once (see the header comment). */
static int lowered_channels(const conv_priv *c)
{
    return c->plan.dx_by_flip ? max_int(c->g.cin, c->g.cout) : c->g.cin;
}

/* The scratch layout; with scratch == NULL only its size. */
static size_t gemm_layout(const conv_priv *c, void *scratch, gemm_bufs *b)
{
    const conv_geom *g = &c->g;
    const size_t cols = (size_t)g->T * g->P * sizeof(float);
    const int rows = c->plan.dx_by_flip ? max_int(g->cin, g->cout) : g->cout;
    const size_t size[4] = {
        conv_align((size_t)lowered_channels(c) * g->k * g->k * cols),
        g->T > 1 ? conv_align((size_t)rows * cols) : 0,
        conv_align(c->plan.lower->scratch(g, lowered_channels(c))),
        c->plan.dx_by_flip ? conv_flip_scratch(g) : 0,
    };
    if (scratch) {
        char *s = scratch;
        b->cols = (float *)(void *)s;
        b->ybuf = (float *)(void *)(s + size[0]);
        b->lower = s + size[0] + size[1];
        b->wflip = (float *)(void *)(s + size[0] + size[1] + size[2]);
    }
    return size[0] + size[1] + size[2] + size[3];
}

static size_t gemm_scratch(const conv_priv *c) { return gemm_layout(c, NULL, NULL); }

void conv_tile_gemm(const conv_geom *g, const float *Wm, int M, int Kin, const float *bias,
                    int tb, const float *cols, float *ybuf, float *out)
{
    const int P = g->P, N = tb * P;
    float *y = tb == 1 ? out : ybuf;
    if (bias)
        for (int m = 0; m < M; m++) {
            float *r = y + (size_t)m * N;
            for (int i = 0; i < N; i++) r[i] = bias[m];
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, Kin, 1.0f, Wm, Kin, cols, N,
                bias ? 1.0f : 0.0f, y, N);
    if (tb > 1)
        for (int t = 0; t < tb; t++)
            for (int m = 0; m < M; m++)
                memcpy(out + ((size_t)t * M + m) * P, y + (size_t)m * N + t * P,
                       (size_t)P * sizeof *out);
}

static void gemm_forward(const conv_priv *c, void *scratch, const float *w, const float *bias,
                         float *y, const float *x, int batch)
{
    const conv_geom *g = &c->g;
    const size_t in_sz = (size_t)g->cin * g->H * g->W, out_sz = (size_t)g->cout * g->P;
    gemm_bufs b;
    gemm_layout(c, scratch, &b);
    for (int b0 = 0; b0 < batch; b0 += g->T) {
        int tb = batch - b0 < g->T ? batch - b0 : g->T;
        c->plan.lower->forward(g, c->keep, x + b0 * in_sz, tb, g->cin, b.cols);
        conv_tile_gemm(g, w, g->cout, g->K, bias, tb, b.cols, b.ybuf, y + b0 * out_sz);
    }
}

/* dY of images [b0, b0+tb) as [cout][tb*P] (GEMM columns image-major): in
 * place when tb == 1, else copied into ybuf. */
static const float *dy_tile(const conv_geom *g, const float *dy, int b0, int tb, float *ybuf)
{
    const int P = g->P, N = tb * P, CO = g->cout;
    const size_t out_sz = (size_t)CO * P;
    if (tb == 1) return dy + b0 * out_sz;
    for (int t = 0; t < tb; t++)
        for (int co = 0; co < CO; co++)
            memcpy(ybuf + (size_t)co * N + t * P, dy + (b0 + t) * out_sz + (size_t)co * P,
                   (size_t)P * sizeof *ybuf);
    return ybuf;
}

static void gemm_backward(const conv_priv *c, void *scratch, const float *w, float *dw,
                          float *db, float *dx, const float *dy, const float *x, int batch)
{
    const conv_geom *g = &c->g;
    const int K = g->K, CO = g->cout;
    const size_t in_sz = (size_t)g->cin * g->H * g->W;
    const int adjoint = dx && !c->plan.dx_by_flip;
    gemm_bufs b;
    gemm_layout(c, scratch, &b);
    for (int b0 = 0; b0 < batch; b0 += g->T) {
        int tb = batch - b0 < g->T ? batch - b0 : g->T;
        int N = tb * g->P;
        const float *dyt = dy_tile(g, dy, b0, tb, b.ybuf);
        c->plan.lower->forward(g, c->keep, x + b0 * in_sz, tb, g->cin, b.cols);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, CO, K, N, 1.0f, dyt, N, b.cols, N,
                    b0 == 0 ? 0.0f : 1.0f, dw, K);
        if (db)
            for (int co = 0; co < CO; co++) db[co] += conv_row_sum(dyt + (size_t)co * N, N);
        if (adjoint) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, CO, 1.0f, w, K, dyt, N,
                        0.0f, b.cols, N);
            c->plan.lower->backward(g, c->keep, b.lower, b.cols, tb, dx + b0 * in_sz);
        }
    }
    if (dx && c->plan.dx_by_flip) conv_flip_dx(c, b.wflip, b.cols, b.ybuf, w, dy, dx, batch);
}

const conv_algo conv_algo_gemm = {"gemm", gemm_scratch, gemm_forward, gemm_backward};
