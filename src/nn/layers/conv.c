/* conv.c - 2-D convolution (torch.nn.Conv2d: square kernel, stride, zero padding,
 * weight [cout][cin][k][k]) as im2col + sgemm over TILES of images.
 *
 * Why tiles: one image's column matrix cols[K = cin*k*k][P = ho*wo] keeps the
 * GEMM in cache (peers.md: per-image im2col beats one huge batch buffer), but
 * deep VGG layers have tiny maps (P = 4, 16) where a per-image GEMM is too
 * narrow to run fast. So T images share one GEMM, T = ceil(NS_CONV_COLS / P):
 *   cols[K][T*P]   column t*P + p = image t, output pixel p
 *   Y[cout][T*P] = W[cout][K] cols            (forward; T = 1 writes NCHW directly)
 *   dW += dY cols^T,  db += row sums of dY,   dcols = W^T dY -> col2im -> dX
 * Backward recomputes cols instead of storing them for the whole batch. */
#include "conv_winograd.h"
#include "layers.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#ifndef NS_CONV_COLS
#define NS_CONV_COLS 512 /* target GEMM width (columns) per tile */
#endif
#ifndef NS_CONV_GATHER_P
#define NS_CONV_GATHER_P 64 /* maps of at most this many output pixels use the gather im2col */
#endif

typedef struct conv_priv {
    int cin, cout, k, s, p, bias;
    int H, W, Ho, Wo;
    int K, P, T;
    float *cols; /* [K][T*P]                        */
    float *ybuf; /* [cout][T*P] ([cin][T*P] for a "same" conv's dX), only when T > 1 */
    /* Gather path (small maps, see tile_im2col): the tile's images zero-padded,
     * channel-major xp[ch][t][Hp][Wp] (borders stay 0; ch < cin, or < cout for
     * a "same" conv's backward), its gradient dxp[cin][t][Hp][Wp], and
     * base[t*P + pixel] = t*Hp*Wp + oy*s*Wp + ox*s. */
    int gather, Hp, Wp;
    float *xp, *dxp;
    int *base;
    /* "same" convs: the kernel rotated 180 degrees, [cin][cout][k][k] (backward) */
    float *wflip;
    /* 3x3/1/1 convs on even maps: Winograd F(2x2,3x3) instead of all the above */
    ns_wino *wino;
} conv_priv;

/* "Same" convolutions (stride 1, Ho = H, Wo = W: VGG's 3x3/1/1) have a faster
 * im2col: row (c, ki, kj) is the image plane shifted by (ki-p)*W + (kj-p), so it
 * is ONE contiguous copy of the valid output rows, then the |kj-p| columns per
 * row that wrapped around from the neighbouring row are zeroed. Short map rows
 * (W = 4..32) made the per-row loop cost more than the copy. */
static int conv_is_same(const conv_priv *c)
{
    return c->s == 1 && c->Ho == c->H && c->Wo == c->W;
}

/* valid output pixel range [i0, i1) of the shifted copy for kernel offset (ki, kj),
 * and the edge columns [e0, e1) of each row that must be zero */
static void same_ranges(const conv_priv *c, int ki, int kj, int *i0, int *i1, int *e0, int *e1)
{
    const int H = c->H, W = c->W, dy = ki - c->p, dx = kj - c->p;
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

NS_HOT static void im2col_same(const conv_priv *c, const float *x, float *cols, int ld, int col0,
                               int nch)
{
    const int k = c->k, p = c->p, W = c->W, P = c->P;
    for (int ch = 0; ch < nch; ch++) {
        const float *xc = x + (size_t)ch * P;
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *d = cols + (size_t)((ch * k + ki) * k + kj) * ld + col0;
                int i0, i1, e0, e1;
                same_ranges(c, ki, kj, &i0, &i1, &e0, &e1);
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
NS_HOT static void col2im_same(const conv_priv *c, float *cols, int ld, int col0, float *dx)
{
    const int k = c->k, p = c->p, W = c->W, P = c->P;
    for (int ch = 0; ch < c->cin; ch++) {
        float *xc = dx + (size_t)ch * P;
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *g = cols + (size_t)((ch * k + ki) * k + kj) * ld + col0;
                int i0, i1, e0, e1;
                same_ranges(c, ki, kj, &i0, &i1, &e0, &e1);
                if (e1 > e0)
                    for (int r = i0 - i0 % W; r < i1; r += W)
                        for (int e = e0; e < e1; e++) g[r + e] = 0.0f;
                const int shift = (ki - p) * W + (kj - p);
                for (int i = i0; i < i1; i++) xc[i + shift] += g[i];
            }
    }
}

/* Output columns [lo, hi) whose input column ix = ox*s - p + kj lies in [0, W). */
static void valid_cols(const conv_priv *c, int kj, int *lo, int *hi)
{
    const int s = c->s, p = c->p, W = c->W;
    *lo = p - kj > 0 ? (p - kj + s - 1) / s : 0;
    *hi = W - 1 + p - kj < 0 ? 0 : (W - 1 + p - kj) / s + 1;
    if (*hi > c->Wo) *hi = c->Wo;
    if (*lo > *hi) *lo = *hi;
}

/* cols[row][col0 + pixel] for one image x[cin][H][W], rows (c, ki, kj), leading dim ld */
NS_HOT static void im2col(const conv_priv *c, const float *x, float *cols, int ld, int col0)
{
    if (conv_is_same(c)) {
        im2col_same(c, x, cols, ld, col0, c->cin);
        return;
    }
    const int k = c->k, s = c->s, p = c->p, H = c->H, W = c->W, Ho = c->Ho, Wo = c->Wo;
    for (int ch = 0; ch < c->cin; ch++) {
        const float *xc = x + (size_t)ch * H * W;
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *dst = cols + (size_t)((ch * k + ki) * k + kj) * ld + col0;
                int lo, hi;
                valid_cols(c, kj, &lo, &hi);
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
NS_HOT static void col2im(const conv_priv *c, float *cols, int ld, int col0, float *dx)
{
    if (conv_is_same(c)) {
        col2im_same(c, cols, ld, col0, dx);
        return;
    }
    const int k = c->k, s = c->s, p = c->p, H = c->H, W = c->W, Ho = c->Ho, Wo = c->Wo;
    for (int ch = 0; ch < c->cin; ch++) {
        float *xc = dx + (size_t)ch * H * W;
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const float *srcrow = cols + (size_t)((ch * k + ki) * k + kj) * ld + col0;
                int lo, hi;
                valid_cols(c, kj, &lo, &hi);
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * s - p + ki;
                    if (iy < 0 || iy >= H) continue;
                    const float *g = srcrow + (size_t)oy * Wo;
                    float *d = xc + (size_t)iy * W;
                    const int off = kj - p;
                    if (s == 1) {
                        float *dp = d + off;
                        for (int ox = lo; ox < hi; ox++) dp[ox] += g[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++) d[ox * s + off] += g[ox];
                    }
                }
            }
    }
}

/* Small maps (2x2 .. 8x8 in VGG): per-row im2col bookkeeping costs more than
 * the copy itself. Instead the tile's images are zero-padded once, after which
 * row (ch, ki, kj) of cols is a pure gather over the WHOLE tile (T*P columns):
 *   cols[(ch,ki,kj)][e] = xp[ch*T*Hp*Wp + base[e] + ki*Wp + kj]
 * one loop of N elements per row, no bounds tests, no zeroing. */
static void pad_tile(const conv_priv *c, const float *x, int tb, int nch)
{
    const int H = c->H, W = c->W, p = c->p, Wp = c->Wp;
    const size_t PP = (size_t)c->Hp * Wp;
    for (int t = 0; t < tb; t++)
        for (int ch = 0; ch < nch; ch++) {
            const float *src = x + ((size_t)t * nch + ch) * H * W;
            float *dst = c->xp + ((size_t)ch * c->T + t) * PP + (size_t)p * Wp + p;
            for (int y = 0; y < H; y++) memcpy(dst + (size_t)y * Wp, src + (size_t)y * W, (size_t)W * sizeof *dst);
        }
}

/* (An AVX-512 gather-instruction version was measured slower on this AMD CPU
 * than GCC's emulated gathers: 67.2 vs 66.2 ms per VGG-11/4 BN step.) */
NS_HOT static void gather_rows(const conv_priv *c, float *restrict cols, int N, int nch)
{
    const int k = c->k, Wp = c->Wp;
    const size_t PP = (size_t)c->Hp * Wp;
    const int *restrict base = c->base;
    const float *restrict xp = c->xp;
    for (int ch = 0; ch < nch; ch++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const float *restrict src = xp + ch * c->T * PP + (size_t)ki * Wp + kj;
                float *restrict d = cols + (size_t)((ch * k + ki) * k + kj) * N;
                for (int e = 0; e < N; e++) d[e] = src[base[e]];
            }
}

/* Inverse of gather_rows into dxp (zeroed first), then the interior to dx. */
NS_HOT static void scatter_rows(const conv_priv *c, const float *restrict cols, int N, int tb,
                                float *restrict dx)
{
    const int k = c->k, Wp = c->Wp, H = c->H, W = c->W, p = c->p;
    const size_t PP = (size_t)c->Hp * Wp;
    const int *restrict base = c->base;
    memset(c->dxp, 0, (size_t)c->cin * c->T * PP * sizeof *c->dxp);
    for (int ch = 0; ch < c->cin; ch++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *dst = c->dxp + ch * c->T * PP + (size_t)ki * Wp + kj;
                const float *g = cols + (size_t)((ch * k + ki) * k + kj) * N;
                /* one row touches N distinct positions: no conflicts inside it */
                for (int e = 0; e < N; e++) dst[base[e]] += g[e];
            }
    for (int t = 0; t < tb; t++)
        for (int ch = 0; ch < c->cin; ch++) {
            const float *src = c->dxp + ((size_t)ch * c->T + t) * PP + (size_t)p * Wp + p;
            float *d = dx + ((size_t)t * c->cin + ch) * H * W;
            for (int y = 0; y < H; y++) memcpy(d + (size_t)y * W, src + (size_t)y * Wp, (size_t)W * sizeof *d);
        }
}

/* cols[nch*k*k][N] for tb images of x[tb][nch][H][W] (N = tb*P). nch is cin,
 * or cout when a "same" conv's backward convolves dY (see conv_backward). */
static void tile_im2col(conv_priv *c, const float *x, int tb, int nch)
{
    const int N = tb * c->P;
    if (c->gather) {
        pad_tile(c, x, tb, nch);
        gather_rows(c, c->cols, N, nch);
        return;
    }
    const size_t in_sz = (size_t)nch * c->H * c->W;
    for (int t = 0; t < tb; t++) {
        if (nch == c->cin) im2col(c, x + t * in_sz, c->cols, N, t * c->P);
        else im2col_same(c, x + t * in_sz, c->cols, N, t * c->P, nch);
    }
}

/* out[tb][M][P] = Wm[M][Kin] cols[Kin][N] (+ bias[m]); through ybuf when the
 * tile holds several images (GEMM columns are image-major within a row). */
static void tile_gemm(conv_priv *c, const float *Wm, int M, int Kin, const float *bias, int tb,
                      float *out)
{
    const int P = c->P, N = tb * P;
    float *y = tb == 1 ? out : c->ybuf;
    if (bias)
        for (int m = 0; m < M; m++) {
            float *r = y + (size_t)m * N;
            for (int i = 0; i < N; i++) r[i] = bias[m];
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, Kin, 1.0f, Wm, Kin, c->cols, N,
                bias ? 1.0f : 0.0f, y, N);
    if (tb > 1)
        for (int t = 0; t < tb; t++)
            for (int m = 0; m < M; m++)
                memcpy(out + ((size_t)t * M + m) * P, y + (size_t)m * N + t * P,
                       (size_t)P * sizeof *out);
}

static void conv_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *pass)
{
    (void)pass;
    conv_priv *c = l->priv;
    const int P = c->P, K = c->K, CO = c->cout;
    const size_t in_sz = (size_t)c->cin * c->H * c->W, out_sz = (size_t)CO * P;
    const float *bias = c->bias ? l->w + (size_t)CO * K : NULL;
    if (c->wino) {
        ns_wino_forward(c->wino, l->w, bias, out, in, batch);
        return;
    }
    for (int b0 = 0; b0 < batch; b0 += c->T) {
        int tb = batch - b0 < c->T ? batch - b0 : c->T;
        tile_im2col(c, in + b0 * in_sz, tb, c->cin);
        tile_gemm(c, l->w, CO, K, bias, tb, out + b0 * out_sz);
    }
}

/* Sum of a row in 16 float lanes combined in a fixed order: vectorizes (one
 * serial chain of adds was 2.5% of a VGG-11/4 step) and gives the same bits on
 * every clone. */
NS_HOT static float row_sum(const float *restrict r, int n)
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

static void conv_backward(ns_layer *l, float *din, const float *dout, const float *in,
                          const float *out, int batch)
{
    (void)out;
    conv_priv *c = l->priv;
    const int P = c->P, K = c->K, CO = c->cout;
    const size_t in_sz = (size_t)c->cin * c->H * c->W, out_sz = (size_t)CO * P;
    float *db = c->bias ? l->dw + (size_t)CO * K : NULL;
    if (db) memset(db, 0, (size_t)CO * sizeof *db);
    if (c->wino) {
        if (db)
            for (int b = 0; b < batch; b++)
                for (int co = 0; co < CO; co++) db[co] += row_sum(dout + b * out_sz + (size_t)co * P, P);
        ns_wino_backward(c->wino, l->w, l->dw, din, dout, in, batch);
        return;
    }
    /* "same" convs get dX as a forward conv of dY (below), not by col2im */
    const int flip = c->wflip != NULL;
    if (din && !c->gather && !flip) memset(din, 0, (size_t)batch * in_sz * sizeof *din);
    for (int b0 = 0; b0 < batch; b0 += c->T) {
        int tb = batch - b0 < c->T ? batch - b0 : c->T;
        int N = tb * P;
        const float *dy = dout + b0 * out_sz;
        if (tb > 1) {
            for (int t = 0; t < tb; t++)
                for (int co = 0; co < CO; co++)
                    memcpy(c->ybuf + (size_t)co * N + t * P, dout + (b0 + t) * out_sz + (size_t)co * P,
                           (size_t)P * sizeof *c->ybuf);
            dy = c->ybuf;
        }
        tile_im2col(c, in + b0 * in_sz, tb, c->cin);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, CO, K, N, 1.0f, dy, N, c->cols, N,
                    b0 == 0 ? 0.0f : 1.0f, l->dw, K);
        if (db)
            for (int co = 0; co < CO; co++) db[co] += row_sum(dy + (size_t)co * N, N);
        if (din && !flip) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, CO, 1.0f, l->w, K, dy, N,
                        0.0f, c->cols, N);
            if (c->gather)
                scatter_rows(c, c->cols, N, tb, din + b0 * in_sz);
            else
                for (int t = 0; t < tb; t++) col2im(c, c->cols, N, t * P, din + (b0 + t) * in_sz);
        }
    }
    if (!din || !flip) return;
    /* Stride 1 with Ho = H, Wo = W (so 2p = k-1): dX is dY convolved with the
     * kernel rotated by 180 degrees, channels swapped, same padding:
     *   dX[ci][y][x] = sum_{co,ki,kj} W[co][ci][k-1-ki][k-1-kj] dY[co][y+ki-p][x+kj-p]
     * i.e. this layer's forward with Wflip[ci][co][ki][kj]. The GEMM then has
     * inner size cout*k*k instead of cout, and im2col's gather replaces col2im's
     * scatter-add. */
    const int kk = c->k * c->k, CI = c->cin;
    for (int co = 0; co < CO; co++)
        for (int ci = 0; ci < CI; ci++) {
            const float *w = l->w + ((size_t)co * CI + ci) * kk;
            float *f = c->wflip + ((size_t)ci * CO + co) * kk;
            for (int q = 0; q < kk; q++) f[q] = w[kk - 1 - q];
        }
    for (int b0 = 0; b0 < batch; b0 += c->T) {
        int tb = batch - b0 < c->T ? batch - b0 : c->T;
        tile_im2col(c, dout + b0 * out_sz, tb, CO);
        tile_gemm(c, c->wflip, CI, CO * kk, NULL, tb, din + b0 * in_sz);
    }
}

static void conv_init(ns_layer *l, ns_rng *rng, ns_init_kind kind)
{
    const conv_priv *c = l->priv;
    int kk = c->k * c->k;
    ns_init_weights(l->w, (size_t)c->cout * c->K, c->cin * kk, c->cout * kk, rng, kind);
    if (c->bias) memset(l->w + (size_t)c->cout * c->K, 0, (size_t)c->cout * sizeof(float));
}

/* Frees c and every buffer it owns (NULL ones included): the destructor and
 * the out-of-memory path of conv_create share it. */
static void conv_priv_free(conv_priv *c)
{
    if (!c) return;
    free(c->cols);
    free(c->ybuf);
    free(c->xp);
    free(c->dxp);
    free(c->base);
    free(c->wflip);
    ns_wino_destroy(c->wino);
    free(c);
}

static void conv_destroy(ns_layer *l) { conv_priv_free(l->priv); }

/* No R-ops of its own: conv is bilinear, the net composes them from forward
 * and backward (nn/rop.h). */
static const ns_layer_ops conv_ops = {.kind = "conv2d", .forward = conv_forward,
                                      .backward = conv_backward, .init = conv_init,
                                      .destroy = conv_destroy};

/* Which convs take the Winograd path by default: 3x3/1/1 on even maps with
 * at least this many input channels (the first conv, cin = 3, has too short
 * a GEMM inner size for its 16 products). */
#ifndef NS_WINO_MIN_CIN
#define NS_WINO_MIN_CIN 8
#endif

ns_status ns_conv_create(ns_layer *l, ns_shape in, int cout, int k, int s, int p, int bias,
                         int max_batch)
{
    return ns_conv_create_algo(l, in, cout, k, s, p, bias, max_batch, NS_CONV_AUTO);
}

ns_status ns_conv_create_algo(ns_layer *l, ns_shape in, int cout, int k, int s, int p, int bias,
                              int max_batch, ns_conv_algo algo)
{
    NS_CHECK(in.c > 0 && in.h > 0 && in.w > 0 && cout > 0 && k > 0 && s > 0 && p >= 0 &&
                 max_batch > 0,
             NS_ERR_ARG, "conv2d: bad configuration in %dx%dx%d cout %d k %d s %d p %d", in.c,
             in.h, in.w, cout, k, s, p);
    int Ho = (in.h + 2 * p - k) / s + 1, Wo = (in.w + 2 * p - k) / s + 1;
    NS_CHECK(in.h + 2 * p >= k && in.w + 2 * p >= k && Ho > 0 && Wo > 0, NS_ERR_ARG,
             "conv2d: kernel %d with padding %d does not fit input %dx%d", k, p, in.h, in.w);
    const int fits = ns_wino_fits(k, s, p, in.h, in.w);
    NS_CHECK(algo != NS_CONV_WINOGRAD || fits, NS_ERR_ARG,
             "conv2d: Winograd needs a 3x3 stride-1 pad-1 conv on an even map, got k %d s %d p %d "
             "on %dx%d", k, s, p, in.h, in.w);
    conv_priv *c = calloc(1, sizeof *c);
    if (!c) return ns_error_set(NS_ERR_NOMEM, "conv2d: out of memory");
    *c = (conv_priv){.cin = in.c, .cout = cout, .k = k, .s = s, .p = p, .bias = bias,
                     .H = in.h, .W = in.w, .Ho = Ho, .Wo = Wo, .K = in.c * k * k, .P = Ho * Wo};
    c->T = (NS_CONV_COLS + c->P - 1) / c->P;
    if (c->T > max_batch) c->T = max_batch;
    if (algo == NS_CONV_WINOGRAD || (algo == NS_CONV_AUTO && fits && in.c >= NS_WINO_MIN_CIN)) {
        c->wino = ns_wino_create(in.c, cout, in.h, in.w, max_batch);
        if (!c->wino) {
            conv_priv_free(c);
            return ns_error_set(NS_ERR_NOMEM, "conv2d: out of memory for the Winograd workspace");
        }
        goto done;
    }
    /* A "same" conv with cout <= cin gets dX by running the forward machinery
     * on dY (cout channels in, cin out; conv_backward). With cout > cin its
     * im2col of dY would be larger than col2im's columns: measured slower
     * (VGG-11/4: 16->32 at 16x16 5.5 -> 7.3 ms, 64->128 at 4x4 3.9 -> 4.2 ms
     * per backward), while 128->128 at 2x2 went 3.4 -> 2.0 ms. */
    const int same = conv_is_same(c) && cout <= in.c;
    /* cols: cin*k*k rows (a same conv's im2col of dY has cout <= cin channels);
     * ybuf: cout rows, or cin for a same conv's dX (tile_gemm with M = cin) */
    const int ymax = same ? in.c : cout;
    c->cols = malloc((size_t)c->K * c->T * c->P * sizeof *c->cols);
    if (c->T > 1) c->ybuf = malloc((size_t)ymax * c->T * c->P * sizeof *c->ybuf);
    if (same) c->wflip = malloc((size_t)cout * c->K * sizeof *c->wflip);
    c->gather = c->P <= NS_CONV_GATHER_P;
    int gather_ok = 1;
    if (c->gather) {
        c->Hp = in.h + 2 * p;
        c->Wp = in.w + 2 * p;
        size_t npad = (size_t)c->T * in.c * c->Hp * c->Wp;
        c->xp = calloc(npad, sizeof *c->xp); /* borders are never written: stay 0 */
        c->dxp = malloc(npad * sizeof *c->dxp);
        c->base = malloc((size_t)c->T * c->P * sizeof *c->base);
        gather_ok = npad <= (size_t)1 << 30 && c->xp && c->dxp && c->base;
        for (int t = 0; gather_ok && t < c->T; t++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++)
                    c->base[(t * Ho + oy) * Wo + ox] =
                        (t * c->Hp + oy * s) * c->Wp + ox * s;
    }
    if (!c->cols || (c->T > 1 && !c->ybuf) || (same && !c->wflip) || !gather_ok) {
        conv_priv_free(c);
        return ns_error_set(NS_ERR_NOMEM, "conv2d: out of memory for the column buffer");
    }
done:;
    ns_shape o = {cout, Ho, Wo};
    ns_layer_setup(l, &conv_ops, in, o, max_batch);
    l->priv = c;
    l->is_weight = 1;
    l->nparams = (size_t)cout * c->K + (bias ? (size_t)cout : 0);
    int wd[4] = {cout, in.c, k, k};
    ns_layer_add_view(l, "weight", 0, 0, 4, wd);
    if (bias) ns_layer_add_view(l, "bias", (size_t)cout * c->K, 0, 1, &cout);
    return NS_OK;
}
