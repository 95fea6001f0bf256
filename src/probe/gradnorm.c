/* gradnorm.c - gradient norms, total and per measured layer (no evaluation:
 * the step's own gradient), and the double-accumulated norm all probes use. */
#include "normsweep/probe.h"

#include <math.h>

double ns_vec_norm(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

void ns_probe_grad_norms(const ns_objective *obj, const float *g, double *total,
                         double *per_layer)
{
    if (total) *total = ns_vec_norm(g, obj->n);
    if (per_layer)
        for (int i = 0; i < obj->nlayers; i++)
            per_layer[i] = ns_vec_norm(g + obj->layer_off[i], obj->layer_len[i]);
}
