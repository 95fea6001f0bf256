/* conv_im2col.c - the general lowering of the gemm conv (conv_impl.h): any
 * kernel, stride and padding. Row (ch, ki, kj) of the column matrix holds,
 * for every output pixel (oy, ox), the input x[ch][oy*s - p + ki][ox*s - p + kj]
 * (0 outside the image); col2im is its adjoint, a scatter-add. */
#include "conv_impl.h"

#include <string.h>

/* Output columns [lo, hi) whose input column ix = ox*s - p + kj lies in [0, W). */
static void valid_cols(const conv_geom *g, int kj, int *lo, int *hi)
{
    const int s = g->s, p = g->p, W = g->W;
    *lo = p - kj > 0 ? (p - kj + s - 1) / s : 0;
    *hi = W - 1 + p - kj < 0 ? 0 : (W - 1 + p - kj) / s + 1;
    if (*hi > g->Wo) *hi = g->Wo;
    if (*lo > *hi) *lo = *hi;
}

/* cols[row][col0 + pixel] for one image x[nch][H][W], rows (c, ki, kj), leading dim ld */
NS_HOT static void im2col(const conv_geom *g, const float *x, int nch, float *cols, int ld,
                          int col0)
{
    const int k = g->k, s = g->s, p = g->p, H = g->H, W = g->W, Ho = g->Ho, Wo = g->Wo;
    for (int ch = 0; ch < nch; ch++) {
        const float *xc = x + (size_t)ch * H * W;
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *dst = cols + (size_t)((ch * k + ki) * k + kj) * ld + col0;
                int lo, hi;
                valid_cols(g, kj, &lo, &hi);
                for (int oy = 0; oy < Ho; oy++) {
                    float *d = dst + (size_t)oy * Wo;
                    int iy = oy * s - p + ki;
                    if (iy < 0 || iy >= H) {
                        memset(d, 0, (size_t)Wo * sizeof *d);
                        continue;
                    }
                    const float *src = xc + (size_t)iy * W;
                    const int off = kj - p; /* ix = ox*s + off */
                    for (int ox = 0; ox < lo; ox++) d[ox] = 0.0f;
                    if (s == 1) {
                        /* a plain loop: rows are short (Wo <= 32 in VGG), a memcpy call costs more */
                        const float *sp = src + off;
                        for (int ox = lo; ox < hi; ox++) d[ox] = sp[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++) d[ox] = src[ox * s + off];
                    }
                    for (int ox = hi; ox < Wo; ox++) d[ox] = 0.0f;
                }
            }
    }
}

/* dx[cin][H][W] += the columns of one image (inverse scatter of im2col) */
NS_HOT static void col2im(const conv_geom *g, const float *cols, int ld, int col0, float *dx)
{
    const int k = g->k, s = g->s, p = g->p, H = g->H, W = g->W, Ho = g->Ho, Wo = g->Wo;
    for (int ch = 0; ch < g->cin; ch++) {
        float *xc = dx + (size_t)ch * H * W;
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const float *srcrow = cols + (size_t)((ch * k + ki) * k + kj) * ld + col0;
                int lo, hi;
                valid_cols(g, kj, &lo, &hi);
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * s - p + ki;
                    if (iy < 0 || iy >= H) continue;
                    const float *gr = srcrow + (size_t)oy * Wo;
                    float *d = xc + (size_t)iy * W;
                    const int off = kj - p;
                    if (s == 1) {
                        float *dp = d + off;
                        for (int ox = lo; ox < hi; ox++) dp[ox] += gr[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++) d[ox * s + off] += gr[ox];
                    }
                }
            }
    }
}

static void rows_forward(const conv_geom *g, void *keep, const float *x, int tb, int nch,
                         float *cols)
{
    (void)keep;
    const int N = tb * g->P;
    const size_t in_sz = (size_t)nch * g->H * g->W;
    for (int t = 0; t < tb; t++) im2col(g, x + t * in_sz, nch, cols, N, t * g->P);
}

static void rows_backward(const conv_geom *g, void *keep, void *scratch, float *cols, int tb,
                          float *dx)
{
    (void)keep, (void)scratch;
    const int N = tb * g->P;
    const size_t in_sz = (size_t)g->cin * g->H * g->W;
    memset(dx, 0, (size_t)tb * in_sz * sizeof *dx);
    for (int t = 0; t < tb; t++) col2im(g, cols, N, t * g->P, dx + t * in_sz);
}

const conv_lowering conv_lower_rows = {"rows", conv_no_bytes, conv_no_bytes, NULL,
                                       rows_forward, rows_backward};
