/* standardize.c - per-channel statistics and standardization.
 *
 * u8 sources: the statistics come from a 256-bin histogram per channel, so
 * mean and (population) variance of u/255 are exact sums in double, and the
 * conversion is a 256-entry table per channel holding (u/255 - mean)/std
 * computed in double and rounded once to float: every standardized value is
 * the correctly rounded result of the documented formula. */
#include "data/data_internal.h"

#include <math.h>
#include <string.h>

static double safe_std(double var) { return var > NS_STD_FLOOR * NS_STD_FLOOR ? sqrt(var) : 1.0; }

void ns_u8_channel_stats(const uint8_t *px, size_t n, ns_shape s, double *mean, double *std)
{
    size_t plane = (size_t)s.h * s.w;
    for (int c = 0; c < s.c; c++) {
        uint64_t hist[256];
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = px + (i * s.c + c) * plane;
            for (size_t j = 0; j < plane; j++) hist[p[j]]++;
        }
        double cnt = (double)n * plane, sum = 0.0, ss = 0.0;
        for (int v = 0; v < 256; v++) sum += (double)hist[v] * v;
        double m = cnt > 0 ? sum / cnt / 255.0 : 0.0;
        for (int v = 0; v < 256; v++) {
            double dv = v / 255.0 - m;
            ss += (double)hist[v] * dv * dv;
        }
        mean[c] = m;
        std[c] = safe_std(cnt > 0 ? ss / cnt : 0.0);
    }
}

void ns_u8_standardize(const uint8_t *px, size_t n, ns_shape s, const float *mean,
                       const float *std, float *out)
{
    size_t plane = (size_t)s.h * s.w;
    for (int c = 0; c < s.c; c++) {
        float lut[256];
        for (int v = 0; v < 256; v++) lut[v] = (float)((v / 255.0 - mean[c]) / std[c]);
        for (size_t i = 0; i < n; i++) {
            size_t off = (i * s.c + c) * plane;
            const uint8_t *p = px + off;
            float *o = out + off;
            for (size_t j = 0; j < plane; j++) o[j] = lut[p[j]];
        }
    }
}

void ns_float_channel_stats(const float *x, size_t n, ns_shape s, double *mean, double *std)
{
    size_t plane = (size_t)s.h * s.w;
    double cnt = (double)n * plane;
    for (int c = 0; c < s.c; c++) {
        double sum = 0.0, ss = 0.0;
        for (size_t i = 0; i < n; i++) {
            const float *p = x + (i * s.c + c) * plane;
            for (size_t j = 0; j < plane; j++) sum += p[j];
        }
        double m = cnt > 0 ? sum / cnt : 0.0;
        for (size_t i = 0; i < n; i++) {
            const float *p = x + (i * s.c + c) * plane;
            for (size_t j = 0; j < plane; j++) ss += (p[j] - m) * (p[j] - m);
        }
        mean[c] = m;
        std[c] = safe_std(cnt > 0 ? ss / cnt : 0.0);
    }
}

void ns_float_standardize(float *x, size_t n, ns_shape s, const float *mean, const float *std)
{
    size_t plane = (size_t)s.h * s.w;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < s.c; c++) {
            float *p = x + (i * s.c + c) * plane;
            for (size_t j = 0; j < plane; j++) p[j] = (float)((p[j] - (double)mean[c]) / std[c]);
        }
}
