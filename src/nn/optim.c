/* optim.c - SGD (momentum, weight decay) over flat buffers; see optim.h. */
#include "normsweep/optim.h"

void ns_sgd_step(const ns_sgd_config *c, float *w, const float *g, float *v, size_t n)
{
    const float lr = (float)c->lr, mu = (float)c->momentum, wd = (float)c->weight_decay;
    if (mu != 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            v[i] = mu * v[i] + gi;
            w[i] -= lr * v[i];
        }
    } else if (wd != 0.0f) {
        for (size_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
    } else {
        for (size_t i = 0; i < n; i++) w[i] -= lr * g[i];
    }
}
