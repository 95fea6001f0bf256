/* conv_shift.c - the lowering of "same" convolutions (stride 1, Ho = H,
 * Wo = W: VGG's 3x3/1/1) for the gemm conv (conv_impl.h).
 *
 * Row (c, ki, kj) of the column matrix is the image plane shifted by
 * (ki-p)*W + (kj-p), so it is ONE contiguous copy of the valid output rows,
 * then the |kj-p| columns per row that wrapped around from the neighbouring
 * row are zeroed. Short map rows (W = 4..32) made the general per-row loop
 * (conv_im2col.c) cost more than the copy. */
#include "conv_impl.h"

#include <string.h>

/* valid output pixel range [i0, i1) of the shifted copy for kernel offset (ki, kj),
 * and the edge columns [e0, e1) of each row that must be zero */
static void same_ranges(const conv_geom *g, int ki, int kj, int *i0, int *i1, int *e0, int *e1)
{
    const int H = g->H, W = g->W, dy = ki - g->p, dx = kj - g->p;
    int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? H - dy : H;
    if (y1 < y0) y1 = y0;
    *i0 = y0 * W;
    *i1 = y1 * W;
    /* keep the shifted index i + dy*W + dx inside the plane: the pixels cut off
     * here are wrapped edge columns, zeroed by the caller anyway */
    if (*i0 < -(dy * W + dx)) *i0 = -(dy * W + dx);
    if (*i1 > H * W - (dy * W + dx)) *i1 = H * W - (dy * W + dx);
    if (*i1 < *i0) *i1 = *i0;
    if (dx < 0) { *e0 = 0; *e1 = -dx < W ? -dx : W; }
    else { *e0 = W - dx > 0 ? W - dx : 0; *e1 = W; }
}

/* cols[row][col0 + pixel] for one image x[nch][H][W], leading dim ld */
NS_HOT static void im2col_same(const conv_geom *g, const float *x, float *cols, int ld, int col0,
                               int nch)
{
    const int k = g->k, p = g->p, W = g->W, P = g->P;
    for (int ch = 0; ch < nch; ch++) {
        const float *xc = x + (size_t)ch * P;
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *d = cols + (size_t)((ch * k + ki) * k + kj) * ld + col0;
                int i0, i1, e0, e1;
                same_ranges(g, ki, kj, &i0, &i1, &e0, &e1);
                const int shift = (ki - p) * W + (kj - p);
                for (int i = 0; i < i0; i++) d[i] = 0.0f;
                for (int i = i0; i < i1; i++) d[i] = xc[i + shift];
                for (int i = i1; i < P; i++) d[i] = 0.0f;
                if (e1 > e0)
                    for (int r = i0 - i0 % W; r < i1; r += W)
                        for (int e = e0; e < e1; e++) d[r + e] = 0.0f;
            }
    }
}

/* dx += columns; the wrapped edge entries of each row are skipped by zeroing
 * them in the column buffer first (it is scratch, rebuilt by the next GEMM). */
NS_HOT static void col2im_same(const conv_geom *g, float *cols, int ld, int col0, float *dx)
{
    const int k = g->k, p = g->p, W = g->W, P = g->P;
    for (int ch = 0; ch < g->cin; ch++) {
        float *xc = dx + (size_t)ch * P;
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *gr = cols + (size_t)((ch * k + ki) * k + kj) * ld + col0;
                int i0, i1, e0, e1;
                same_ranges(g, ki, kj, &i0, &i1, &e0, &e1);
                if (e1 > e0)
                    for (int r = i0 - i0 % W; r < i1; r += W)
                        for (int e = e0; e < e1; e++) gr[r + e] = 0.0f;
                const int shift = (ki - p) * W + (kj - p);
                for (int i = i0; i < i1; i++) xc[i + shift] += gr[i];
            }
    }
}

static void shift_forward(const conv_geom *g, void *keep, const float *x, int tb, int nch,
                          float *cols)
{
    (void)keep;
    const int N = tb * g->P;
    const size_t in_sz = (size_t)nch * g->H * g->W;
    for (int t = 0; t < tb; t++) im2col_same(g, x + t * in_sz, cols, N, t * g->P, nch);
}

static void shift_backward(const conv_geom *g, void *keep, void *scratch, float *cols, int tb,
                           float *dx)
{
    (void)keep, (void)scratch;
    const int N = tb * g->P;
    const size_t in_sz = (size_t)g->cin * g->H * g->W;
    memset(dx, 0, (size_t)tb * in_sz * sizeof *dx);
    for (int t = 0; t < tb; t++) col2im_same(g, cols, N, t * g->P, dx + t * in_sz);
}

const conv_lowering conv_lower_shift = {"shift", conv_no_bytes, conv_no_bytes, NULL,
                                        shift_forward, shift_backward};
