/* conv_gather.c - the lowering of the gemm conv (conv_impl.h) for small maps
 * (up to 6x6: conv.c's NS_CONV_GATHER_MAX_PIXELS), where per-row im2col
 * bookkeeping costs more than the copy itself. The tile's images are zero-padded once, after which row
 * (ch, ki, kj) of cols is a pure gather over the WHOLE tile (T*P columns):
 *   cols[(ch,ki,kj)][e] = xp[ch*T*Hp*Wp + base[e] + ki*Wp + kj]
 * one loop of N elements per row, no bounds tests, no zeroing. The adjoint is
 * the matching scatter-add into a padded gradient tile, whose interior is
 * copied out.
 *
 * Kept by the layer: base[t*P + pixel] = t*Hp*Wp + oy*s*Wp + ox*s and the
 * padded tile xp[nch][T][Hp][Wp] (its border is never written, so it stays 0
 * from the allocation). Scratch: the gradient tile dxp[cin][T][Hp][Wp]. */
#include "conv_impl.h"

#include <string.h>

typedef struct gather_keep {
    float *xp;
    int *base;
} gather_keep;

static size_t padded_floats(const conv_geom *g, int nch)
{
    return (size_t)nch * g->T * (size_t)(g->H + 2 * g->p) * (size_t)(g->W + 2 * g->p);
}

int conv_gather_fits(const conv_geom *g, int nch_max)
{
    return padded_floats(g, nch_max) <= NS_CONV_GATHER_MAX_FLOATS;
}

/* The kept block: base first (its size does not depend on the channels), then xp. */
static gather_keep keep_views(const conv_geom *g, void *keep)
{
    gather_keep k;
    k.base = keep;
    k.xp = (float *)(void *)((char *)keep + conv_align((size_t)g->T * g->P * sizeof(int)));
    return k;
}

static size_t gather_keep_bytes(const conv_geom *g, int nch_max)
{
    return conv_align((size_t)g->T * g->P * sizeof(int)) +
           conv_align(padded_floats(g, nch_max) * sizeof(float));
}

static size_t gather_scratch_bytes(const conv_geom *g, int nch_max)
{
    (void)nch_max;
    return conv_align(padded_floats(g, g->cin) * sizeof(float));
}

static void gather_setup(const conv_geom *g, int nch_max, void *keep)
{
    (void)nch_max;
    int *base = keep_views(g, keep).base;
    const int Hp = g->H + 2 * g->p, Wp = g->W + 2 * g->p;
    for (int t = 0; t < g->T; t++)
        for (int oy = 0; oy < g->Ho; oy++)
            for (int ox = 0; ox < g->Wo; ox++)
                base[(t * g->Ho + oy) * g->Wo + ox] = (t * Hp + oy * g->s) * Wp + ox * g->s;
}

/* The interior of xp[ch][t] from x[t][ch] for tb images of nch channels. */
static void pad_tile(const conv_geom *g, float *xp, const float *x, int tb, int nch)
{
    const int H = g->H, W = g->W, p = g->p, Wp = W + 2 * p;
    const size_t PP = (size_t)(H + 2 * p) * Wp;
    for (int t = 0; t < tb; t++)
        for (int ch = 0; ch < nch; ch++) {
            const float *src = x + ((size_t)t * nch + ch) * H * W;
            float *dst = xp + ((size_t)ch * g->T + t) * PP + (size_t)p * Wp + p;
            for (int y = 0; y < H; y++) memcpy(dst + (size_t)y * Wp, src + (size_t)y * W, (size_t)W * sizeof *dst);
        }
}

/* (An AVX-512 gather-instruction version was measured slower on this AMD CPU
 * than GCC's emulated gathers: 67.2 vs 66.2 ms per VGG-11/4 BN step.) */
NS_HOT static void gather_rows(const conv_geom *g, const float *restrict xp,
                               const int *restrict base, float *restrict cols, int N, int nch)
{
    const int k = g->k, Wp = g->W + 2 * g->p;
    const size_t PP = (size_t)(g->H + 2 * g->p) * Wp;
    for (int ch = 0; ch < nch; ch++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const float *restrict src = xp + ch * g->T * PP + (size_t)ki * Wp + kj;
                float *restrict d = cols + (size_t)((ch * k + ki) * k + kj) * N;
                for (int e = 0; e < N; e++) d[e] = src[base[e]];
            }
}

/* Inverse of gather_rows into dxp (zeroed first), then the interior to dx. */
NS_HOT static void scatter_rows(const conv_geom *g, const int *restrict base,
                                float *restrict dxp, const float *restrict cols, int N, int tb,
                                float *restrict dx)
{
    const int k = g->k, H = g->H, W = g->W, p = g->p, Wp = W + 2 * p;
    const size_t PP = (size_t)(H + 2 * p) * Wp;
    memset(dxp, 0, (size_t)g->cin * g->T * PP * sizeof *dxp);
    for (int ch = 0; ch < g->cin; ch++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *dst = dxp + ch * g->T * PP + (size_t)ki * Wp + kj;
                const float *gr = cols + (size_t)((ch * k + ki) * k + kj) * N;
                /* one row touches N distinct positions: no conflicts inside it */
                for (int e = 0; e < N; e++) dst[base[e]] += gr[e];
            }
    for (int t = 0; t < tb; t++)
        for (int ch = 0; ch < g->cin; ch++) {
            const float *src = dxp + ((size_t)ch * g->T + t) * PP + (size_t)p * Wp + p;
            float *d = dx + ((size_t)t * g->cin + ch) * H * W;
            for (int y = 0; y < H; y++) memcpy(d + (size_t)y * W, src + (size_t)y * Wp, (size_t)W * sizeof *d);
        }
}

static void gather_forward(const conv_geom *g, void *keep, const float *x, int tb, int nch,
                          float *cols)
{
    gather_keep k = keep_views(g, keep);
    pad_tile(g, k.xp, x, tb, nch);
    gather_rows(g, k.xp, k.base, cols, tb * g->P, nch);
}

static void gather_backward(const conv_geom *g, void *keep, void *scratch, float *cols, int tb,
                            float *dx)
{
    scatter_rows(g, keep_views(g, keep).base, scratch, cols, tb * g->P, tb, dx);
}

const conv_lowering conv_lower_gather = {"gather", gather_keep_bytes, gather_scratch_bytes,
                                         gather_setup, gather_forward, gather_backward};
