/* rop.c - finding a layer's R-ops, and the R-ops of a bilinear weight layer
 * composed from its own forward and backward (rop.h). */
#include "nn/rop.h"

#include <string.h>

/* Offset of the bias view in the layer's slice (= the weight's length), or
 * nparams when it has none. */
static size_t bias_offset(const ns_layer *l)
{
    for (int i = 0; i < l->nviews; i++)
        if (!l->views[i].is_state && strcmp(l->views[i].suffix, "bias") == 0)
            return l->views[i].offset;
    return l->nparams;
}

static size_t max_act(const ns_layer *l)
{
    size_t a = ns_shape_size(l->in_shape), b = ns_shape_size(l->out_shape);
    return a > b ? a : b;
}

ns_status ns_rop_find(const ns_layer *l, ns_rop_forward_fn *fwd, ns_rop_backward_fn *bwd)
{
    if (l->ops->r_forward && l->ops->r_backward) {
        *fwd = l->ops->r_forward;
        *bwd = l->ops->r_backward;
        return NS_OK;
    }
    NS_CHECK(l->is_weight && !l->ops->r_forward && !l->ops->r_backward, NS_ERR_ARG,
             "layer %s (%s) has no R-operator: exact Hessian-vector products are not "
             "available for it", l->name, l->ops->kind);
    *fwd = ns_bilinear_r_forward;
    *bwd = ns_bilinear_r_backward;
    return NS_OK;
}

size_t ns_rop_scratch_size(const ns_layer *l, int batch)
{
    if (l->ops->r_forward) return 0;
    return (size_t)batch * max_act(l) + l->nparams;
}

/* y[b][c][hw] += x[b][c][hw] - bias[c] (x NULL: y -= bias) */
static void add_minus_bias(float *y, const float *x, const float *bias, int batch, ns_shape s)
{
    const size_t HW = (size_t)s.h * s.w;
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < s.c; c++) {
            float *yp = y + ((size_t)b * s.c + c) * HW;
            const float *xp = x ? x + ((size_t)b * s.c + c) * HW : NULL;
            const float bc = bias ? bias[c] : 0.0f;
            if (xp)
                for (size_t i = 0; i < HW; i++) yp[i] += xp[i] - bc;
            else
                for (size_t i = 0; i < HW; i++) yp[i] -= bc;
        }
}

void ns_bilinear_r_forward(ns_layer *l, float *rout, const float *rin, const float *v,
                           const float *in, const float *out, int batch, float *scratch)
{
    (void)out;
    float *w0 = l->w;
    const size_t nout = (size_t)batch * ns_shape_size(l->out_shape), boff = bias_offset(l);
    const float *bias = boff < l->nparams ? w0 + boff : NULL;
    if (v) { /* f(in; V) + Vb */
        l->w = (float *)v; /* forward only reads it */
        l->ops->forward(l, rout, in, batch, NULL);
        l->w = w0;
    }
    if (rin) { /* f(rin; W) + b, minus b */
        l->ops->forward(l, v ? scratch : rout, rin, batch, NULL);
        add_minus_bias(rout, v ? scratch : NULL, bias, batch, l->out_shape);
    }
    if (!v && !rin) memset(rout, 0, nout * sizeof *rout);
}

void ns_bilinear_r_backward(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                            const float *dout, const float *rin, const float *v, const float *in,
                            const float *out, int batch, float *scratch)
{
    float *w0 = l->w, *dw0 = l->dw;
    float *tmp_act = scratch, *tmp_w = scratch + (size_t)batch * max_act(l);
    /* f^T(R(dout); W) and corr(in, R(dout)) (with the bias's sums) */
    l->dw = rdw ? rdw : tmp_w;
    l->ops->backward(l, rdin, rdout, in, out, batch);
    /* f^T(dout; V) and corr(rin, dout): one backward with w = V on rin */
    const int want_dw = rdw && rin, want_din = rdin && v;
    if (want_dw || want_din) {
        l->w = want_din ? (float *)v : w0;
        l->dw = tmp_w;
        l->ops->backward(l, want_din ? tmp_act : NULL, dout, rin ? rin : in, out, batch);
        if (want_dw) {
            const size_t wlen = bias_offset(l); /* that call's bias sums belong to dout */
            for (size_t i = 0; i < wlen; i++) rdw[i] += tmp_w[i];
        }
        if (want_din) {
            const size_t nin = (size_t)batch * ns_shape_size(l->in_shape);
            for (size_t i = 0; i < nin; i++) rdin[i] += tmp_act[i];
        }
    }
    l->w = w0;
    l->dw = dw0;
}
