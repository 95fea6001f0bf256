/* conv_impl.h - the convolution's strategies behind one small interface,
 * private to src/nn/layers/conv*.c (conv.c chooses; tests reach the choice
 * through ns_conv_create_with in layers.h).
 *
 * A conv layer runs ONE algorithm:
 *   gemm      im2col + sgemm over tiles of images (conv_gemm.c), which needs
 *             a LOWERING (how images become GEMM columns, and its adjoint):
 *               rows    the general im2col, any k/s/p       (conv_im2col.c)
 *               shift   "same" convs: a row is a shifted copy (conv_shift.c)
 *               gather  small maps: a padded tile, one gather per row
 *                       (conv_gather.c)
 *             and a way to get dX:
 *               adjoint dcols = W^T dY, then the lowering's adjoint (col2im)
 *               flip    "same" convs: dY convolved with the rotated kernel
 *                       (conv_flip.c)
 *   winograd  F(2x2, 3x3) for 3x3/1/1 convs on even maps (conv_winograd.c).
 * conv.c's conv_plan_for says which, at a glance, with its thresholds.
 *
 * Memory, in two kinds, each strategy stating its size:
 *   scratch  bytes used within ONE forward or backward call and nothing after:
 *            one buffer shared by every conv layer of the process, grown at
 *            create to the largest need (conv.c). So conv layers must not run
 *            concurrently from several threads (normsweep runs one net per
 *            process).
 *   keep     bytes a layer keeps between calls: only the gather lowering's
 *            index table and padded tile (whose zero border is never written).
 *            Allocated with the layer.
 * Weights: every strategy reads w (and bias) from its arguments on every call
 * and keeps nothing derived from them between calls: the Winograd transform
 * U = G w G^T and the rotated kernel are rebuilt from w by each call that
 * needs them. So a caller may point l->w / l->dw elsewhere between calls (the
 * R-op passes do) without invalidating anything. */
#ifndef NS_NN_CONV_IMPL_H
#define NS_NN_CONV_IMPL_H

#include "layers.h"

#include <stddef.h>

/* Shapes of one conv layer (per image; NCHW). */
typedef struct conv_geom {
    int cin, cout, k, s, p;
    int H, W, Ho, Wo;
    int K;         /* cin*k*k: GEMM inner size of the forward                    */
    int P;         /* Ho*Wo: output pixels per image                             */
    int T;         /* images per GEMM tile (gemm algorithm)                      */
    int max_batch;
} conv_geom;

/* Stride 1 and Ho = H, Wo = W (so 2p = k-1): VGG's 3x3/1/1. */
static inline int conv_is_same(const conv_geom *g)
{
    return g->s == 1 && g->Ho == g->H && g->Wo == g->W;
}

/* Offsets of sub-buffers inside one scratch/keep block: 64-byte aligned. */
static inline size_t conv_align(size_t bytes) { return (bytes + 63) / 64 * 64; }

/* ------------------------------------------------------------ lowering */

/* Images -> GEMM columns (forward) and the adjoint (backward). nch is the
 * number of channels lowered: cin, or cout when the flip dX lowers dY. */
typedef struct conv_lowering {
    const char *name;
    /* bytes kept by the layer / used within one call, for at most nch_max
     * channels lowered at once */
    size_t (*keep)(const conv_geom *g, int nch_max);
    size_t (*scratch)(const conv_geom *g, int nch_max);
    /* fill the kept bytes once (zeroed before), may be NULL */
    void (*setup)(const conv_geom *g, int nch_max, void *keep);
    /* cols[nch*k*k][tb*P] from x[tb][nch][H][W]: column t*P + pixel is
     * output pixel `pixel` of image t */
    void (*forward)(const conv_geom *g, void *keep, const float *x, int tb, int nch,
                    float *cols);
    /* dx[tb][cin][H][W] = the adjoint of forward (cin channels) applied to
     * cols, overwriting dx; cols may be clobbered */
    void (*backward)(const conv_geom *g, void *keep, void *scratch, float *cols, int tb,
                     float *dx);
} conv_lowering;

extern const conv_lowering conv_lower_rows, conv_lower_shift, conv_lower_gather;

/* keep/scratch of a lowering that needs none */
size_t conv_no_bytes(const conv_geom *g, int nch_max);

/* The gather lowering's size limit: its padded tile xp[nch][T][Hp][Wp] holds
 * at most this many floats (4 GiB), which also keeps the int index table
 * (values < T*Hp*Wp) representable. Padding or a stride large against the
 * map can exceed it on small outputs; conv.c then lowers another way. */
#define NS_CONV_GATHER_MAX_FLOATS ((size_t)1 << 30)
int conv_gather_fits(const conv_geom *g, int nch_max);

/* ------------------------------------------------------------ algorithms */

typedef struct conv_algo conv_algo;

/* What conv.c chose for a layer. */
typedef struct conv_plan {
    const conv_algo *algo;
    const conv_lowering *lower; /* gemm only                                */
    int dx_by_flip;             /* gemm only: dX by the rotated-kernel conv */
} conv_plan;

/* A layer's private part: shapes, plan, the kept bytes. */
typedef struct conv_priv {
    conv_geom g;
    conv_plan plan;
    int bias;
    void *keep;
} conv_priv;

/* forward:  y[b][cout][Ho][Wo] = conv(x, w) (+ bias[cout] if bias)
 * backward: dw[cout][K] (overwritten) = dL/dw; db[cout] (if not NULL, zeroed
 *           by the caller) += dL/dbias; dx (if not NULL, overwritten) = dL/dx
 * scratch: scratch(c) bytes, 64-byte aligned, contents undefined on entry. */
struct conv_algo {
    const char *name;
    size_t (*scratch)(const conv_priv *c);
    void (*forward)(const conv_priv *c, void *scratch, const float *w, const float *bias,
                    float *y, const float *x, int batch);
    void (*backward)(const conv_priv *c, void *scratch, const float *w, float *dw, float *db,
                     float *dx, const float *dy, const float *x, int batch);
};

extern const conv_algo conv_algo_gemm, conv_algo_winograd;

/* Whether Winograd F(2x2,3x3) applies: k = 3, s = 1, p = 1, even H and W >= 2. */
int conv_winograd_fits(const conv_geom *g);

/* ------------------------------------------------------------ pieces of gemm */

/* The GEMM algorithm's tile: out[tb][M][P] = Wm[M][Kin] cols[Kin][tb*P]
 * (+ bias[m]); through ybuf (M rows of tb*P) when tb > 1. The flip dX runs
 * the forward machinery through it. */
void conv_tile_gemm(const conv_geom *g, const float *Wm, int M, int Kin, const float *bias,
                    int tb, const float *cols, float *ybuf, float *out);

/* The rotated-kernel dX (conv_flip.c), for "same" convs: the scratch bytes of
 * its rotated kernel wflip[cin][cout][k][k], and dx[batch][cin][H][W]
 * (overwritten) as this layer's forward machinery run on dy (the plan's
 * lowering over cout channels into cols, conv_tile_gemm through ybuf). */
size_t conv_flip_scratch(const conv_geom *g);
void conv_flip_dx(const conv_priv *c, float *wflip, float *cols, float *ybuf, const float *w,
                  const float *dy, float *dx, int batch);

/* Sum of a row in 16 float lanes combined in a fixed order (bias gradients). */
float conv_row_sum(const float *r, int n);

#endif
