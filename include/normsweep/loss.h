/* loss.h - the two losses of the paper, on a batch of network outputs.
 *
 *   softmax cross-entropy (VGG, MLP), MEAN over the batch (torch.nn.CrossEntropyLoss):
 *     L = (1/B) sum_b [ logsumexp(z_b) - z_b[y_b] ],   dL/dz_b = (softmax(z_b) - onehot(y_b)) / B
 *   squared error, SUM form (the paper's DLN; torch.nn.MSELoss(reduction="sum")):
 *     L = sum_b ||f_b - t_b||^2,                        dL/df_b = 2 (f_b - t_b)
 * Sums are accumulated in double; the returned loss is a double.
 */
#ifndef NORMSWEEP_LOSS_H
#define NORMSWEEP_LOSS_H

#include <stdint.h>

typedef enum ns_loss_kind {
    NS_LOSS_SOFTMAX_CE = 0, /* labels y[b] in [0, k)          */
    NS_LOSS_SQUARED_SUM = 1 /* targets t[b][k]                 */
} ns_loss_kind;

/* "ce" / "sse" */
const char *ns_loss_name(ns_loss_kind kind);

/* z[batch][k] logits, y[batch] labels (each in [0,k): a bug otherwise).
 * dz (may be NULL) receives dL/dz. correct (may be NULL) receives the number
 * of samples whose argmax (first on ties) equals the label. */
double ns_loss_softmax_ce(const float *z, const int32_t *y, int batch, int k, float *dz,
                          int *correct);

/* f[batch][k] outputs, t[batch][k] targets; df (may be NULL) receives dL/df. */
double ns_loss_squared_sum(const float *f, const float *t, int batch, int k, float *df);

/* R-operators (exact Hessian-vector products, hvp.h): the directional
 * derivative of dL/dz along rz = R(z), i.e. the loss Hessian times rz.
 *   cross-entropy:  rdz_b = (p_b .* rz_b - p_b <p_b, rz_b>) / B,  p_b = softmax(z_b)
 *   squared error:  rdf = 2 rf
 * z: the logits of the forward (the labels do not enter: the Hessian of
 * logsumexp is label-free). Sums in double. */
void ns_loss_softmax_ce_r(const float *z, const float *rz, int batch, int k, float *rdz);
void ns_loss_squared_sum_r(const float *rf, int batch, int k, float *rdf);

#endif
