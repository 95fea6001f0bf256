/* batch.c - BatchNorm (PyTorch BatchNorm1d/2d semantics), per unit c over
 * its m = batch*HW elements:
 *   train: mu, var = batch mean and BIASED variance
 *          yhat = (x - mu) / sqrt(var + eps);  z = gamma * yhat + beta
 *          if pass->update_stats: running_mean = (1-mom) running_mean + mom mu
 *                                 running_var  = (1-mom) running_var  + mom var m/(m-1)
 *   eval:  the same with (running_mean, running_var) in place of (mu, var).
 * Forward: one pass for the moments (stats.c), one pass writing z.
 * Backward (train), with g = dL/dz and inv = 1/sqrt(var+eps):
 *   dbeta = sum g,  dgamma = sum g yhat
 *   din   = gamma inv (g - dbeta/m - yhat dgamma/m)
 * one pass for the two sums, one pass writing din. Eval backward is the
 * affine map's: din = gamma inv_running g.
 * noisy.c reuses both with a per-element factor s on dout.
 */
#include "nn/norm/norm_impl.h"

#include <math.h>

void ns_bn_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *pass)
{
    ns_norm_priv *p = l->priv;
    NS_ASSERT(pass != NULL && batch >= 1 && batch <= l->max_batch && out != in);
    const int C = p->C;
    const float *gamma = l->w, *beta = l->w + C;
    float *rmean = l->state, *rvar = l->state + C;
    const double eps = p->cfg.eps, mom = p->cfg.momentum;
    if (pass->mode == NS_MODE_TRAIN) {
        ns_nk_moments(in, batch, C, p->HW, p->mean, p->var);
        const double m = (double)batch * p->HW;
        for (int c = 0; c < C; c++) {
            double inv = 1.0 / sqrt(p->var[c] + eps);
            ns_norm_set_coef(p, c, p->mean[c], inv, gamma[c], beta[c]);
            if (pass->update_stats) {
                rmean[c] = (float)((1.0 - mom) * rmean[c] + mom * p->mean[c]);
                /* m == 1 carries no information about the variance: leave it. */
                if (m > 1.0)
                    rvar[c] = (float)((1.0 - mom) * rvar[c] + mom * p->var[c] * m / (m - 1.0));
            }
        }
    } else {
        for (int c = 0; c < C; c++) {
            double inv = 1.0 / sqrt((double)rvar[c] + eps);
            ns_norm_set_coef(p, c, rmean[c], inv, gamma[c], beta[c]);
        }
    }
    ns_nk_affine(out, in, batch, C, p->HW, p->shift, p->scale, p->bias);
    p->last_mode = pass->mode;
    p->last_batch = batch;
    p->last_in = in;
}

void ns_bn_backward(ns_layer *l, float *din, const float *dout, const float *s, const float *in,
                    int batch)
{
    ns_norm_priv *p = l->priv;
    NS_ASSERT(p->last_mode >= 0 && batch == p->last_batch);
    const int C = p->C;
    ns_nk_grad_sums(dout, s, in, batch, C, p->HW, p->shift, p->sum_g, p->sum_gx);
    const double m = (double)batch * p->HW;
    const int train = p->last_mode == NS_MODE_TRAIN;
    for (int c = 0; c < C; c++) {
        double inv = p->inv_d[c], a = p->scale[c], e = p->shift_err[c];
        double dbeta = p->sum_g[c], dgamma = inv * (p->sum_gx[c] - e * dbeta);
        l->dw[c] = (float)dgamma;
        l->dw[C + c] = (float)dbeta;
        /* din = a g + b (x - mu) + c0 (the yhat term is linear in x - mu),
         * applied as a g + b (x - shift) + (c0 - b e). */
        double b = train ? -a * inv * dgamma / m : 0.0, c0 = train ? -a * dbeta / m : 0.0;
        p->ca[c] = (float)a;
        p->cb[c] = (float)b;
        p->cc[c] = (float)(c0 - b * e);
    }
    if (din) ns_nk_grad_apply(din, dout, s, in, batch, C, p->HW, p->ca, p->cb, p->shift, p->cc);
}

static void bn_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *pass)
{
    ns_bn_forward(l, out, in, batch, pass);
}

static void bn_backward(ns_layer *l, float *din, const float *dout, const float *in,
                        const float *out, int batch)
{
    (void)out;
    ns_bn_backward(l, din, dout, NULL, in, batch);
}

static const ns_layer_ops bn_ops = {
    .kind = "batch",
    .forward = bn_forward,
    .backward = bn_backward,
    .init = ns_norm_init_affine,
    .destroy = ns_norm_destroy,
    .r_forward = ns_norm_r_forward,
    .r_backward = ns_norm_r_backward,
};

void ns_norm_setup_batch(ns_layer *l)
{
    const int C = l->in_shape.c;
    l->ops = &bn_ops;
    l->nstate = 2 * (size_t)C;
    ns_layer_add_view(l, "running_mean", 0, 1, 1, &C);
    ns_layer_add_view(l, "running_var", C, 1, 1, &C);
}
