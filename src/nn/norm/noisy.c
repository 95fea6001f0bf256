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
 * Draw order (fixed; results are reproducible from (seed, stream, counter)
 * alone; docs/normalizations.md spells out every operation):
 *   1. for j = 0..C-1: mu_j = ns_rng_range(-n_mu, n_mu), then
 *                      sigma_j = ns_rng_range(1, n_sigma)   (1 word each)
 *   2. the rest of the current block is skipped; B0 = the stream's next block.
 *      Elements in NCHW order e = 0..n-1 (n = batch*C*HW) come in pairs
 *      (2k, 2k+1), pair k from the Philox block with counter B0 + k
 *      (noise_gen.h: a uniform on [-1, 1) and a Box-Muller normal each):
 *        m_e = mu_j + r_mu unif_e,  s_e = sigma_j + r_sigma norm_e.
 *      The stream is left at block B0 + ceil(n/2), as if it had handed out
 *      those blocks word by word.
 */
#include "nn/norm/norm_impl.h"
#include "nn/norm/noise_gen.h"

static void draw_noise(ns_norm_priv *p, int batch, ns_rng *rng)
{
    const int C = p->C, HW = p->HW;
    const ns_norm_config *c = &p->cfg;
    for (int j = 0; j < C; j++) {
        p->noise_mu[j] = ns_rng_range(rng, -c->n_mu, c->n_mu);
        p->noise_sigma[j] = ns_rng_range(rng, 1.0f, c->n_sigma);
    }
    /* ns_rng's counter is the number of blocks begun, so it is the next
     * untouched block whether or not the current one was used up. */
    const uint64_t B0 = rng->counter;
    const size_t per = (size_t)C * HW, n = (size_t)batch * per;
    /* Sample by sample, so the shift/scale pass finds its plane still in cache. */
    for (int b = 0; b < batch; b++) {
        float *m = p->noise_m + b * per, *s = p->noise_s + b * per;
        ns_noise_std(rng->seed, rng->stream, B0, b * per, (b + 1) * per, m, s);
        ns_noise_to_units(m, s, C, HW, p->noise_mu, p->noise_sigma, c->r_mu, c->r_sigma);
    }
    ns_rng_seek(rng, (ns_rng_pos){B0 + (n + 1) / 2, 4});
    p->noise_batch = batch;
}

static void noisy_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *pass)
{
    ns_norm_priv *p = l->priv;
    NS_ASSERT(pass != NULL);
    const int train = pass->mode == NS_MODE_TRAIN;
    if (train && pass->new_noise) {
        NS_ASSERT(pass->noise != NULL); /* the net must give the noise stream */
        NS_ASSERT(batch >= 1 && batch <= l->max_batch);
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
    .r_forward = ns_norm_r_forward,
    .r_backward = ns_norm_r_backward,
};

void ns_norm_setup_noisy(ns_layer *l)
{
    ns_norm_setup_batch(l); /* same parameters, state and views as BN */
    l->ops = &noisy_ops;
}

ns_status ns_norm_noise(const ns_layer *l, const float **s, const float **m, int *batch)
{
    NS_CHECK(l && l->is_norm && l->priv && l->ops == &noisy_ops, NS_ERR_ARG,
             "ns_norm_noise: not a noisy_batch layer");
    const ns_norm_priv *p = l->priv;
    *batch = p->noise_batch;
    *s = p->noise_batch ? p->noise_s : NULL;
    *m = p->noise_batch ? p->noise_m : NULL;
    return NS_OK;
}
