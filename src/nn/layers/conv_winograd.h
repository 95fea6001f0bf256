/* conv_winograd.h - 3x3 stride-1 pad-1 convolution by Winograd F(2x2, 3x3),
 * private to conv.c (and the tests through ns_conv_create_algo). */
#ifndef NS_NN_CONV_WINOGRAD_H
#define NS_NN_CONV_WINOGRAD_H

#include "normsweep/error.h"

typedef struct ns_wino ns_wino;

/* Whether the Winograd path applies: k = 3, s = 1, p = 1, even H and W. */
int ns_wino_fits(int k, int s, int p, int H, int W);

/* Workspace for cin -> cout on H x W maps and batches up to max_batch;
 * NULL when out of memory. */
ns_wino *ns_wino_create(int cin, int cout, int H, int W, int max_batch);
void ns_wino_destroy(ns_wino *g);

/* y[b][cout][H][W] = conv(x[b][cin][H][W], w[cout][cin][3][3]) (+ bias). */
void ns_wino_forward(ns_wino *g, const float *w, const float *bias, float *y, const float *x,
                     int batch);

/* dw (the weight part only, overwritten) = dL/dw and dx (if not NULL,
 * overwritten) = dL/dx: exactly the gradient of the Winograd forward above
 * (which equals the convolution up to rounding). The bias gradient is the
 * caller's (row sums of dy). */
void ns_wino_backward(ns_wino *g, const float *w, float *dw, float *dx, const float *dy,
                      const float *x, int batch);

#endif
