/* relu.c - y = max(x, 0); dx = dy where y > 0 (torch's threshold_backward on
 * the output), so the gradient at x = 0 is 0. Also identity (y = x). Both
 * with their R-ops (layer.h). */
#include "layers.h"

#include <string.h>

NS_HOT static void relu_fwd(float *restrict y, const float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

NS_HOT static void relu_bwd(float *restrict dx, const float *restrict dy,
                               const float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

static void relu_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *p)
{
    (void)p;
    relu_fwd(out, in, (size_t)batch * ns_shape_size(l->in_shape));
}

static void relu_backward(ns_layer *l, float *din, const float *dout, const float *in,
                          const float *out, int batch)
{
    (void)in;
    if (din) relu_bwd(din, dout, out, (size_t)batch * ns_shape_size(l->in_shape));
}

/* R-ops: ReLU is linear on each side of its kink, so R(out) = rin where
 * out > 0 and R(din) = R(dout) there (the second derivative is 0 a.e.; at
 * x = 0 the gradient's convention, 0, holds for the R-ops too). */
static void relu_r_forward(ns_layer *l, float *rout, const float *rin, const float *v,
                           const float *in, const float *out, int batch, float *scratch)
{
    (void)v;
    (void)in;
    (void)scratch;
    size_t n = (size_t)batch * ns_shape_size(l->in_shape);
    if (rin) relu_bwd(rout, rin, out, n);
    else memset(rout, 0, n * sizeof *rout);
}

static void relu_r_backward(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                            const float *dout, const float *rin, const float *v, const float *in,
                            const float *out, int batch, float *scratch)
{
    (void)rdw;
    (void)dout;
    (void)rin;
    (void)v;
    (void)scratch;
    relu_backward(l, rdin, rdout, in, out, batch);
}

static const ns_layer_ops relu_ops = {
    .kind = "relu", .forward = relu_forward, .backward = relu_backward,
    .r_forward = relu_r_forward, .r_backward = relu_r_backward,
};

ns_status ns_relu_create(ns_layer *l, ns_shape in, int max_batch)
{
    NS_CHECK(ns_shape_size(in) > 0, NS_ERR_ARG, "relu: empty shape");
    ns_layer_setup(l, &relu_ops, in, in, max_batch);
    return NS_OK;
}

static void identity_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *p)
{
    (void)p;
    memcpy(out, in, (size_t)batch * ns_shape_size(l->in_shape) * sizeof *out);
}

static void identity_backward(ns_layer *l, float *din, const float *dout, const float *in,
                              const float *out, int batch)
{
    (void)in;
    (void)out;
    if (din) memcpy(din, dout, (size_t)batch * ns_shape_size(l->in_shape) * sizeof *din);
}

static void identity_r_forward(ns_layer *l, float *rout, const float *rin, const float *v,
                               const float *in, const float *out, int batch, float *scratch)
{
    (void)v;
    (void)in;
    (void)out;
    (void)scratch;
    if (rin) identity_forward(l, rout, rin, batch, NULL);
    else memset(rout, 0, (size_t)batch * ns_shape_size(l->in_shape) * sizeof *rout);
}

static void identity_r_backward(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                                const float *dout, const float *rin, const float *v,
                                const float *in, const float *out, int batch, float *scratch)
{
    (void)rdw;
    (void)dout;
    (void)rin;
    (void)v;
    (void)scratch;
    identity_backward(l, rdin, rdout, in, out, batch);
}

static const ns_layer_ops identity_ops = {
    .kind = "identity", .forward = identity_forward, .backward = identity_backward,
    .r_forward = identity_r_forward, .r_backward = identity_r_backward,
};

ns_status ns_identity_create(ns_layer *l, ns_shape in, int max_batch)
{
    NS_CHECK(ns_shape_size(in) > 0, NS_ERR_ARG, "identity: empty shape");
    ns_layer_setup(l, &identity_ops, in, in, max_batch);
    return NS_OK;
}
