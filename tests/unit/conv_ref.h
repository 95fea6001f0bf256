/* conv_ref.h - the direct convolution in double, for the conv tests
 * (test_layers.c, test_conv.c): forward, and the gradients of
 * L = sum(y * dy) with respect to x, w and the bias. Layouts as
 * torch.nn.Conv2d: x[B][C][H][W], w[CO][C][k][k], y[B][CO][Ho][Wo]. */
#ifndef NS_TEST_CONV_REF_H
#define NS_TEST_CONV_REF_H

#include <stddef.h>

/* direct 7-loop convolution (bias may be NULL) */
static inline void conv_ref(const float *x, const float *w, const float *bias, float *y, int B,
                            int C, int H, int W, int CO, int k, int s, int p)
{
    int Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    for (int b = 0; b < B; b++)
        for (int co = 0; co < CO; co++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++) {
                                int iy = oy * s - p + ki, ix = ox * s - p + kj;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                acc += (double)x[((b * C + c) * H + iy) * W + ix] *
                                       w[((co * C + c) * k + ki) * k + kj];
                            }
                    y[((b * CO + co) * Ho + oy) * Wo + ox] = (float)acc;
                }
}

/* dx[B][C][H][W], dw[CO][C][k][k], db[CO] (zeroed here) for output gradient dy */
static inline void conv_ref_grad(const float *x, const float *w, const float *dy, double *dx,
                                 double *dw, double *db, int B, int C, int H, int W, int CO,
                                 int k, int s, int p)
{
    int Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
    for (size_t i = 0; i < (size_t)B * C * H * W; i++) dx[i] = 0.0;
    for (size_t i = 0; i < (size_t)CO * C * k * k; i++) dw[i] = 0.0;
    for (int co = 0; co < CO; co++) db[co] = 0.0;
    for (int b = 0; b < B; b++)
        for (int co = 0; co < CO; co++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    double g = dy[((b * CO + co) * Ho + oy) * Wo + ox];
                    db[co] += g;
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++) {
                                int iy = oy * s - p + ki, ix = ox * s - p + kj;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                size_t xi = (size_t)((b * C + c) * H + iy) * W + ix;
                                size_t wi = (size_t)((co * C + c) * k + ki) * k + kj;
                                dx[xi] += g * w[wi];
                                dw[wi] += g * x[xi];
                            }
                }
}

#endif
