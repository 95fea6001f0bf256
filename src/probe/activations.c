/* activations.c - distributions of tracked units of a normalized layer's
 * output (the paper's Fig. 2/7 activation plots): quantiles, mean, std of one
 * unit over the batch (conv: over batch x height x width). */
#include "normsweep/probe.h"
#include "normsweep/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Partial sort: afterwards a[r] holds the r-th smallest value for every rank
 * in ranks[0..nr) (ascending, inside [lo, hi)), like C++'s nth_element for
 * several ranks at once. Expected O(n log nr) instead of a full sort's
 * O(n log n): 16 units x 131k values take 0.09 s instead of qsort's 0.32 s
 * (the gather and the moments included). Three-way
 * partitioning keeps it linear on the many ties of post-ReLU or sparse data.
 * No NaN in a (the caller checks). */
static void select_ranks(float *a, size_t lo, size_t hi, const size_t *ranks, int nr,
                         uint32_t *seed)
{
    while (nr > 0) {
        if (hi - lo <= 16) { /* insertion sort the small rest */
            for (size_t i = lo + 1; i < hi; i++) {
                float v = a[i];
                size_t j = i;
                for (; j > lo && a[j - 1] > v; j--) a[j] = a[j - 1];
                a[j] = v;
            }
            return;
        }
        /* pivot: median of three pseudo-random positions (deterministic) */
        float c[3];
        for (int k = 0; k < 3; k++) {
            *seed = *seed * 1664525u + 1013904223u;
            c[k] = a[lo + (size_t)(((uint64_t)*seed * (hi - lo)) >> 32)];
        }
        float p = c[0] > c[1] ? (c[1] > c[2] ? c[1] : (c[0] > c[2] ? c[2] : c[0]))
                              : (c[0] > c[2] ? c[0] : (c[1] > c[2] ? c[2] : c[1]));
        size_t lt = lo, i = lo, gt = hi; /* [lo,lt) < p, [lt,gt) == p, [gt,hi) > p */
        while (i < gt) {
            float v = a[i];
            if (v < p) {
                a[i++] = a[lt];
                a[lt++] = v;
            } else if (v > p) {
                a[i] = a[--gt];
                a[gt] = v;
            } else {
                i++;
            }
        }
        int nl = 0, nm = 0;
        while (nl < nr && ranks[nl] < lt) nl++;
        while (nl + nm < nr && ranks[nl + nm] < gt) nm++;
        /* ranks in [lt, gt) are final; recurse on the left, loop on the right */
        select_ranks(a, lo, lt, ranks, nl, seed);
        ranks += nl + nm;
        nr -= nl + nm;
        lo = gt;
    }
}

/* numpy's default 'linear' quantile, given s with the needed ranks in place. */
static double quantile_at(const float *s, size_t n, double q)
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
    NS_CHECK(k >= 0 && nq >= 0 && nq <= NS_MAX_QUANTILES, NS_ERR_ARG,
             "activations: k = %d, nq = %d (need k >= 0, 0 <= nq <= %d)", k, nq,
             NS_MAX_QUANTILES);
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
        /* the ranks every quantile interpolates between, ascending, unique */
        size_t ranks[2 * NS_MAX_QUANTILES];
        int nr = 0;
        for (int m = 0; m < nq; m++) {
            size_t r0 = (size_t)floor(q[m] * (double)(ns - 1));
            size_t cand[2] = {r0, r0 + 1 < ns ? r0 + 1 : r0};
            for (int e = 0; e < 2; e++) {
                int pos = nr;
                while (pos > 0 && ranks[pos - 1] > cand[e]) pos--;
                if (pos > 0 && ranks[pos - 1] == cand[e]) continue;
                memmove(ranks + pos + 1, ranks + pos, (size_t)(nr - pos) * sizeof *ranks);
                ranks[pos] = cand[e];
                nr++;
            }
        }
        uint32_t seed = 0x9e3779b9u ^ (uint32_t)c;
        select_ranks(scratch, 0, ns, ranks, nr, &seed);
        for (int m = 0; m < nq; m++) qrow[m] = quantile_at(scratch, ns, q[m]);
    }
    return NS_OK;
}
