/* loss.c - softmax cross-entropy (mean) and squared error (sum), and their
 * R-operators; see loss.h. */
#include "normsweep/loss.h"
#include "normsweep/error.h"

#include <math.h>

const char *ns_loss_name(ns_loss_kind kind)
{
    return kind == NS_LOSS_SQUARED_SUM ? "sse" : "ce";
}

double ns_loss_softmax_ce(const float *z, const int32_t *y, int batch, int k, float *dz,
                          int *correct)
{
    double total = 0.0;
    int ok = 0;
    const double inv_b = 1.0 / batch;
    for (int b = 0; b < batch; b++) {
        const float *zb = z + (size_t)b * k;
        int label = y[b];
        NS_ASSERT(label >= 0 && label < k);
        /* log-sum-exp around the max (stable); NaN logits give a NaN loss */
        int arg = 0;
        float m = zb[0];
        for (int j = 1; j < k; j++)
            if (zb[j] > m) { m = zb[j]; arg = j; }
        double se = 0.0;
        for (int j = 0; j < k; j++) se += exp((double)zb[j] - m);
        double lse = m + log(se);
        total += lse - zb[label];
        ok += arg == label;
        if (dz) {
            float *g = dz + (size_t)b * k;
            for (int j = 0; j < k; j++)
                g[j] = (float)((exp((double)zb[j] - lse) - (j == label)) * inv_b);
        }
    }
    if (correct) *correct = ok;
    return total * inv_b;
}

double ns_loss_squared_sum(const float *f, const float *t, int batch, int k, float *df)
{
    double total = 0.0;
    const size_t n = (size_t)batch * k;
    for (size_t i = 0; i < n; i++) {
        double d = (double)f[i] - t[i];
        total += d * d;
        if (df) df[i] = (float)(2.0 * d);
    }
    return total;
}

void ns_loss_softmax_ce_r(const float *z, const float *rz, int batch, int k, float *rdz)
{
    const double inv_b = 1.0 / batch;
    for (int b = 0; b < batch; b++) {
        const float *zb = z + (size_t)b * k, *rb = rz + (size_t)b * k;
        float m = zb[0];
        for (int j = 1; j < k; j++)
            if (zb[j] > m) m = zb[j];
        double se = 0.0, prz = 0.0;
        for (int j = 0; j < k; j++) {
            double e = exp((double)zb[j] - m);
            se += e;
            prz += e * rb[j];
        }
        prz /= se; /* <p, rz> */
        float *out = rdz + (size_t)b * k;
        for (int j = 0; j < k; j++)
            out[j] = (float)(exp((double)zb[j] - m) / se * (rb[j] - prz) * inv_b);
    }
}

void ns_loss_squared_sum_r(const float *rf, int batch, int k, float *rdf)
{
    const size_t n = (size_t)batch * k;
    for (size_t i = 0; i < n; i++) rdf[i] = 2.0f * rf[i];
}
