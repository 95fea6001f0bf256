/* lp.c - l_p normalizations (paper Sec. 3.3: "fix the first-order moment as
 * BN does, then normalize by the average of their l_p norm, before shifting
 * the mean"). Per unit over its m = batch*HW elements:
 *   mu = mean(x)
 *   l1:   d = mean|x| + eps              (n = mean|x|)
 *   l2:   d = sqrt(mean x^2 + eps)       (n = sqrt(mean x^2))
 *   linf: d = max|x| + eps               (n = max|x|)
 *   yhat = (x - mu) / d,  z = gamma yhat + beta
 * The norm is of the UN-centered x. eps keeps 0/0 out of an all-zero unit.
 * Train uses batch mu and n; if pass->update_stats, running_mean and
 * running_norm follow r = (1-mom) r + mom b (no Bessel factor: n is not a
 * variance). Eval uses them in the same formula for d.
 * Backward (train), g = dL/dz, S = sum g yhat:
 *   din_i = gamma/d (g_i - mean g - S dd/dx_i)
 *   dd/dx_i: l1 sign(x_i)/m;  l2 x_i/(m d);  linf sign(x_i) at the first
 *   argmax of |x| (0 elsewhere; a subgradient where the max is tied).
 */
#include "nn/norm/norm_impl.h"

#include <math.h>

static void lp_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *pass)
{
    ns_norm_priv *p = l->priv;
    NS_ASSERT(pass != NULL && batch >= 1 && batch <= l->max_batch && out != in);
    const int C = p->C, HW = p->HW;
    const ns_norm_kind kind = p->cfg.kind;
    const float *gamma = l->w, *beta = l->w + C;
    float *rmean = l->state, *rnorm = l->state + C;
    const double eps = p->cfg.eps, mom = p->cfg.momentum;
    if (pass->mode == NS_MODE_TRAIN) {
        ns_nk_moments(in, batch, C, HW, p->mean, p->var);
        if (kind == NS_NORM_L1) ns_nk_absmean(in, batch, C, HW, p->aux);
        if (kind == NS_NORM_LINF) ns_nk_absmax(in, batch, C, HW, p->aux, p->argmax);
        for (int c = 0; c < C; c++) {
            /* mean x^2 = biased var + mu^2: two non-negative terms, no cancellation */
            if (kind == NS_NORM_L2) p->aux[c] = sqrt(p->var[c] + p->mean[c] * p->mean[c]);
            double inv = 1.0 / ns_lp_denominator(kind, p->aux[c], eps);
            ns_norm_set_coef(p, c, p->mean[c], inv, gamma[c], beta[c]);
            if (pass->update_stats) {
                rmean[c] = (float)((1.0 - mom) * rmean[c] + mom * p->mean[c]);
                rnorm[c] = (float)((1.0 - mom) * rnorm[c] + mom * p->aux[c]);
            }
        }
    } else {
        for (int c = 0; c < C; c++) {
            double inv = 1.0 / ns_lp_denominator(kind, rnorm[c], eps);
            ns_norm_set_coef(p, c, rmean[c], inv, gamma[c], beta[c]);
        }
    }
    ns_nk_affine(out, in, batch, C, HW, p->shift, p->scale, p->bias);
    p->last_mode = pass->mode;
    p->last_batch = batch;
    p->last_in = in;
}

static void lp_backward(ns_layer *l, float *din, const float *dout, const float *in,
                        const float *out, int batch)
{
    (void)out;
    ns_norm_priv *p = l->priv;
    NS_ASSERT(p->last_mode >= 0 && batch == p->last_batch);
    const int C = p->C, HW = p->HW;
    const ns_norm_kind kind = p->cfg.kind;
    const int train = p->last_mode == NS_MODE_TRAIN;
    const double m = (double)batch * HW;
    ns_nk_grad_sums(dout, NULL, in, batch, C, HW, p->shift, p->sum_g, p->sum_gx);
    for (int c = 0; c < C; c++) {
        double inv = p->inv_d[c], a = p->scale[c], e = p->shift_err[c];
        double dbeta = p->sum_g[c], S = inv * (p->sum_gx[c] - e * dbeta);
        l->dw[c] = (float)S; /* dgamma = sum g yhat */
        l->dw[C + c] = (float)dbeta;
        /* din = a g + b (x - shift) + c0, with the norm's own term:
         *   l2:   -a S x / (m d) = b (x - shift) + b shift, b = -a S inv / m
         *   l1, linf: added after (sign terms), b = 0 here.
         * x - mu = (x - shift) - e. */
        double b = train && kind == NS_NORM_L2 ? -a * S * inv / m : 0.0;
        double c0 = train ? -a * dbeta / m + b * p->shift[c] : 0.0;
        p->ca[c] = (float)a;
        p->cb[c] = (float)b;
        p->cc[c] = (float)c0;
        p->sum_gx[c] = train ? -a * S : 0.0; /* consumed above; now the sign terms' factor */
    }
    if (!din) return;
    ns_nk_grad_apply(din, dout, NULL, in, batch, C, HW, p->ca, p->cb, p->shift, p->cc);
    if (!train) return;
    const size_t N = (size_t)C * HW;
    if (kind == NS_NORM_L1) {
        for (int bi = 0; bi < batch; bi++)
            for (int c = 0; c < C; c++) {
                float k = (float)(p->sum_gx[c] / m);
                size_t o = bi * N + (size_t)c * HW;
                for (int i = 0; i < HW; i++)
                    din[o + i] += k * (float)((in[o + i] > 0.0f) - (in[o + i] < 0.0f));
            }
    } else if (kind == NS_NORM_LINF) {
        for (int c = 0; c < C; c++) {
            size_t at = p->argmax[c];
            float x = in[at];
            din[at] += (float)p->sum_gx[c] * (float)((x > 0.0f) - (x < 0.0f));
        }
    }
}

static const ns_layer_ops l1_ops = {
    .kind = "l1", .forward = lp_forward, .backward = lp_backward,
    .init = ns_norm_init_affine, .destroy = ns_norm_destroy,
    .r_forward = ns_norm_r_forward, .r_backward = ns_norm_r_backward,
};
static const ns_layer_ops l2_ops = {
    .kind = "l2", .forward = lp_forward, .backward = lp_backward,
    .init = ns_norm_init_affine, .destroy = ns_norm_destroy,
    .r_forward = ns_norm_r_forward, .r_backward = ns_norm_r_backward,
};
static const ns_layer_ops linf_ops = {
    .kind = "linf", .forward = lp_forward, .backward = lp_backward,
    .init = ns_norm_init_affine, .destroy = ns_norm_destroy,
    .r_forward = ns_norm_r_forward, .r_backward = ns_norm_r_backward,
};

void ns_norm_setup_lp(ns_layer *l)
{
    const ns_norm_priv *p = l->priv;
    const int C = p->C;
    l->ops = p->cfg.kind == NS_NORM_L1 ? &l1_ops : p->cfg.kind == NS_NORM_L2 ? &l2_ops : &linf_ops;
    l->nstate = 2 * (size_t)C;
    ns_layer_add_view(l, "running_mean", 0, 1, 1, &C);
    ns_layer_add_view(l, "running_norm", C, 1, 1, &C);
}
