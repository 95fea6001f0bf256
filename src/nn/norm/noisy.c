/* noisy.c - "noisy BN", the paper's Algorithm 1 (App. A.2.1): BatchNorm,
 * then time-varying noise that shifts and scales every activation.
 *   z = BN(x) (after gamma/beta: our reading of the paper's open point)
 *   once per step, per unit j:      mu_j ~ U(-n_mu, n_mu), sigma_j ~ U(1, n_sigma)
 *   per element (sample i, unit j): m_ij ~ U(mu_j - r_mu, mu_j + r_mu)
 *                                   s_ij ~ N(sigma_j, r_sigma^2)
 *   out = s_ij z_ij + m_ij
 * For conv layers every (b, h, w) position is a sample of unit j = channel.
 * Noise is drawn only in TRAIN mode with pass->new_noise set, and kept, so
 * that probes on the same step (new_noise = 0) see the very same noise.
 * EVAL mode: plain BN with running statistics, no noise.
 * Backward: dL/dz = s dL/dout, then BN's backward (the s factor is fused
 * into both of its passes).
 *
 * Draw order (fixed; results are reproducible from (seed, stream) alone):
 *   1. for j = 0..C-1: mu_j = ns_rng_range(-n_mu, n_mu), then
 *                      sigma_j = ns_rng_range(1, n_sigma)   (1 word each)
 *   2. elements in NCHW order e = 0..batch*C*HW-1, taken in pairs (e, e+1);
 *      each pair uses 4 words w0..w3 of ns_rng_u32:
 *        m_e = mu + r_mu (2 u(w0) - 1),  m_e+1 likewise from w1,
 *        Box-Muller on u1 = 1 - u(w2) in (0,1], u2 = u(w3):
 *        s_e = sigma + r_sigma rho cos(2 pi u2), s_e+1 = ... sin(2 pi u2),
 *        rho = sqrt(-2 ln u1), u(w) = (w >> 8) 2^-24.
 *      An odd count draws a last full pair and drops its second half.
 * Box-Muller with both outputs of a pair: one Philox block per two elements.
 */
#include "nn/norm/norm_impl.h"

#include <math.h>

static inline float unit24(uint32_t w) { return (float)(w >> 8) * 0x1.0p-24f; }

static void draw_noise(ns_norm_priv *p, int batch, ns_rng *rng)
{
    const int C = p->C, HW = p->HW;
    const ns_norm_config *c = &p->cfg;
    for (int j = 0; j < C; j++) {
        p->noise_mu[j] = ns_rng_range(rng, -c->n_mu, c->n_mu);
        p->noise_sigma[j] = ns_rng_range(rng, 1.0f, c->n_sigma);
    }
    /* Standard draws first (U(-1,1) and N(0,1)), then shift/scale per unit. */
    const size_t n = (size_t)batch * C * HW;
    float *m = p->noise_m, *s = p->noise_s;
    for (size_t e = 0; e < n; e += 2) {
        uint32_t w0 = ns_rng_u32(rng), w1 = ns_rng_u32(rng);
        uint32_t w2 = ns_rng_u32(rng), w3 = ns_rng_u32(rng);
        double u1 = 1.0 - (double)unit24(w2), th = 6.283185307179586 * unit24(w3);
        double rho = sqrt(-2.0 * log(u1));
        m[e] = 2.0f * unit24(w0) - 1.0f;
        s[e] = (float)(rho * cos(th));
        if (e + 1 < n) {
            m[e + 1] = 2.0f * unit24(w1) - 1.0f;
            s[e + 1] = (float)(rho * sin(th));
        }
    }
    for (int b = 0; b < batch; b++)
        for (int j = 0; j < C; j++) {
            size_t o = ((size_t)b * C + j) * HW;
            float mu = p->noise_mu[j], sg = p->noise_sigma[j];
            for (int i = 0; i < HW; i++) {
                m[o + i] = mu + c->r_mu * m[o + i];
                s[o + i] = sg + c->r_sigma * s[o + i];
            }
        }
    p->noise_batch = batch;
}

static void noisy_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *pass)
{
    ns_norm_priv *p = l->priv;
    NS_ASSERT(pass != NULL);
    const int train = pass->mode == NS_MODE_TRAIN;
    if (train && pass->new_noise) {
        NS_ASSERT(pass->noise != NULL); /* the net must give the noise stream */
        NS_ASSERT(batch >= 1 && batch <= p->max_batch);
        draw_noise(p, batch, pass->noise);
    }
    /* Reusing noise needs a draw for this very batch: anything else is a bug
     * of the caller (a probe before the step's first forward). */
    if (train) NS_ASSERT(p->noise_batch == batch);
    ns_bn_forward(l, out, in, batch, pass);
    if (train) ns_nk_run_noise(out, p->noise_s, p->noise_m, (size_t)batch * p->C * p->HW);
}

static void noisy_backward(ns_layer *l, float *din, const float *dout, const float *in,
                           const float *out, int batch)
{
    (void)out;
    ns_norm_priv *p = l->priv;
    ns_bn_backward(l, din, dout, p->last_mode == NS_MODE_TRAIN ? p->noise_s : NULL, in, batch);
}

static const ns_layer_ops noisy_ops = {
    .kind = "noisy_batch",
    .forward = noisy_forward,
    .backward = noisy_backward,
    .init = ns_norm_init_affine,
    .destroy = ns_norm_destroy,
};

void ns_norm_setup_noisy(ns_layer *l)
{
    ns_norm_setup_batch(l); /* same parameters, state and views as BN */
    l->ops = &noisy_ops;
}
