/* norm_impl.h - private to src/nn/norm/: the state every normalization layer
 * keeps in l->priv, and the shared per-unit kernels of stats.c.
 *
 * Layout reminder: x[b][c][hw], N = C*HW floats per sample. A "unit" is a
 * channel c; its m = batch*HW elements are the planes x[b][c][0..HW) (for a
 * dense layer HW = 1 and the unit is a column of the batch x C matrix).
 */
#ifndef NS_NORM_IMPL_H
#define NS_NORM_IMPL_H

#include "normsweep/norm.h"
#include "nn/layers/layers.h" /* ns_layer_setup, ns_layer_add_view */

#include <math.h>
#include <stddef.h>

typedef struct ns_norm_priv {
    ns_norm_config cfg;
    int C, HW, G;          /* channels, plane size, groups (group/layer)         */

    /* What the last forward did (backward and thm41 follow it). */
    int last_mode;         /* NS_MODE_TRAIN / NS_MODE_EVAL, -1 before any forward */
    int last_batch;
    const float *last_in;  /* input buffer of the last forward (thm41 reads it)  */

    /* Per-unit coefficients of the last forward, C floats each:
     * out = (x - shift) * scale + bias, scale = gamma * inv_d and
     * bias = beta - (mean - shift) * scale. */
    float *shift, *inv_d, *scale, *bias;
    /* mean - shift: shift is the float nearest the double mean; the backward
     * folds this remainder into its constants (train mode only). */
    double *shift_err;
    /* Double-precision statistics of the last TRAIN forward (C each). */
    double *mean, *var, *aux;  /* aux: l_p's raw norm n_p (no eps)              */
    double *sum_g, *sum_gx;    /* backward reductions                           */
    size_t *argmax;        /* linf: flat index of the first max |x| per unit      */
    /* Scratch for backward coefficients (C floats each). */
    float *ca, *cb, *cc;

    /* noisy_batch: per-element noise of the last draw (max_batch*N each) and
     * the per-unit means (mu_j, sigma_j) it was drawn around. */
    float *noise_s, *noise_m, *noise_mu, *noise_sigma;
    int noise_batch;       /* batch of the stored draw, 0: none yet              */

    /* group/layer: per (sample, group) mean and 1/sqrt(var+eps). */
    float *g_mean, *g_rstd;

    /* R-ops (rop.c). A "unit" is what one mean and denominator are taken
     * over: a channel (batch, noisy_batch, l1/l2/linf) or a (sample, group)
     * run (group, layer); nunits = C or max_batch * G entries. */
    int nunits;
    double *unit_mu, *unit_d; /* yhat = (x - mu) / d at the last forward (group:
                                 written by its forward; others: by r_forward) */
    double *r_mu, *r_d;       /* R(mu), R(d) of the last r_forward           */
    double *r_acc;            /* 4 per unit: r_backward's sums A1..A4        */
    double *r_ch;             /* 2 per channel: R(dgamma), R(dbeta)          */
    double *r_plane;          /* 5 x max_batch*C: per-plane sums             */
    float *r_k;               /* 7 x kmax: per-channel (or per-plane, group)
                                 constants of the elementwise passes         */
    int kmax;
} ns_norm_priv;

/* ---- constructors per kind (norm.c dispatches). They fill ops, nstate and
 * the state views; ns_norm_create has already allocated p and set nparams and
 * the weight/bias views every kind shares. */
void ns_norm_setup_batch(ns_layer *l);
void ns_norm_setup_noisy(ns_layer *l);
void ns_norm_setup_lp(ns_layer *l);
void ns_norm_setup_group(ns_layer *l);

/* Shared by batch.c and noisy.c. s: per-element factor of dout (noise), or NULL. */
void ns_bn_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *p);
void ns_bn_backward(ns_layer *l, float *din, const float *dout, const float *s,
                    const float *in, int batch);
void ns_norm_destroy(ns_layer *l);
/* R-ops of every kind (rop.c; layer.h), one formulation for all of them:
 * yhat = (x - mu)/d with the kind's mu and d, z = gamma yhat + beta (noisy:
 * times the step's fixed noise scale, plus its fixed shift). */
void ns_norm_r_forward(ns_layer *l, float *rout, const float *rin, const float *v,
                       const float *in, const float *out, int batch, float *scratch);
void ns_norm_r_backward(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                        const float *dout, const float *rin, const float *v, const float *in,
                        const float *out, int batch, float *scratch);
/* l_p denominator d from the raw norm n (batch or running): l2 sqrt(n^2 + eps),
 * l1 and linf n + eps. */
static inline double ns_lp_denominator(ns_norm_kind k, double n, double eps)
{
    return k == NS_NORM_L2 ? sqrt(n * n + eps) : n + eps;
}
/* Unit c's forward coefficients for out = gamma (x - mean) inv + beta. */
void ns_norm_set_coef(ns_norm_priv *p, int c, double mean, double inv, float gamma, float beta);
void ns_norm_init_affine(ns_layer *l, ns_rng *rng, ns_init_kind kind);

/* ---- stats.c: per-unit kernels over x[batch][C][HW]. Sums run in 16 float
 * lanes per plane (fixed order: results do not depend on the SIMD width the
 * CPU gets) and are combined across planes in double. */

/* Mean and biased variance per unit (Chan's pairwise combination of
 * per-plane two-pass moments: one pass over memory, planes stay in L1). */
void ns_nk_moments(const float *x, int batch, int C, int HW, double *mean, double *var);
/* mean |x| (l1), max |x| and the flat index of its first occurrence (linf). */
void ns_nk_absmean(const float *x, int batch, int C, int HW, double *absmean);
void ns_nk_absmax(const float *x, int batch, int C, int HW, double *absmax, size_t *argmax);
/* out = (x - shift[c]) * scale[c] + bias[c] */
void ns_nk_affine(float *out, const float *x, int batch, int C, int HW, const float *shift,
                  const float *scale, const float *bias);
/* g' = g * s (s may be NULL):  sum_g[c] = sum g',  sum_gx[c] = sum g' (x - shift[c]) */
void ns_nk_grad_sums(const float *g, const float *s, const float *x, int batch, int C, int HW,
                     const float *shift, double *sum_g, double *sum_gx);
/* din = a[c] g' + b[c] (x - shift[c]) + c0[c] */
void ns_nk_grad_apply(float *din, const float *g, const float *s, const float *x, int batch,
                      int C, int HW, const float *a, const float *b, const float *shift,
                      const float *c0);
/* Plane helpers for group.c (one contiguous run of n floats). */
double ns_nk_run_sum(const float *x, size_t n);
double ns_nk_run_sqdev(const float *x, size_t n, float shift);
void ns_nk_run_affine(float *out, const float *x, size_t n, float shift, float scale, float bias);
void ns_nk_run_grad_sums(const float *g, const float *x, size_t n, float shift, double *sum_g,
                         double *sum_gx);
void ns_nk_run_grad_apply(float *din, const float *g, const float *x, size_t n, float a, float b,
                          float shift, float c0);
/* out = s * out + m, elementwise over n floats (noisy BN). */
void ns_nk_run_noise(float *out, const float *s, const float *m, size_t n);

#endif
