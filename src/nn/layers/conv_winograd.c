/* conv_winograd.c - 3x3 / stride 1 / pad 1 convolution by Winograd F(2x2, 3x3)
 * (Lavin & Gray 2015), forward and its exact backward.
 *
 * Each 2x2 block of outputs ("tile") is computed from the 4x4 input patch
 * around it (pad 1, so patch rows 2ty-1 .. 2ty+2):
 *   Y_tile = A^T [ U (.) V ] A,   U = G w G^T (4x4),  V = B^T d B (4x4)
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * Summed over input channels, element (i,j) of the 4x4 products is a GEMM:
 *   M[ij][co][t] = sum_ci U[ij][co][ci] V[ij][ci][t]      (16 GEMMs)
 * so the multiply count is 16/36 of the direct 3x3 conv's (2.25x fewer).
 *
 * Backward is the chain rule through those three steps (not a separate
 * Winograd of the transposed problem), so dw and dx are the exact gradients
 * of what forward computed:
 *   dM_tile = A dY_tile A^T
 *   dU[ij]  = sum_t dM[ij][.][t] V[ij][.][t]^T   ->  dw = G^T dU G
 *   dV[ij]  = U[ij]^T dM[ij]                     ->  dx += B dV B^T per tile
 * Tiles overlap by 2 rows/columns in x, so dx is a scatter-add into a padded
 * plane, in a fixed order (deterministic).
 *
 * Scratch (one call; conv_impl.h), per chunk of IB images (n = IB * tiles
 * per image GEMM columns): U and dU [16][cout][cin], V[16][cin][n],
 * M[16][cout][n] and one padded plane. Nothing is kept between calls: U is
 * rebuilt from w by every forward and by every backward that computes dx. */
#include "conv_impl.h"

#include <cblas.h>
#include <string.h>

/* Target GEMM width (tiles) per chunk: the 16 GEMMs are [cout x cin] x
 * [cin x n], n = images per chunk x tiles per image ~ this. The origin of 512
 * is not recorded (commit 767c5c6 took the im2col tile width). Measured on 2
 * cores, 2026-12-04, VGG-11/4 CIFAR cpu_ms_per_step (method: conv.c), at load
 * 12-18: 256 84.8 -> 81.6 / 103.7 -> 95.7 ms (1.04x / 1.08x faster), 1024
 * 91.3 -> 97.7 / 107.9 -> 119.5 (0.93x / 0.90x). Kept at 512: the chunk size
 * changes dw's summation order, so results would change in the last bits,
 * and the gain of 256 was measured under heavy load (smaller chunks suffer
 * less from a shared cache); re-measure on a quiet machine before moving it. */
#ifndef NS_WINO_TILES
#define NS_WINO_TILES 512
#endif

/* Distance between the 16 planes of U/dU, V, M is the plane size plus this
 * skew (floats, 5 cache lines): the transforms touch all 16 planes at once,
 * and plane sizes of 2^k bytes put those 16 streams into one L1 set. Measured
 * (VGG-11/4 + BN, commit 767c5c6): 105 ms per step without the skew, 50.4 ms
 * with it (the transforms had taken 3x the GEMMs' time). */
#define NS_WINO_SKEW 80

/* One call's view of a layer: tile counts and the scratch's planes. */
typedef struct wino {
    int cin, cout, H, W;
    int th, tw, tpi; /* tiles per column, per row, per image */
    int ib;          /* images per chunk                      */
    float *U, *dU;   /* [16][cout][cin]                       */
    float *V, *M;    /* [16][cin][n], [16][cout][n]           */
    float *pad;      /* one padded plane (H+2) x (W+2)        */
    size_t us, vs, ms; /* plane distances of U/dU, V, M       */
} wino;

int conv_winograd_fits(const conv_geom *g)
{
    return g->k == 3 && g->s == 1 && g->p == 1 && g->H >= 2 && g->W >= 2 && g->H % 2 == 0 &&
           g->W % 2 == 0;
}

/* The view of g; with scratch == NULL the planes stay NULL. Returns the
 * floats of scratch it needs. */
static size_t wino_of(const conv_geom *g, void *scratch, wino *v)
{
    *v = (wino){.cin = g->cin, .cout = g->cout, .H = g->H, .W = g->W};
    v->th = g->H / 2;
    v->tw = g->W / 2;
    v->tpi = v->th * v->tw;
    v->ib = (NS_WINO_TILES + v->tpi - 1) / v->tpi;
    if (v->ib > g->max_batch) v->ib = g->max_batch;
    const size_t n = (size_t)v->ib * v->tpi;
    v->us = (size_t)g->cout * g->cin + NS_WINO_SKEW;
    v->vs = (size_t)g->cin * n + NS_WINO_SKEW;
    v->ms = (size_t)g->cout * n + NS_WINO_SKEW;
    if (scratch) {
        v->U = scratch;
        v->dU = v->U + 16 * v->us;
        v->V = v->dU + 16 * v->us;
        v->M = v->V + 16 * v->vs;
        v->pad = v->M + 16 * v->ms;
        /* the input transform relies on a zero border */
        memset(v->pad, 0, (size_t)(g->H + 2) * (g->W + 2) * sizeof *v->pad);
    }
    return 16 * (2 * v->us + v->vs + v->ms) + (size_t)(g->H + 2) * (g->W + 2);
}

static size_t wino_scratch(const conv_priv *c)
{
    wino v;
    return wino_of(&c->g, NULL, &v) * sizeof(float);
}

/* U[ij][co][ci] = (G w[co][ci] G^T)[i][j] */
static void weight_transform(wino *g, const float *w)
{
    const int CO = g->cout, CI = g->cin;
    const size_t plane = g->us;
    for (int co = 0; co < CO; co++)
        for (int ci = 0; ci < CI; ci++) {
            const float *f = w + ((size_t)co * CI + ci) * 9;
            float t[4][3]; /* G f */
            for (int c = 0; c < 3; c++) {
                float a = f[c], b = f[3 + c], d = f[6 + c];
                t[0][c] = a;
                t[1][c] = 0.5f * (a + b + d);
                t[2][c] = 0.5f * (a - b + d);
                t[3][c] = d;
            }
            float *u = g->U + (size_t)co * CI + ci;
            for (int i = 0; i < 4; i++) {
                float a = t[i][0], b = t[i][1], d = t[i][2];
                u[(4 * i + 0) * plane] = a;
                u[(4 * i + 1) * plane] = 0.5f * (a + b + d);
                u[(4 * i + 2) * plane] = 0.5f * (a - b + d);
                u[(4 * i + 3) * plane] = d;
            }
        }
}

/* dw[co][ci] = G^T dU[.][co][ci] G (3x3) */
static void weight_grad_transform(const wino *g, float *dw)
{
    const int CO = g->cout, CI = g->cin;
    const size_t plane = g->us;
    for (int co = 0; co < CO; co++)
        for (int ci = 0; ci < CI; ci++) {
            const float *u = g->dU + (size_t)co * CI + ci;
            float t[4][3]; /* dU G, row by row */
            for (int i = 0; i < 4; i++) {
                float a = u[(4 * i + 0) * plane], b = u[(4 * i + 1) * plane],
                      c = u[(4 * i + 2) * plane], d = u[(4 * i + 3) * plane];
                t[i][0] = a + 0.5f * (b + c);
                t[i][1] = 0.5f * (b - c);
                t[i][2] = 0.5f * (b + c) + d;
            }
            float *f = dw + ((size_t)co * CI + ci) * 9;
            for (int c = 0; c < 3; c++) {
                float a = t[0][c], b = t[1][c], e = t[2][c], d = t[3][c];
                f[c] = a + 0.5f * (b + e);
                f[3 + c] = 0.5f * (b - e);
                f[6 + c] = 0.5f * (b + e) + d;
            }
        }
}

/* V[ij][ci][t] for images x[0..nb) of a chunk; n = nb * tpi columns. */
NS_HOT static void input_transform(wino *g, const float *x, int nb, int n)
{
    const int CI = g->cin, H = g->H, W = g->W, Wp = W + 2, tw = g->tw, th = g->th;
    const size_t plane = g->vs;
    float *restrict pad = g->pad;
    for (int b = 0; b < nb; b++)
        for (int ci = 0; ci < CI; ci++) {
            const float *src = x + ((size_t)b * CI + ci) * H * W;
            for (int y = 0; y < H; y++)
                memcpy(pad + (size_t)(y + 1) * Wp + 1, src + (size_t)y * W, (size_t)W * sizeof *pad);
            float *restrict v = g->V + (size_t)ci * n + (size_t)b * g->tpi;
            for (int ty = 0; ty < th; ty++)
                for (int tx = 0; tx < tw; tx++) {
                    const float *d = pad + (size_t)(2 * ty) * Wp + 2 * tx;
                    float c[4][4]; /* B^T d */
                    for (int j = 0; j < 4; j++) {
                        float d0 = d[j], d1 = d[Wp + j], d2 = d[2 * Wp + j], d3 = d[3 * Wp + j];
                        c[0][j] = d0 - d2;
                        c[1][j] = d1 + d2;
                        c[2][j] = d2 - d1;
                        c[3][j] = d1 - d3;
                    }
                    const int t = ty * tw + tx;
                    for (int i = 0; i < 4; i++) {
                        v[(4 * i + 0) * plane + t] = c[i][0] - c[i][2];
                        v[(4 * i + 1) * plane + t] = c[i][1] + c[i][2];
                        v[(4 * i + 2) * plane + t] = c[i][2] - c[i][1];
                        v[(4 * i + 3) * plane + t] = c[i][1] - c[i][3];
                    }
                }
        }
}

/* y (images of the chunk) = A^T M A per tile, plus bias. */
NS_HOT static void output_transform(const wino *g, const float *bias, float *y, int nb, int n)
{
    const int CO = g->cout, H = g->H, W = g->W, tw = g->tw, th = g->th;
    const size_t plane = g->ms;
    for (int b = 0; b < nb; b++)
        for (int co = 0; co < CO; co++) {
            const float *restrict m = g->M + (size_t)co * n + (size_t)b * g->tpi;
            float *restrict out = y + ((size_t)b * CO + co) * H * W;
            const float bv = bias ? bias[co] : 0.0f;
            for (int ty = 0; ty < th; ty++)
                for (int tx = 0; tx < tw; tx++) {
                    const int t = ty * tw + tx;
                    float r[2][4]; /* A^T m */
                    for (int j = 0; j < 4; j++) {
                        float m0 = m[(0 + j) * plane + t], m1 = m[(4 + j) * plane + t],
                              m2 = m[(8 + j) * plane + t], m3 = m[(12 + j) * plane + t];
                        r[0][j] = m0 + m1 + m2;
                        r[1][j] = m1 - m2 - m3;
                    }
                    float *o = out + (size_t)(2 * ty) * W + 2 * tx;
                    for (int i = 0; i < 2; i++) {
                        o[i * W + 0] = bv + (r[i][0] + r[i][1] + r[i][2]);
                        o[i * W + 1] = bv + (r[i][1] - r[i][2] - r[i][3]);
                    }
                }
        }
}

/* dM[ij][co][t] = (A dy_tile A^T)[i][j] */
NS_HOT static void output_grad_transform(wino *g, const float *dy, int nb, int n)
{
    const int CO = g->cout, H = g->H, W = g->W, tw = g->tw, th = g->th;
    const size_t plane = g->ms;
    for (int b = 0; b < nb; b++)
        for (int co = 0; co < CO; co++) {
            const float *restrict src = dy + ((size_t)b * CO + co) * H * W;
            float *restrict m = g->M + (size_t)co * n + (size_t)b * g->tpi;
            for (int ty = 0; ty < th; ty++)
                for (int tx = 0; tx < tw; tx++) {
                    const float *s = src + (size_t)(2 * ty) * W + 2 * tx;
                    float r[2][4]; /* dy A^T: each row of 2 -> 4 */
                    for (int i = 0; i < 2; i++) {
                        float a = s[i * W], c = s[i * W + 1];
                        r[i][0] = a;
                        r[i][1] = a + c;
                        r[i][2] = a - c;
                        r[i][3] = -c;
                    }
                    const int t = ty * tw + tx;
                    for (int j = 0; j < 4; j++) {
                        float a = r[0][j], c = r[1][j];
                        m[(0 + j) * plane + t] = a;
                        m[(4 + j) * plane + t] = a + c;
                        m[(8 + j) * plane + t] = a - c;
                        m[(12 + j) * plane + t] = -c;
                    }
                }
        }
}

/* dx (images of the chunk) = sum over tiles of B dV B^T, scattered into a
 * zeroed padded plane, interior copied out. */
NS_HOT static void input_grad_transform(wino *g, float *dx, int nb, int n)
{
    const int CI = g->cin, H = g->H, W = g->W, Wp = W + 2, tw = g->tw, th = g->th;
    const size_t plane = g->vs;
    float *restrict pad = g->pad;
    for (int b = 0; b < nb; b++)
        for (int ci = 0; ci < CI; ci++) {
            memset(pad, 0, (size_t)(H + 2) * Wp * sizeof *pad);
            const float *restrict v = g->V + (size_t)ci * n + (size_t)b * g->tpi;
            for (int ty = 0; ty < th; ty++)
                for (int tx = 0; tx < tw; tx++) {
                    const int t = ty * tw + tx;
                    float c[4][4]; /* dV B^T, row by row */
                    for (int i = 0; i < 4; i++) {
                        float v0 = v[(4 * i + 0) * plane + t], v1 = v[(4 * i + 1) * plane + t],
                              v2 = v[(4 * i + 2) * plane + t], v3 = v[(4 * i + 3) * plane + t];
                        c[i][0] = v0;
                        c[i][1] = v1 - v2 + v3;
                        c[i][2] = v1 + v2 - v0;
                        c[i][3] = -v3;
                    }
                    float *d = pad + (size_t)(2 * ty) * Wp + 2 * tx;
                    for (int j = 0; j < 4; j++) {
                        float c0 = c[0][j], c1 = c[1][j], c2 = c[2][j], c3 = c[3][j];
                        d[j] += c0;
                        d[Wp + j] += c1 - c2 + c3;
                        d[2 * Wp + j] += c1 + c2 - c0;
                        d[3 * Wp + j] += -c3;
                    }
                }
            float *dst = dx + ((size_t)b * CI + ci) * H * W;
            for (int y = 0; y < H; y++)
                memcpy(dst + (size_t)y * W, pad + (size_t)(y + 1) * Wp + 1, (size_t)W * sizeof *dst);
        }
    /* the input transform relies on a zero border */
    memset(pad, 0, (size_t)(H + 2) * Wp * sizeof *pad);
}

static void wino_forward(const conv_priv *c, void *scratch, const float *w, const float *bias,
                         float *y, const float *x, int batch)
{
    wino v, *g = &v;
    wino_of(&c->g, scratch, g);
    const int CI = g->cin, CO = g->cout;
    const size_t in_sz = (size_t)CI * g->H * g->W, out_sz = (size_t)CO * g->H * g->W;
    weight_transform(g, w);
    for (int b0 = 0; b0 < batch; b0 += g->ib) {
        const int nb = batch - b0 < g->ib ? batch - b0 : g->ib, n = nb * g->tpi;
        input_transform(g, x + b0 * in_sz, nb, n);
        for (int k = 0; k < 16; k++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, CO, n, CI, 1.0f,
                        g->U + k * g->us, CI, g->V + k * g->vs, n, 0.0f, g->M + k * g->ms, n);
        output_transform(g, bias, y + b0 * out_sz, nb, n);
    }
}

/* dw (the weight part, overwritten), db (+= row sums of dy) and dx (if not
 * NULL, overwritten): exactly the gradient of the Winograd forward above
 * (which equals the convolution up to rounding). */
static void wino_backward(const conv_priv *c, void *scratch, const float *w, float *dw,
                          float *db, float *dx, const float *dy, const float *x, int batch)
{
    wino v, *g = &v;
    wino_of(&c->g, scratch, g);
    const int CI = g->cin, CO = g->cout, P = g->H * g->W;
    const size_t in_sz = (size_t)CI * g->H * g->W, out_sz = (size_t)CO * P;
    if (db)
        for (int b = 0; b < batch; b++)
            for (int co = 0; co < CO; co++)
                db[co] += conv_row_sum(dy + b * out_sz + (size_t)co * P, P);
    if (dx) weight_transform(g, w);
    for (int b0 = 0; b0 < batch; b0 += g->ib) {
        const int nb = batch - b0 < g->ib ? batch - b0 : g->ib, n = nb * g->tpi;
        input_transform(g, x + b0 * in_sz, nb, n);
        output_grad_transform(g, dy + b0 * out_sz, nb, n);
        for (int k = 0; k < 16; k++) {
            float *Mk = g->M + k * g->ms, *Vk = g->V + k * g->vs;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, CO, CI, n, 1.0f, Mk, n, Vk, n,
                        b0 == 0 ? 0.0f : 1.0f, g->dU + k * g->us, CI);
            if (dx) /* dV overwrites V, which this k no longer needs */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CI, n, CO, 1.0f,
                            g->U + k * g->us, CI, Mk, n, 0.0f, Vk, n);
        }
        if (dx) input_grad_transform(g, dx + b0 * in_sz, nb, n);
    }
    weight_grad_transform(g, dw);
}

const conv_algo conv_algo_winograd = {"winograd", wino_scratch, wino_forward, wino_backward};
