/* standardize.c - per-channel statistics and standardization.
 *
 * u8 sources: the statistics come from a 256-bin histogram per channel, so
 * mean and (population) variance of u/255 are exact sums in double, and the
 * conversion is a 256-entry table per channel holding (u/255 - mean)/std
 * computed in double and rounded once to float: every standardized value is
 * the correctly rounded result of the documented formula.
 *
 * Padding (the data spec's pad=P) happens after standardization: the border
 * pixels are 0, the train mean of the channel, as torchvision's
 * transforms.Pad(P) placed after Normalize. */
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

ns_shape ns_padded_shape(ns_shape s, int pad)
{
    return (ns_shape){s.c, s.h + 2 * pad, s.w + 2 * pad};
}

/* Zero the border rows/columns of one padded plane (hp x wp) around the image. */
static void zero_border(float *o, ns_shape s, int pad)
{
    if (pad == 0) return;
    size_t wp = (size_t)s.w + 2 * (size_t)pad;
    memset(o, 0, (size_t)pad * wp * sizeof *o);
    memset(o + ((size_t)pad + s.h) * wp, 0, (size_t)pad * wp * sizeof *o);
    for (int y = 0; y < s.h; y++) {
        float *row = o + ((size_t)pad + y) * wp;
        memset(row, 0, (size_t)pad * sizeof *row);
        memset(row + pad + s.w, 0, (size_t)pad * sizeof *row);
    }
}

void ns_u8_standardize(const uint8_t *px, size_t n, ns_shape s, const float *mean,
                       const float *std, int pad, float *out)
{
    size_t plane = (size_t)s.h * s.w;
    ns_shape ps = ns_padded_shape(s, pad);
    size_t pplane = (size_t)ps.h * ps.w;
    for (int c = 0; c < s.c; c++) {
        float lut[256];
        for (int v = 0; v < 256; v++) lut[v] = (float)((v / 255.0 - mean[c]) / std[c]);
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = px + (i * s.c + c) * plane;
            float *o = out + (i * s.c + c) * pplane;
            zero_border(o, s, pad);
            for (int y = 0; y < s.h; y++) {
                float *row = o + ((size_t)pad + y) * ps.w + pad;
                for (int x = 0; x < s.w; x++) row[x] = lut[p[(size_t)y * s.w + x]];
            }
        }
    }
}

void ns_pad_images(const float *x, size_t n, ns_shape s, int pad, float *out)
{
    ns_shape ps = ns_padded_shape(s, pad);
    size_t plane = (size_t)s.h * s.w, pplane = (size_t)ps.h * ps.w;
    for (size_t k = 0; k < n * (size_t)s.c; k++) {
        float *o = out + k * pplane;
        zero_border(o, s, pad);
        for (int y = 0; y < s.h; y++)
            memcpy(o + ((size_t)pad + y) * ps.w + pad, x + k * plane + (size_t)y * s.w,
                   (size_t)s.w * sizeof *o);
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
