/* activations.c - distributions of tracked units of a normalized layer's
 * output (the paper's Fig. 2/7 activation plots): quantiles, mean, std of one
 * unit over the batch (conv: over batch x height x width). */
#include "normsweep/probe.h"
#include "normsweep/rng.h"

#include <math.h>
#include <stdlib.h>

const double ns_quantiles_default[NS_NQUANTILES_DEFAULT] = {0.025, 0.16, 0.5, 0.84, 0.975};

ns_status ns_units_choose(uint64_t seed, int layer, int nunits, int k, int *units, int *chosen)
{
    NS_CHECK(nunits >= 1 && k >= 1 && units, NS_ERR_ARG,
             "activations: choose %d of %d units (need k >= 1, nunits >= 1)", k, nunits);
    NS_CHECK(layer >= 0, NS_ERR_ARG, "activations: layer id %d < 0", layer);
    ns_rng r;
    ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_UNITS, layer));
    /* selection sampling (Knuth's Algorithm S): each k-subset equally likely,
     * output already ascending, no scratch memory */
    int want = k < nunits ? k : nunits, got = 0;
    for (int t = 0; t < nunits && got < want; t++)
        if ((double)(nunits - t) * ns_rng_uniform_double(&r) < (double)(want - got))
            units[got++] = t;
    NS_ASSERT(got == want);
    for (int j = got; j < k; j++) units[j] = -1;
    if (chosen) *chosen = got;
    return NS_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy's default 'linear' quantile of sorted s[0..n). */
static double quantile_sorted(const float *s, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    if (lo >= n - 1) return s[n - 1];
    double a = s[lo], b = s[lo + 1], f = pos - (double)lo;
    if (f == 0 || a == b) return a;
    /* between a finite value and an infinity the interpolation's limit is the
     * infinity (numpy's lerp gives NaN here); between -inf and +inf: NaN */
    if (isinf(a) || isinf(b)) return isinf(a) && isinf(b) ? NAN : (isinf(a) ? a : b);
    return a + (b - a) * f;
}

ns_status ns_activation_stats(const float *x, int batch, int channels, int spatial,
                              const int *units, int k, const double *q, int nq,
                              float *scratch, double *quant, double *mean, double *std)
{
    NS_CHECK(batch >= 1 && channels >= 1 && spatial >= 1, NS_ERR_ARG,
             "activations: shape batch=%d channels=%d spatial=%d must be positive", batch,
             channels, spatial);
    NS_CHECK(k >= 0 && nq >= 0, NS_ERR_ARG, "activations: k = %d, nq = %d must be >= 0", k, nq);
    for (int m = 0; m < nq; m++)
        NS_CHECK(q[m] >= 0 && q[m] <= 1, NS_ERR_ARG,
                 "activations: quantile q[%d] = %g outside [0, 1]", m, q[m]);
    for (int j = 0; j < k; j++)
        NS_CHECK(units[j] >= -1 && units[j] < channels, NS_ERR_ARG,
                 "activations: units[%d] = %d outside [0, %d) (or -1 for padding)", j, units[j],
                 channels);

    const size_t ns = (size_t)batch * spatial;
    for (int j = 0; j < k; j++) {
        int c = units[j];
        double *qrow = quant + (size_t)j * nq;
        int has_nan = c < 0;
        double sum = 0;
        for (int b = 0; b < batch && !has_nan; b++) {
            const float *src = x + ((size_t)b * channels + c) * spatial;
            for (int s = 0; s < spatial; s++) {
                float v = src[s];
                has_nan |= isnan(v);
                scratch[(size_t)b * spatial + s] = v;
                sum += v;
            }
        }
        if (has_nan) {
            for (int m = 0; m < nq; m++) qrow[m] = NAN;
            mean[j] = std[j] = NAN;
            continue;
        }
        double mu = sum / (double)ns, var = 0;
        for (size_t i = 0; i < ns; i++) var += (scratch[i] - mu) * (scratch[i] - mu);
        mean[j] = mu;
        std[j] = sqrt(var / (double)ns);
        qsort(scratch, ns, sizeof(float), cmp_float);
        for (int m = 0; m < nq; m++) qrow[m] = quantile_sorted(scratch, ns, q[m]);
    }
    return NS_OK;
}
