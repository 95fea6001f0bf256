/* stats.c - the per-unit kernels every normalization shares.
 *
 * Tensors are x[batch][C][HW]; unit c owns the planes x[b][c][0..HW).
 * Three regimes, chosen by plane size:
 *   HW >= LANES  conv: work plane by plane. A plane (<= 4 KB at 32x32) stays
 *                in L1, so a per-plane two-pass (mean, then centered squares)
 *                costs one pass over memory; planes are combined in double
 *                (Chan et al.), which is exact enough for any batch.
 *   HW == 1      dense: unit c is a column of the batch x C matrix, so loop
 *                over rows and keep per-unit double accumulators: the inner
 *                loop runs along c, contiguous.
 *   1 < HW < 16  small conv planes (the last VGG stages, 2x2 and 4x4): plain
 *                double accumulation per element.
 * Variance without two passes over memory in the last two regimes: sums of
 * (x - K) with K = the unit's first element (a sample of the unit, so
 * |mean - K| is a few std at most) in double: the cancellation in
 * sum d^2 - (sum d)^2/m costs ~1e-16 * ((mean-K)/std)^2, i.e. nothing.
 *
 * Vectorization: the build uses -O2 (GCC's "very cheap" vectorizer, which
 * skips loops of unknown trip count) and no -march. So loops are written as
 * fixed 16-wide blocks the SLP vectorizer always takes, and the tensor-level
 * kernels are compiled for AVX-512 / AVX2 / baseline and picked at load time
 * (target_clones). Reductions keep 16 explicit lanes combined in a fixed
 * order and ISO C mode forbids FMA contraction, so every clone gives the
 * same bits.
 */
#include "nn/norm/norm_impl.h"

#include <math.h>
#include <string.h>

#define LANES 16
#include "core/hot.h"
/* NS_HOT, for the elementwise kernels only: at -O2 GCC 12's very-cheap cost
 * model left their dense (HW == 1) loops scalar (they need a runtime alias
 * check against the per-unit coefficient arrays). O3 changes no float result:
 * ISO C mode keeps FMA contraction off and nothing is reassociated without
 * fast-math. (O3 made the double-accumulating reductions slower: measured
 * 2x on the DLN, so those keep NS_CLONES.) */
#define INL static inline __attribute__((always_inline))

/* ---------------------------------------------------------------- plane helpers */

INL double lanes_total(const float acc[LANES])
{
    double t = 0.0;
    for (int k = 0; k < LANES; k++) t += acc[k];
    return t;
}

INL double run_sum(const float *restrict x, size_t n)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) acc[k] += x[i + k];
    for (int k = 0; i < n; i++, k++) acc[k] += x[i];
    return lanes_total(acc);
}

INL double run_sqdev(const float *restrict x, size_t n, float shift)
{
    float acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            float d = x[i + k] - shift;
            acc[k] += d * d;
        }
    for (int k = 0; i < n; i++, k++) {
        float d = x[i] - shift;
        acc[k] += d * d;
    }
    return lanes_total(acc);
}

INL void run_affine(float *restrict out, const float *restrict x, size_t n, float shift,
                    float scale, float bias)
{
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) out[i + k] = (x[i + k] - shift) * scale + bias;
    for (; i < n; i++) out[i] = (x[i] - shift) * scale + bias;
}

/* s == NULL is a separate inlined instance: the branch is resolved at compile time. */
INL void run_grad_sums(const float *restrict g, const float *restrict s, const float *restrict x,
                       size_t n, float shift, double *sum_g, double *sum_gx)
{
    float ag[LANES] = {0}, ax[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            float gi = s ? g[i + k] * s[i + k] : g[i + k];
            ag[k] += gi;
            ax[k] += gi * (x[i + k] - shift);
        }
    for (int k = 0; i < n; i++, k++) {
        float gi = s ? g[i] * s[i] : g[i];
        ag[k] += gi;
        ax[k] += gi * (x[i] - shift);
    }
    *sum_g += lanes_total(ag);
    *sum_gx += lanes_total(ax);
}

INL void run_grad_apply(float *restrict din, const float *restrict g, const float *restrict s,
                        const float *restrict x, size_t n, float a, float b, float shift,
                        float c0)
{
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            float gi = s ? g[i + k] * s[i + k] : g[i + k];
            din[i + k] = a * gi + b * (x[i + k] - shift) + c0;
        }
    for (; i < n; i++) {
        float gi = s ? g[i] * s[i] : g[i];
        din[i] = a * gi + b * (x[i] - shift) + c0;
    }
}

/* ---------------------------------------------------------------- moments */

NS_CLONES void ns_nk_moments(const float *x, int batch, int C, int HW, double *mean, double *var)
{
    const size_t N = (size_t)C * HW;
    if (HW >= LANES) {
        /* Chan: fold each plane's (mean, M2) into the unit's running (mean, M2). */
        for (int c = 0; c < C; c++) mean[c] = var[c] = 0.0;
        for (int b = 0; b < batch; b++) {
            double na = (double)b * HW, n = na + HW;
            for (int c = 0; c < C; c++) {
                const float *p = x + b * N + (size_t)c * HW;
                double pm = run_sum(p, HW) / HW;
                double pm2 = run_sqdev(p, HW, (float)pm);
                /* run_sqdev is centered on the float-rounded mean: correct it. */
                double off = pm - (double)(float)pm;
                pm2 -= HW * off * off;
                double delta = pm - mean[c];
                mean[c] += delta * HW / n;
                var[c] += pm2 + delta * delta * na * HW / n;
            }
        }
        double m = (double)batch * HW;
        for (int c = 0; c < C; c++) var[c] = var[c] > 0.0 ? var[c] / m : 0.0;
        return;
    }
    /* Shifted sums in double: mean[] holds sum d, var[] holds sum d^2. */
    double K[LANES];
    for (int c = 0; c < C; c++) mean[c] = var[c] = 0.0;
    if (HW == 1) {
        for (int c0 = 0; c0 < C; c0 += LANES) {
            int nc = C - c0 < LANES ? C - c0 : LANES;
            for (int k = 0; k < nc; k++) K[k] = x[c0 + k];
            double s1[LANES] = {0}, s2[LANES] = {0};
            for (int b = 0; b < batch; b++) {
                const float *row = x + b * N + c0;
                if (nc == LANES) {
                    for (int k = 0; k < LANES; k++) {
                        double d = row[k] - K[k];
                        s1[k] += d;
                        s2[k] += d * d;
                    }
                } else {
                    for (int k = 0; k < nc; k++) {
                        double d = row[k] - K[k];
                        s1[k] += d;
                        s2[k] += d * d;
                    }
                }
            }
            for (int k = 0; k < nc; k++) {
                double m = batch, md = s1[k] / m;
                mean[c0 + k] = K[k] + md;
                double v = s2[k] / m - md * md;
                var[c0 + k] = v > 0.0 ? v : 0.0;
            }
        }
        return;
    }
    for (int c = 0; c < C; c++) {
        double k = x[(size_t)c * HW], s1 = 0.0, s2 = 0.0;
        for (int b = 0; b < batch; b++) {
            const float *p = x + b * N + (size_t)c * HW;
            for (int i = 0; i < HW; i++) {
                double d = p[i] - k;
                s1 += d;
                s2 += d * d;
            }
        }
        double m = (double)batch * HW, md = s1 / m, v = s2 / m - md * md;
        mean[c] = k + md;
        var[c] = v > 0.0 ? v : 0.0;
    }
}

/* l1 and linf are not on the speed path the issue measures (BN is): plain loops. */
void ns_nk_absmean(const float *x, int batch, int C, int HW, double *absmean)
{
    const size_t N = (size_t)C * HW;
    for (int c = 0; c < C; c++) {
        double s = 0.0;
        for (int b = 0; b < batch; b++) {
            const float *p = x + b * N + (size_t)c * HW;
            for (int i = 0; i < HW; i++) s += fabsf(p[i]);
        }
        absmean[c] = s / ((double)batch * HW);
    }
}

void ns_nk_absmax(const float *x, int batch, int C, int HW, double *absmax, size_t *argmax)
{
    const size_t N = (size_t)C * HW;
    for (int c = 0; c < C; c++) {
        float best = -1.0f;
        size_t at = (size_t)c * HW;
        for (int b = 0; b < batch; b++) {
            size_t o = b * N + (size_t)c * HW;
            for (int i = 0; i < HW; i++)
                if (fabsf(x[o + i]) > best) {
                    best = fabsf(x[o + i]);
                    at = o + i;
                }
        }
        absmax[c] = best;
        argmax[c] = at;
    }
}

/* ---------------------------------------------------------------- elementwise */

NS_HOT void ns_nk_affine(float *out, const float *x, int batch, int C, int HW, const float *shift,
                      const float *scale, const float *bias)
{
    const size_t N = (size_t)C * HW;
    if (HW == 1) {
        for (int b = 0; b < batch; b++) {
            float *restrict o = out + b * N;
            const float *restrict xi = x + b * N;
            int c = 0;
            for (; c + LANES <= C; c += LANES)
                for (int k = 0; k < LANES; k++)
                    o[c + k] = (xi[c + k] - shift[c + k]) * scale[c + k] + bias[c + k];
            for (; c < C; c++) o[c] = (xi[c] - shift[c]) * scale[c] + bias[c];
        }
        return;
    }
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < C; c++) {
            size_t o = b * N + (size_t)c * HW;
            run_affine(out + o, x + o, HW, shift[c], scale[c], bias[c]);
        }
}

INL void grad_sums_impl(const float *g, const float *s, const float *x, int batch, int C, int HW,
                        const float *shift, double *sum_g, double *sum_gx)
{
    const size_t N = (size_t)C * HW;
    for (int c = 0; c < C; c++) sum_g[c] = sum_gx[c] = 0.0;
    if (HW >= LANES) {
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < C; c++) {
                size_t o = b * N + (size_t)c * HW;
                run_grad_sums(g + o, s ? s + o : NULL, x + o, HW, shift[c], &sum_g[c],
                              &sum_gx[c]);
            }
        return;
    }
    if (HW == 1) {
        for (int c0 = 0; c0 < C; c0 += LANES) {
            int nc = C - c0 < LANES ? C - c0 : LANES;
            double ag[LANES] = {0}, ax[LANES] = {0};
            for (int b = 0; b < batch; b++) {
                size_t o = b * N + c0;
                /* a full block has a constant trip count, so it is vectorized
                 * (a variable nc left this loop scalar, accumulators in memory) */
                if (nc == LANES) {
                    for (int k = 0; k < LANES; k++) {
                        double gi = s ? g[o + k] * s[o + k] : g[o + k];
                        ag[k] += gi;
                        ax[k] += gi * (x[o + k] - shift[c0 + k]);
                    }
                } else {
                    for (int k = 0; k < nc; k++) {
                        double gi = s ? g[o + k] * s[o + k] : g[o + k];
                        ag[k] += gi;
                        ax[k] += gi * (x[o + k] - shift[c0 + k]);
                    }
                }
            }
            for (int k = 0; k < nc; k++) {
                sum_g[c0 + k] = ag[k];
                sum_gx[c0 + k] = ax[k];
            }
        }
        return;
    }
    for (int b = 0; b < batch; b++)
        for (int c = 0; c < C; c++) {
            size_t o = b * N + (size_t)c * HW;
            double ag = 0.0, ax = 0.0;
            for (int i = 0; i < HW; i++) {
                double gi = s ? g[o + i] * s[o + i] : g[o + i];
                ag += gi;
                ax += gi * (x[o + i] - shift[c]);
            }
            sum_g[c] += ag;
            sum_gx[c] += ax;
        }
}

NS_CLONES void ns_nk_grad_sums(const float *g, const float *s, const float *x, int batch, int C, int HW,
                         const float *shift, double *sum_g, double *sum_gx)
{
    if (s)
        grad_sums_impl(g, s, x, batch, C, HW, shift, sum_g, sum_gx);
    else
        grad_sums_impl(g, NULL, x, batch, C, HW, shift, sum_g, sum_gx);
}

INL void grad_apply_impl(float *din, const float *g, const float *s, const float *x, int batch,
                         int C, int HW, const float *restrict a, const float *restrict b,
                         const float *restrict shift, const float *restrict c0)
{
    const size_t N = (size_t)C * HW;
    if (HW == 1) {
        for (int i = 0; i < batch; i++) {
            float *restrict d = din + i * N;
            const float *restrict gi = g + i * N, *restrict xi = x + i * N;
            const float *restrict si = s ? s + i * N : NULL;
            int c = 0;
            for (; c + LANES <= C; c += LANES)
                for (int k = 0; k < LANES; k++) {
                    float gv = si ? gi[c + k] * si[c + k] : gi[c + k];
                    d[c + k] = a[c + k] * gv + b[c + k] * (xi[c + k] - shift[c + k]) + c0[c + k];
                }
            for (; c < C; c++) {
                float gv = si ? gi[c] * si[c] : gi[c];
                d[c] = a[c] * gv + b[c] * (xi[c] - shift[c]) + c0[c];
            }
        }
        return;
    }
    for (int i = 0; i < batch; i++)
        for (int c = 0; c < C; c++) {
            size_t o = i * N + (size_t)c * HW;
            run_grad_apply(din + o, g + o, s ? s + o : NULL, x + o, HW, a[c], b[c], shift[c],
                           c0[c]);
        }
}

NS_HOT void ns_nk_grad_apply(float *din, const float *g, const float *s, const float *x, int batch,
                          int C, int HW, const float *a, const float *b, const float *shift,
                          const float *c0)
{
    if (s)
        grad_apply_impl(din, g, s, x, batch, C, HW, a, b, shift, c0);
    else
        grad_apply_impl(din, g, NULL, x, batch, C, HW, a, b, shift, c0);
}

/* ---------------------------------------------------------------- runs (group.c, noisy.c) */

NS_CLONES double ns_nk_run_sum(const float *x, size_t n) { return run_sum(x, n); }

NS_CLONES double ns_nk_run_sqdev(const float *x, size_t n, float shift) { return run_sqdev(x, n, shift); }

NS_CLONES void ns_nk_run_affine(float *out, const float *x, size_t n, float shift, float scale,
                          float bias)
{
    run_affine(out, x, n, shift, scale, bias);
}

NS_CLONES void ns_nk_run_grad_sums(const float *g, const float *x, size_t n, float shift, double *sum_g,
                             double *sum_gx)
{
    run_grad_sums(g, NULL, x, n, shift, sum_g, sum_gx);
}

NS_CLONES void ns_nk_run_grad_apply(float *din, const float *g, const float *x, size_t n, float a,
                              float b, float shift, float c0)
{
    run_grad_apply(din, g, NULL, x, n, a, b, shift, c0);
}

NS_CLONES void ns_nk_run_noise(float *out, const float *s, const float *m, size_t n)
{
    float *restrict o = out;
    const float *restrict sp = s, *restrict mp = m;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) o[i + k] = sp[i + k] * o[i + k] + mp[i + k];
    for (; i < n; i++) o[i] = sp[i] * o[i] + mp[i];
}
