/* gradnorm.c - gradient norms, total and per measured layer (no evaluation:
 * the step's own gradient), and the double-accumulated norm all probes use. */
#include "probe_internal.h"

#include <math.h>

/* Sums of squares in 8 interleaved double accumulators (lane i % 8), added
 * in a fixed order at the end: one chain of n dependent additions costs 4
 * cycles per element (0.45 ms for the 335k parameters of the MLP, about half
 * a training step), 8 chains run at the adders' throughput. The order is
 * fixed in the source, so the result does not depend on the build. */
#define NS_LANES 8

static double lanes_total(const double *acc)
{
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

NS_HOT double ns_vec_norm(const float *x, size_t n)
{
    double acc[NS_LANES] = {0};
    size_t i = 0;
    for (; i + NS_LANES <= n; i += NS_LANES)
        for (int k = 0; k < NS_LANES; k++) acc[k] += (double)x[i + k] * x[i + k];
    for (; i < n; i++) acc[i % NS_LANES] += (double)x[i] * x[i];
    return sqrt(lanes_total(acc));
}

NS_HOT double ns_vec_dist(const float *a, const float *b, size_t n)
{
    double acc[NS_LANES] = {0};
    size_t i = 0;
    for (; i + NS_LANES <= n; i += NS_LANES)
        for (int k = 0; k < NS_LANES; k++) {
            double e = (double)a[i + k] - b[i + k];
            acc[k] += e * e;
        }
    for (; i < n; i++) {
        double e = (double)a[i] - b[i];
        acc[i % NS_LANES] += e * e;
    }
    return sqrt(lanes_total(acc));
}

void ns_probe_grad_norms(const ns_objective *obj, const float *g, double *total,
                         double *per_layer)
{
    if (total) *total = ns_vec_norm(g, obj->n);
    if (per_layer)
        for (int i = 0; i < obj->nlayers; i++)
            per_layer[i] = ns_vec_norm(g + obj->layer_off[i], obj->layer_len[i]);
}

NS_HOT void ns_vec_step(const float *w, double eta, const float *d, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = (float)((double)w[i] - eta * d[i]);
}

/* ns_vec_dist(a, b) and ns_vec_step(w, eta, d -> out) in one pass over memory:
 * the landscape probe measures ||g - g_k|| and forms the next point w - eta_{k+1} g
 * together, reading g once (the probe is memory-bound between evaluations). Same
 * arithmetic, same lanes, so the same bits as the two separate calls. */
NS_HOT double ns_vec_dist_step(const float *a, const float *b, const float *w, double eta,
                                     const float *d, float *out, size_t n)
{
    double acc[NS_LANES] = {0};
    size_t i = 0;
    for (; i + NS_LANES <= n; i += NS_LANES)
        for (int k = 0; k < NS_LANES; k++) {
            double e = (double)a[i + k] - b[i + k];
            acc[k] += e * e;
            out[i + k] = (float)((double)w[i + k] - eta * d[i + k]);
        }
    for (; i < n; i++) {
        double e = (double)a[i] - b[i];
        acc[i % NS_LANES] += e * e;
        out[i] = (float)((double)w[i] - eta * d[i]);
    }
    return sqrt(lanes_total(acc));
}
