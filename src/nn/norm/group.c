/* group.c - GroupNorm, and LayerNorm as its one-group case. Per sample b and
 * group g (channels [g C/G, (g+1) C/G), all their h*w positions: a
 * contiguous run of M = (C/G) HW floats in NCHW):
 *   mu, var = mean and biased variance of the run
 *   yhat = (x - mu) / sqrt(var + eps),  z_c = gamma_c yhat + beta_c
 * with per-CHANNEL gamma/beta (PyTorch GroupNorm). Same in train and eval;
 * no state. "layer" = GroupNorm(1, C): for dense shapes {F,1,1} this is
 * exactly PyTorch's LayerNorm(F); for conv shapes it normalizes over all
 * c*h*w features of a sample but keeps per-channel (not per-element)
 * gamma/beta - our choice, so that every normalization has 2C parameters.
 * Backward, dyhat = gamma_c g, r = 1/sqrt(var+eps):
 *   din = r (dyhat - mean(dyhat) - yhat mean(dyhat yhat))   over the run
 *   dgamma_c = sum_{b,hw} g yhat,  dbeta_c = sum g
 */
#include "nn/norm/norm_impl.h"

#include <math.h>

#define CHUNK 1024 /* float lanes sum at most this much before going to double */

static double chunked_sum(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i += CHUNK) s += ns_nk_run_sum(x + i, n - i < CHUNK ? n - i : CHUNK);
    return s;
}

static double chunked_sqdev(const float *x, size_t n, float shift)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i += CHUNK)
        s += ns_nk_run_sqdev(x + i, n - i < CHUNK ? n - i : CHUNK, shift);
    return s;
}

static void group_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *pass)
{
    ns_norm_priv *p = l->priv;
    NS_ASSERT(pass != NULL && batch >= 1 && batch <= l->max_batch && out != in);
    const int C = p->C, HW = p->HW, G = p->G, cpg = C / G;
    const size_t N = (size_t)C * HW, M = (size_t)cpg * HW;
    const float *gamma = l->w, *beta = l->w + C;
    for (int b = 0; b < batch; b++)
        for (int g = 0; g < G; g++) {
            size_t o = b * N + g * M;
            double mu = chunked_sum(in + o, M) / M;
            float muf = (float)mu;
            double off = mu - muf;
            double var = chunked_sqdev(in + o, M, muf) / M - off * off;
            double d = sqrt((var > 0.0 ? var : 0.0) + p->cfg.eps);
            float r = (float)(1.0 / d);
            p->g_mean[b * G + g] = muf;
            p->g_rstd[b * G + g] = r;
            p->unit_mu[b * G + g] = mu; /* the R-ops' statistics, in double */
            p->unit_d[b * G + g] = d;
            for (int k = 0; k < cpg; k++) {
                int c = g * cpg + k;
                size_t q = o + (size_t)k * HW;
                if (HW == 1)
                    out[q] = (in[q] - muf) * (r * gamma[c]) + beta[c];
                else
                    ns_nk_run_affine(out + q, in + q, HW, muf, r * gamma[c], beta[c]);
            }
        }
    p->last_mode = pass->mode;
    p->last_batch = batch;
    p->last_in = in;
}

static void group_backward(ns_layer *l, float *din, const float *dout, const float *in,
                           const float *out, int batch)
{
    (void)out;
    ns_norm_priv *p = l->priv;
    NS_ASSERT(p->last_mode >= 0 && batch == p->last_batch);
    const int C = p->C, HW = p->HW, G = p->G, cpg = C / G;
    const size_t N = (size_t)C * HW, M = (size_t)cpg * HW;
    const float *gamma = l->w;
    double *dgamma = p->sum_gx, *dbeta = p->sum_g;
    for (int c = 0; c < C; c++) dgamma[c] = dbeta[c] = 0.0;
    for (int b = 0; b < batch; b++)
        for (int g = 0; g < G; g++) {
            size_t o = b * N + g * M;
            float mu = p->g_mean[b * G + g], r = p->g_rstd[b * G + g];
            double sdy = 0.0, sdyx = 0.0; /* sum dyhat, sum dyhat (x - mu) */
            for (int k = 0; k < cpg; k++) {
                int c = g * cpg + k;
                size_t q = o + (size_t)k * HW;
                double sg = 0.0, sgx = 0.0;
                if (HW == 1) {
                    sg = dout[q];
                    sgx = (double)dout[q] * (in[q] - mu);
                } else {
                    ns_nk_run_grad_sums(dout + q, in + q, HW, mu, &sg, &sgx);
                }
                dbeta[c] += sg;
                dgamma[c] += r * sgx;
                sdy += gamma[c] * sg;
                sdyx += gamma[c] * sgx;
            }
            if (!din) continue;
            float bcoef = (float)(-(double)r * r * r * sdyx / M);
            float c0 = (float)(-(double)r * sdy / M);
            for (int k = 0; k < cpg; k++) {
                int c = g * cpg + k;
                size_t q = o + (size_t)k * HW;
                float a = r * gamma[c];
                if (HW == 1)
                    din[q] = a * dout[q] + bcoef * (in[q] - mu) + c0;
                else
                    ns_nk_run_grad_apply(din + q, dout + q, in + q, HW, a, bcoef, mu, c0);
            }
        }
    for (int c = 0; c < C; c++) {
        l->dw[c] = (float)dgamma[c];
        l->dw[C + c] = (float)dbeta[c];
    }
}

static const ns_layer_ops group_ops = {
    .kind = "group", .forward = group_forward, .backward = group_backward,
    .init = ns_norm_init_affine, .destroy = ns_norm_destroy,
    .r_forward = ns_norm_r_forward, .r_backward = ns_norm_r_backward,
};
static const ns_layer_ops layer_ops = {
    .kind = "layer", .forward = group_forward, .backward = group_backward,
    .init = ns_norm_init_affine, .destroy = ns_norm_destroy,
    .r_forward = ns_norm_r_forward, .r_backward = ns_norm_r_backward,
};

void ns_norm_setup_group(ns_layer *l)
{
    const ns_norm_priv *p = l->priv;
    l->ops = p->cfg.kind == NS_NORM_LAYER ? &layer_ops : &group_ops;
    l->nstate = 0; /* no running statistics: train and eval agree */
}
