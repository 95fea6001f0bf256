/* net_rop.c - the R-pass driver: exact Hessian-vector products of the net's
 * loss on one batch (hvp.h), from each layer's R-ops (layer.h, nn/rop.h).
 *
 * Buffers, sized once for max_batch (a layer's "act" = its output size):
 *   gout[i]  dL/d(out_i) of the base backward, kept for layers with
 *            parameters (their R-backward needs it); others pass through the
 *            net's two backward ping-pong buffers. The last layer's is the
 *            net's dloss.
 *   rout[i]  R(out_i), kept when layer i+1 has parameters (its R-backward
 *            needs R(in)); others pass through two transient buffers.
 *   rg[2]    R(dL/d out) ping-pong of the R-backward.
 *   scratch  the largest ns_rop_scratch_size of any layer.
 *   vpart, hpart  a layer's slice when a block cuts it (apply_block).
 */
#include "normsweep/hvp.h"
#include "normsweep/norm.h"
#include "nn/rop.h"

#include <stdlib.h>
#include <string.h>

struct ns_hvp {
    ns_net *net;
    ns_rop_forward_fn *fwd;
    ns_rop_backward_fn *bwd;
    float **gout;          /* [nlayers] dedicated dout storage or NULL       */
    float **rstore;        /* [nlayers] dedicated R(out) storage or NULL     */
    const float **gptr;    /* [nlayers] dout of the base pass (NULL: not kept) */
    const float **rptr;    /* [nlayers] R(out) of the current apply           */
    float *rt[2], *rg[2];  /* transient R(out), R(dout) ping-pong             */
    float *scratch, *vpart, *hpart;
    size_t *poff;          /* [nlayers] offset of layer i's params             */
    const float *x;
    int batch;
    long nforward;         /* net->nforward right after the base forward       */
    int ready;
    long count;
};

static size_t act_size(const ns_net *n, int i)
{
    return ns_shape_size(n->layers[i].out_shape) * (size_t)n->max_batch;
}

static float *falloc(size_t n) { return malloc((n ? n : 1) * sizeof(float)); }

static ns_status alloc_buffers(ns_hvp *h)
{
    ns_net *n = h->net;
    const int L = n->nlayers;
    size_t maxact = ns_shape_size(n->in_shape) * (size_t)n->max_batch, scr = 0, maxp = 0, po = 0;
    for (int i = 0; i < L; i++) {
        const ns_layer *l = &n->layers[i];
        if (act_size(n, i) > maxact) maxact = act_size(n, i);
        size_t s = ns_rop_scratch_size(l, n->max_batch);
        if (s > scr) scr = s;
        if (l->nparams > maxp) maxp = l->nparams;
        h->poff[i] = po;
        po += l->nparams;
        NS_TRY(ns_rop_find(l, &h->fwd[i], &h->bwd[i]));
        if (l->nparams && i < L - 1 && !(h->gout[i] = falloc(act_size(n, i))))
            return ns_error_set(NS_ERR_NOMEM, "hvp: out of memory for output gradients");
        if (i + 1 < L && n->layers[i + 1].nparams && !(h->rstore[i] = falloc(act_size(n, i))))
            return ns_error_set(NS_ERR_NOMEM, "hvp: out of memory for R activations");
    }
    for (int k = 0; k < 2; k++)
        if (!(h->rt[k] = falloc(maxact)) || !(h->rg[k] = falloc(maxact)))
            return ns_error_set(NS_ERR_NOMEM, "hvp: out of memory for R buffers");
    if (!(h->scratch = falloc(scr)) || !(h->vpart = falloc(maxp)) || !(h->hpart = falloc(maxp)))
        return ns_error_set(NS_ERR_NOMEM, "hvp: out of memory for scratch");
    return NS_OK;
}

ns_status ns_hvp_create(ns_net *net, ns_hvp **out)
{
    NS_CHECK(net && out, NS_ERR_ARG, "hvp: NULL net or output");
    *out = NULL;
    ns_hvp *h = calloc(1, sizeof *h);
    if (!h) return ns_error_set(NS_ERR_NOMEM, "hvp: out of memory");
    h->net = net;
    const size_t L = (size_t)net->nlayers;
    h->fwd = calloc(L, sizeof *h->fwd);
    h->bwd = calloc(L, sizeof *h->bwd);
    h->gout = calloc(L, sizeof *h->gout);
    h->rstore = calloc(L, sizeof *h->rstore);
    h->gptr = calloc(L, sizeof *h->gptr);
    h->rptr = calloc(L, sizeof *h->rptr);
    h->poff = calloc(L, sizeof *h->poff);
    ns_status st = h->fwd && h->bwd && h->gout && h->rstore && h->gptr && h->rptr && h->poff
                       ? alloc_buffers(h)
                       : ns_error_set(NS_ERR_NOMEM, "hvp: out of memory");
    if (st != NS_OK) {
        ns_hvp_free(h);
        return st;
    }
    *out = h;
    return NS_OK;
}

void ns_hvp_free(ns_hvp *h)
{
    if (!h) return;
    for (int i = 0; h->gout && h->rstore && i < h->net->nlayers; i++) {
        free(h->gout[i]);
        free(h->rstore[i]);
    }
    for (int k = 0; k < 2; k++) {
        free(h->rt[k]);
        free(h->rg[k]);
    }
    free(h->fwd);
    free(h->bwd);
    free(h->gout);
    free(h->rstore);
    free(h->gptr);
    free(h->rptr);
    free(h->poff);
    free(h->scratch);
    free(h->vpart);
    free(h->hpart);
    free(h);
}

long ns_hvp_count(const ns_hvp *h) { return h->count; }

static const float *layer_in(const ns_hvp *h, int i)
{
    return i > 0 ? h->net->acts[i - 1] : h->x;
}

/* Noisy layers in TRAIN mode reuse the last draw: it must be for this batch. */
static ns_status check_noise(const ns_net *n, int batch)
{
    for (int i = 0; i < n->nlayers; i++) {
        const ns_layer *l = &n->layers[i];
        if (!l->is_norm || strcmp(l->ops->kind, "noisy_batch") != 0) continue;
        const float *s, *m;
        int nb;
        NS_TRY(ns_norm_noise(l, &s, &m, &nb));
        NS_CHECK(nb == batch, NS_ERR_STATE,
                 "hvp: noisy_batch layer %s has no noise drawn for batch %d (last draw: %d); "
                 "run the training step's forward first", l->name, batch, nb);
    }
    return NS_OK;
}

ns_status ns_hvp_begin(ns_hvp *h, const float *x, const int32_t *y, const float *t, int batch,
                       ns_mode mode, double *loss)
{
    ns_net *n = h->net;
    NS_CHECK(x && batch >= 1 && batch <= n->max_batch, NS_ERR_ARG,
             "hvp: batch %d outside [1, %d] or no input", batch, n->max_batch);
    NS_CHECK(n->loss == NS_LOSS_SOFTMAX_CE ? y != NULL : t != NULL, NS_ERR_ARG,
             "hvp: the loss needs %s", n->loss == NS_LOSS_SOFTMAX_CE ? "labels" : "targets");
    NS_CHECK(mode == NS_MODE_TRAIN || mode == NS_MODE_EVAL, NS_ERR_ARG, "hvp: unknown mode %d",
             (int)mode);
    h->ready = 0;
    if (mode == NS_MODE_TRAIN) NS_TRY(check_noise(n, batch));
    const ns_pass pass = {mode, 0, 0, NULL};
    double L = ns_net_forward(n, x, y, t, batch, &pass, NULL);
    h->x = x;
    h->batch = batch;
    h->nforward = n->nforward;
    /* the net's backward, keeping every output gradient a layer's R-backward needs */
    const float *dout = n->dloss;
    int cur = 0;
    for (int i = n->nlayers - 1; i >= 0; i--) {
        ns_layer *l = &n->layers[i];
        float *din = NULL;
        if (i > 0) {
            din = h->gout[i - 1] ? h->gout[i - 1] : n->dbuf[cur];
            if (!h->gout[i - 1]) cur ^= 1;
        }
        l->ops->backward(l, din, dout, layer_in(h, i), n->acts[i], batch);
        h->gptr[i] = l->nparams ? dout : NULL;
        dout = din;
    }
    if (loss) *loss = L;
    h->ready = 1;
    return NS_OK;
}

/* Layer i's slice of the direction restricted to [lo, hi): NULL when they do
 * not meet, the slice itself when it lies inside, else a zero-padded copy. */
static const float *layer_v(ns_hvp *h, int i, const float *v, size_t lo, size_t hi)
{
    const size_t off = h->poff[i], np = h->net->layers[i].nparams;
    if (np == 0 || off + np <= lo || off >= hi) return NULL;
    if (off >= lo && off + np <= hi) return v + off;
    for (size_t j = 0; j < np; j++) h->vpart[j] = off + j >= lo && off + j < hi ? v[off + j] : 0.0f;
    return h->vpart;
}

/* R-forward from layer `first` (whose input does not depend on the block) on. */
static void r_forward(ns_hvp *h, int first, const float *v, size_t lo, size_t hi)
{
    ns_net *n = h->net;
    const float *rin = NULL;
    int tog = 0;
    for (int i = first; i < n->nlayers; i++) {
        ns_layer *l = &n->layers[i];
        float *rout = h->rstore[i];
        if (!rout) {
            rout = h->rt[tog];
            tog ^= 1;
        }
        h->fwd[i](l, rout, rin, layer_v(h, i, v, lo, hi), layer_in(h, i), n->acts[i], h->batch,
                  h->scratch);
        h->rptr[i] = rout;
        rin = rout;
    }
}

/* R-backward down to layer `first`; H v on [lo, hi) into hv. */
static void r_backward(ns_hvp *h, int first, const float *v, float *hv, size_t lo, size_t hi)
{
    ns_net *n = h->net;
    const int L = n->nlayers, B = h->batch;
    if (n->loss == NS_LOSS_SOFTMAX_CE)
        ns_loss_softmax_ce_r(n->acts[L - 1], h->rptr[L - 1], B, n->nout, h->rg[0]);
    else
        ns_loss_squared_sum_r(h->rptr[L - 1], B, n->nout, h->rg[0]);
    const float *rdout = h->rg[0];
    int cur = 1;
    for (int i = L - 1; i >= first; i--) {
        ns_layer *l = &n->layers[i];
        const size_t off = h->poff[i], np = l->nparams;
        const float *vi = layer_v(h, i, v, lo, hi);
        const int inside = vi == v + off, cut = vi && !inside;
        float *rdw = inside ? hv + off : cut ? h->hpart : NULL;
        float *rdin = i > first ? h->rg[cur] : NULL;
        const float *rin = i > first && np ? h->rptr[i - 1] : NULL;
        h->bwd[i](l, rdin, rdw, rdout, h->gptr[i], rin, vi, layer_in(h, i), n->acts[i], B,
                  h->scratch);
        for (size_t j = 0; cut && j < np; j++)
            if (off + j >= lo && off + j < hi) hv[off + j] = h->hpart[j];
        rdout = rdin;
        cur ^= 1;
    }
}

ns_status ns_hvp_apply_block(ns_hvp *h, const float *v, float *hv, size_t lo, size_t hi)
{
    ns_net *n = h->net;
    NS_CHECK(v && hv && v != hv, NS_ERR_ARG, "hvp: NULL or aliased vectors");
    NS_CHECK(lo < hi && hi <= n->nparams, NS_ERR_ARG,
             "hvp: block [%zu, %zu) is empty or outside [0, %zu)", lo, hi, n->nparams);
    NS_CHECK(h->ready && n->nforward == h->nforward, NS_ERR_STATE,
             "hvp: no base pass, or the net ran another forward since ns_hvp_begin");
    int first = 0;
    while (first < n->nlayers &&
           (n->layers[first].nparams == 0 || h->poff[first] + n->layers[first].nparams <= lo))
        first++;
    NS_ASSERT(first < n->nlayers);
    r_forward(h, first, v, lo, hi);
    r_backward(h, first, v, hv, lo, hi);
    h->count++;
    return NS_OK;
}

ns_status ns_hvp_apply(ns_hvp *h, const float *v, float *hv)
{
    return ns_hvp_apply_block(h, v, hv, 0, h->net->nparams);
}

static ns_status linop_apply(void *ctx, const float *x, float *y)
{
    return ns_hvp_apply(ctx, x, y);
}

static ns_status linop_block(void *ctx, const float *x, float *y, size_t lo, size_t hi)
{
    return ns_hvp_apply_block(ctx, x, y, lo, hi);
}

ns_linop ns_hvp_linop(ns_hvp *h)
{
    return (ns_linop){.n = h->net->nparams, .apply = linop_apply, .apply_block = linop_block,
                      .ctx = h};
}
