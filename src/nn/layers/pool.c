/* pool.c - max-pool 2x2, stride 2, floor (torch.nn.MaxPool2d(2)).
 * Forward records which of the 4 inputs won (first maximum on ties, NaN
 * propagates) so backward is one scatter: din is dout at the winner, 0 elsewhere. */
#include "layers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct pool_priv {
    uint8_t *arg; /* [max_batch][c][ho][wo] winner: 2*dy + dx */
} pool_priv;

static void pool_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *p)
{
    (void)p;
    pool_priv *pp = l->priv;
    const int H = l->in_shape.h, W = l->in_shape.w, Ho = l->out_shape.h, Wo = l->out_shape.w;
    const size_t planes = (size_t)batch * l->in_shape.c;
    for (size_t q = 0; q < planes; q++) {
        const float *x = in + q * H * W;
        float *y = out + q * Ho * Wo;
        uint8_t *a = pp->arg + q * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++) {
            const float *r0 = x + (size_t)2 * oy * W, *r1 = r0 + W;
            for (int ox = 0; ox < Wo; ox++) {
                float v0 = r0[2 * ox], v1 = r0[2 * ox + 1], v2 = r1[2 * ox], v3 = r1[2 * ox + 1];
                float m = v0;
                uint8_t k = 0;
                /* "!(v <= m)" also picks a NaN, so NaN propagates like torch */
                if (!(v1 <= m)) { m = v1; k = 1; }
                if (!(v2 <= m)) { m = v2; k = 2; }
                if (!(v3 <= m)) { m = v3; k = 3; }
                y[oy * Wo + ox] = m;
                a[oy * Wo + ox] = k;
            }
        }
    }
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
    memset(din, 0, planes * H * W * sizeof *din);
    for (size_t q = 0; q < planes; q++) {
        float *dx = din + q * H * W;
        const float *dy = dout + q * Ho * Wo;
        const uint8_t *a = pp->arg + q * Ho * Wo;
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++) {
                int k = a[oy * Wo + ox];
                dx[(2 * oy + (k >> 1)) * W + 2 * ox + (k & 1)] = dy[oy * Wo + ox];
            }
    }
}

static void pool_destroy(ns_layer *l)
{
    pool_priv *pp = l->priv;
    if (pp) free(pp->arg);
    free(pp);
}

static const ns_layer_ops pool_ops = {"maxpool2", pool_forward, pool_backward, NULL, pool_destroy};

ns_status ns_maxpool2_create(ns_layer *l, ns_shape in, int max_batch)
{
    NS_CHECK(in.c > 0 && in.h >= 2 && in.w >= 2 && max_batch > 0, NS_ERR_ARG,
             "maxpool2: input %dx%dx%d is smaller than the 2x2 window", in.c, in.h, in.w);
    ns_shape o = {in.c, in.h / 2, in.w / 2};
    pool_priv *pp = calloc(1, sizeof *pp);
    if (pp) pp->arg = malloc((size_t)max_batch * ns_shape_size(o));
    if (!pp || !pp->arg) {
        if (pp) free(pp);
        return ns_error_set(NS_ERR_NOMEM, "maxpool2: out of memory");
    }
    ns_layer_setup(l, &pool_ops, in, o, max_batch);
    l->priv = pp;
    return NS_OK;
}
