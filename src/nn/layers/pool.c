/* pool.c - max-pool 2x2, stride 2, floor (torch.nn.MaxPool2d(2)).
 * Forward records which of the 4 inputs won (first maximum on ties, NaN
 * propagates) so backward is one scatter: din is dout at the winner, 0 elsewhere.
 * The R-ops (layer.h) reuse the winners: a gather and that same scatter. */
#include "layers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_priv {
    uint32_t *arg; /* [max_batch][c][ho][wo] winner: 2*dy + dx. 32-bit, not 8: the
                   * vectorizer sizes its lanes by the narrowest type, and byte
                   * lanes (32 per vector) left the short pool rows (Wo <= 16) scalar */
} pool_priv;

/* m = c ? v : m on the bits, c = 0 or ~0u: selects compiled as branches in the
 * scalar remainder (maps are narrow, Wo = 1..16, so most rows live there) and
 * mispredicted; masks do not. */
static inline uint32_t sel_bits(uint32_t c, uint32_t v, uint32_t m) { return (v & c) | (m & ~c); }

static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* R output rows; output row j reads input rows 2j, 2j+1 (stride W). Winner rule
 * as torch: candidate v replaces the max m if v > m or v is NaN (so a NaN
 * propagates; the last NaN of a window takes the index). */
static inline __attribute__((always_inline)) void rows_fwd(float *restrict y,
                                                           uint32_t *restrict a,
                                                           const float *restrict x, size_t R,
                                                           int W, int Wo)
{
    for (size_t j = 0; j < R; j++) {
        const float *r0 = x + 2 * j * W, *r1 = r0 + W;
        float *yj = y + j * Wo;
        uint32_t *aj = a + j * Wo;
        for (int ox = 0; ox < Wo; ox++) {
            const float v[4] = {r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
            float m = v[0];
            uint32_t mb = f2u(v[0]), k = 0;
            for (uint32_t q = 1; q < 4; q++) {
                uint32_t c = 0u - (uint32_t)((v[q] > m) | (v[q] != v[q]));
                mb = sel_bits(c, f2u(v[q]), mb);
                k = sel_bits(c, q, k);
                memcpy(&m, &mb, sizeof m);
            }
            memcpy(&yj[ox], &mb, sizeof mb);
            aj[ox] = k;
        }
    }
}

/* Narrow even maps get a copy with the row width known at compile time: the
 * inner loop unrolls and the loop over rows vectorizes (a 4-wide row took 4x
 * longer per element than a 16-wide one in the generic loop). */
NS_HOT static void pool_rows_fwd(float *restrict y, uint32_t *restrict a, const float *restrict x,
                                 size_t R, int W, int Wo)
{
    if (W == 2 * Wo && Wo == 1) rows_fwd(y, a, x, R, 2, 1);
    else if (W == 2 * Wo && Wo == 2) rows_fwd(y, a, x, R, 4, 2);
    else if (W == 2 * Wo && Wo == 4) rows_fwd(y, a, x, R, 8, 4);
    else rows_fwd(y, a, x, R, W, Wo);
}

/* R output rows' 2x2 windows: all four inputs written (dy at the winner, 0
 * elsewhere), so din needs no clearing pass first. */
NS_HOT static void pool_rows_bwd(float *restrict dx, const float *restrict dy,
                                 const uint32_t *restrict a, size_t R, int W, int Wo)
{
    for (size_t j = 0; j < R; j++) {
        float *d0 = dx + 2 * j * W, *d1 = d0 + W;
        const float *g = dy + j * Wo;
        const uint32_t *aj = a + j * Wo;
        for (int ox = 0; ox < Wo; ox++) {
            /* bit masks, as in pool_rows_fwd */
            uint32_t v, e[4];
            memcpy(&v, &g[ox], sizeof v);
            const uint32_t k = aj[ox];
            for (uint32_t q = 0; q < 4; q++) e[q] = sel_bits(0u - (uint32_t)(k == q), v, 0u);
            memcpy(&d0[2 * ox], &e[0], 2 * sizeof v);
            memcpy(&d1[2 * ox], &e[2], 2 * sizeof v);
        }
    }
}

static void pool_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *p)
{
    (void)p;
    pool_priv *pp = l->priv;
    const int H = l->in_shape.h, W = l->in_shape.w, Ho = l->out_shape.h, Wo = l->out_shape.w;
    const size_t planes = (size_t)batch * l->in_shape.c;
    if (H == 2 * Ho) { /* even height: the row pairs of all planes are evenly spaced */
        pool_rows_fwd(out, pp->arg, in, planes * Ho, W, Wo);
        return;
    }
    for (size_t q = 0; q < planes; q++)
        pool_rows_fwd(out + q * Ho * Wo, pp->arg + q * Ho * Wo, in + q * H * W, Ho, W, Wo);
}

static void pool_backward(ns_layer *l, float *din, const float *dout, const float *in,
                          const float *out, int batch)
{
    (void)in;
    (void)out;
    if (!din) return;
    const pool_priv *pp = l->priv;
    const int H = l->in_shape.h, W = l->in_shape.w, Ho = l->out_shape.h, Wo = l->out_shape.w;
    const size_t planes = (size_t)batch * l->in_shape.c;
    if (H == 2 * Ho && W == 2 * Wo) {
        pool_rows_bwd(din, dout, pp->arg, planes * Ho, W, Wo);
        return;
    }
    /* floor pooling of an odd map: the dropped last row/column gets no gradient */
    memset(din, 0, planes * H * W * sizeof *din);
    for (size_t q = 0; q < planes; q++)
        pool_rows_bwd(din + q * H * W, dout + q * Ho * Wo, pp->arg + q * Ho * Wo, Ho, W, Wo);
}

/* R-ops: max-pool is linear given its winners (fixed at the last forward;
 * their change is a measure-zero event), so R(out) gathers rin at the winner
 * and R(din) is the backward's scatter of R(dout). */
static void pool_r_forward(ns_layer *l, float *rout, const float *rin, const float *v,
                           const float *in, const float *out, int batch, float *scratch)
{
    (void)v;
    (void)in;
    (void)out;
    (void)scratch;
    const pool_priv *pp = l->priv;
    const int H = l->in_shape.h, W = l->in_shape.w, Ho = l->out_shape.h, Wo = l->out_shape.w;
    const size_t planes = (size_t)batch * l->in_shape.c, per = (size_t)Ho * Wo;
    if (!rin) {
        memset(rout, 0, planes * per * sizeof *rout);
        return;
    }
    for (size_t q = 0; q < planes; q++) {
        const float *x = rin + q * H * W;
        const uint32_t *a = pp->arg + q * per;
        float *y = rout + q * per;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                uint32_t k = a[oy * Wo + ox]; /* 2*dy + dx */
                y[oy * Wo + ox] = x[(size_t)(2 * oy + (int)(k >> 1)) * W + 2 * ox + (int)(k & 1u)];
            }
    }
}

static void pool_r_backward(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                            const float *dout, const float *rin, const float *v, const float *in,
                            const float *out, int batch, float *scratch)
{
    (void)rdw;
    (void)dout;
    (void)rin;
    (void)v;
    (void)scratch;
    pool_backward(l, rdin, rdout, in, out, batch);
}

static void pool_destroy(ns_layer *l)
{
    pool_priv *pp = l->priv;
    if (pp) free(pp->arg);
    free(pp);
}

static const ns_layer_ops pool_ops = {
    .kind = "maxpool2", .forward = pool_forward, .backward = pool_backward,
    .destroy = pool_destroy, .r_forward = pool_r_forward, .r_backward = pool_r_backward,
};

ns_status ns_maxpool2_create(ns_layer *l, ns_shape in, int max_batch)
{
    NS_CHECK(in.c > 0 && in.h >= 2 && in.w >= 2 && max_batch > 0, NS_ERR_ARG,
             "maxpool2: input %dx%dx%d is smaller than the 2x2 window", in.c, in.h, in.w);
    ns_shape o = {in.c, in.h / 2, in.w / 2};
    pool_priv *pp = calloc(1, sizeof *pp);
    if (pp) pp->arg = malloc((size_t)max_batch * ns_shape_size(o) * sizeof *pp->arg);
    if (!pp || !pp->arg) {
        if (pp) free(pp);
        return ns_error_set(NS_ERR_NOMEM, "maxpool2: out of memory");
    }
    ns_layer_setup(l, &pool_ops, in, o, max_batch);
    l->priv = pp;
    return NS_OK;
}
