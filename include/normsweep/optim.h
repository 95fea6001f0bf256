/* optim.h - SGD with momentum and weight decay over flat buffers, with
 * PyTorch's conventions (torch.optim.SGD, dampening 0, nesterov off):
 *     g' = g + wd * w
 *     v  = mu * v + g'        (only if mu != 0; v starts at 0, which equals
 *                              torch's "v = g' on the first step")
 *     w  = w - lr * (mu != 0 ? v : g')
 * Full-batch gradient descent is this with batch = data set size.
 * Weight decay applies to every parameter (weights, biases, norm gamma/beta),
 * as torch does by default.
 */
#ifndef NORMSWEEP_OPTIM_H
#define NORMSWEEP_OPTIM_H

#include <stddef.h>

typedef struct ns_sgd_config {
    double lr;           /* learning rate, > 0                       */
    double momentum;     /* mu, 0 = plain SGD                        */
    double weight_decay; /* wd, 0 = none                             */
} ns_sgd_config;

/* One update of w[n] from g[n]; v[n] is the momentum buffer (untouched and may
 * be NULL when momentum == 0). */
void ns_sgd_step(const ns_sgd_config *c, float *w, const float *g, float *v, size_t n);

#endif
