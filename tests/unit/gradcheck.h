/* gradcheck.h - finite-difference checks shared by test_layers*.c and test_net*.c.
 *
 * Layer check: with a fixed random projection r, L(x, w) = sum(out * r), so
 * dL/dout = r; backward(dout = r) must give dL/dx and dL/dw. Each is compared
 * with central differences (L(v+h) - L(v-h)) / 2h over every element (or a
 * strided subset for big tensors). We report ||num - ana|| / ||ana|| over the
 * checked elements: unaffected outputs are recomputed bit-identically, so only
 * the rounding of the outputs that move enters, and this is ~1e-6 for h = 1e-2.
 */
#ifndef NS_GRADCHECK_H
#define NS_GRADCHECK_H

#include "normsweep/layer.h"
#include "normsweep/net.h"
#include "normsweep/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct gc_buffers {
    float *w, *dw, *state;
} gc_buffers;

/* Give a freshly created layer its own flat buffers and init them. */
static inline void gc_bind(ns_layer *l, gc_buffers *b, uint64_t seed)
{
    b->w = calloc(l->nparams + 1, sizeof(float));
    b->dw = calloc(l->nparams + 1, sizeof(float));
    b->state = calloc(l->nstate + 1, sizeof(float));
    l->w = b->w;
    l->dw = b->dw;
    l->state = b->state;
    if (l->ops->init) {
        ns_rng r;
        ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_INIT, 0));
        l->ops->init(l, &r, NS_INIT_GLOROT);
    }
    /* bias nonzero too, so the check covers it */
    ns_rng r;
    ns_rng_init(&r, seed + 1, 77);
    for (size_t i = 0; i < l->nparams; i++) l->w[i] += 0.1f * ns_rng_range(&r, -1.0f, 1.0f);
}

static inline void gc_free(ns_layer *l, gc_buffers *b)
{
    if (l->ops && l->ops->destroy) l->ops->destroy(l);
    free(b->w);
    free(b->dw);
    free(b->state);
}

static inline double gc_layer_loss(ns_layer *l, float *out, const float *x, const float *r,
                                   int batch, const ns_pass *p)
{
    l->ops->forward(l, out, x, batch, p);
    double s = 0.0;
    size_t n = (size_t)batch * ns_shape_size(l->out_shape);
    for (size_t i = 0; i < n; i++) s += (double)out[i] * r[i];
    return s;
}

/* Relative error of analytic vs numeric gradient, over x and w. x is given
 * (batch x in) so tests can keep it away from kinks; pass may be NULL (train). */
static inline double gc_layer(ns_layer *l, float *x, int batch, double h, uint64_t seed,
                              const ns_pass *pass, double *err_w)
{
    ns_pass p = {NS_MODE_TRAIN, 0, 0, NULL};
    if (pass) p = *pass;
    size_t nin = (size_t)batch * ns_shape_size(l->in_shape);
    size_t nout = (size_t)batch * ns_shape_size(l->out_shape);
    float *out = malloc(nout * sizeof(float)), *r = malloc(nout * sizeof(float));
    float *din = malloc(nin * sizeof(float));
    ns_rng rng;
    ns_rng_init(&rng, seed, 99);
    for (size_t i = 0; i < nout; i++) r[i] = ns_rng_range(&rng, -1.0f, 1.0f);
    gc_layer_loss(l, out, x, r, batch, &p);
    l->ops->backward(l, din, r, x, out, batch);
    double num2 = 0, diff2 = 0, ana2 = 0;
    size_t step = nin > 400 ? nin / 400 + 1 : 1;
    for (size_t i = 0; i < nin; i += step) {
        float keep = x[i];
        x[i] = keep + (float)h;
        double lp = gc_layer_loss(l, out, x, r, batch, &p);
        x[i] = keep - (float)h;
        double lm = gc_layer_loss(l, out, x, r, batch, &p);
        x[i] = keep;
        double num = (lp - lm) / (2 * h), ana = din[i];
        diff2 += (num - ana) * (num - ana);
        ana2 += ana * ana;
        num2 += num * num;
    }
    double ex = sqrt(diff2) / fmax(sqrt(ana2), 1e-12);
    if (ana2 == 0 && num2 == 0) ex = 0;
    float *dw = malloc((l->nparams + 1) * sizeof(float));
    memcpy(dw, l->dw, l->nparams * sizeof(float));
    diff2 = ana2 = 0;
    step = l->nparams > 400 ? l->nparams / 400 + 1 : 1;
    for (size_t i = 0; i < l->nparams; i += step) {
        float keep = l->w[i];
        l->w[i] = keep + (float)h;
        double lp = gc_layer_loss(l, out, x, r, batch, &p);
        l->w[i] = keep - (float)h;
        double lm = gc_layer_loss(l, out, x, r, batch, &p);
        l->w[i] = keep;
        double num = (lp - lm) / (2 * h), ana = dw[i];
        diff2 += (num - ana) * (num - ana);
        ana2 += ana * ana;
    }
    if (err_w) *err_w = l->nparams ? sqrt(diff2) / fmax(sqrt(ana2), 1e-12) : 0.0;
    free(dw);
    free(out);
    free(r);
    free(din);
    return ex;
}

/* Whole net: numeric d(loss)/d(param) over a strided subset of every layer's
 * parameter slice vs ns_net_backward; returns the worst relative error (vector
 * norm per slice). ReLU and max-pool make the loss piecewise smooth: where a
 * +-h step crosses a kink the one-sided slopes disagree, and such coordinates
 * are skipped (they test the kink, not the gradient). *skipped (may be NULL)
 * gets the fraction skipped, so a test can insist it stays small. */
static inline double gc_net(ns_net *n, const float *x, const int32_t *y, const float *t, int batch,
                            double h, int per_slice, double *skipped)
{
    ns_pass first = {NS_MODE_TRAIN, 0, 1, NULL}, again = {NS_MODE_TRAIN, 0, 0, NULL};
    double l0 = ns_net_forward(n, x, y, t, batch, &first, NULL);
    ns_net_backward(n, batch);
    float *g = malloc((n->nparams + 1) * sizeof(float));
    memcpy(g, n->grads, n->nparams * sizeof(float));
    /* a slice whose gradient is 0 in exact arithmetic (a bias right before a
     * batch norm) holds rounding noise: errors are relative to at least
     * 1e-4 x the whole gradient's norm */
    double gall = 0.0;
    for (size_t i = 0; i < n->nparams; i++) gall += (double)g[i] * g[i];
    const double denom_floor = 1e-4 * sqrt(gall);
    double worst = 0.0;
    long tried = 0, skip = 0;
    size_t off = 0;
    for (int li = 0; li < n->nlayers; li++) {
        size_t len = n->layers[li].nparams;
        if (!len) continue;
        size_t step = len > (size_t)per_slice ? len / per_slice + 1 : 1;
        double gmax = 0;
        for (size_t i = off; i < off + len; i++) gmax = fmax(gmax, fabs(g[i]));
        double d2 = 0, a2 = 0;
        for (size_t i = off; i < off + len; i += step) {
            float keep = n->params[i];
            n->params[i] = keep + (float)h;
            double lp = ns_net_forward(n, x, y, t, batch, &again, NULL);
            n->params[i] = keep - (float)h;
            double lm = ns_net_forward(n, x, y, t, batch, &again, NULL);
            n->params[i] = keep;
            double fwd = (lp - l0) / h, bwd = (l0 - lm) / h;
            tried++;
            if (fabs(fwd - bwd) > 0.02 * gmax) {
                skip++;
                continue;
            }
            double num = (lp - lm) / (2 * h);
            d2 += (num - g[i]) * (num - g[i]);
            a2 += (double)g[i] * g[i];
        }
        double e = sqrt(d2) / fmax(sqrt(a2), denom_floor);
        if (e > worst) worst = e;
        off += len;
    }
    free(g);
    if (skipped) *skipped = tried ? (double)skip / tried : 0.0;
    return worst;
}

#endif
