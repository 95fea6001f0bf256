/* common.c - helpers shared by the layers: field setup, views, weight init. */
#include "layers.h"

#include <math.h>
#include <string.h>

void ns_layer_setup(ns_layer *l, const ns_layer_ops *ops, ns_shape in, ns_shape out, int max_batch)
{
    memset(l, 0, sizeof *l);
    l->ops = ops;
    l->in_shape = in;
    l->out_shape = out;
    l->max_batch = max_batch;
}

void ns_layer_add_view(ns_layer *l, const char *suffix, size_t offset, int is_state, int ndim,
                       const int *dims)
{
    NS_ASSERT(l->nviews < 4 && ndim >= 1 && ndim <= 4);
    ns_param_view *v = &l->views[l->nviews++];
    memset(v, 0, sizeof *v);
    strncpy(v->suffix, suffix, sizeof v->suffix - 1);
    v->offset = offset;
    v->is_state = is_state;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++) v->dims[i] = dims[i];
}

void ns_init_weights(float *w, size_t n, int fan_in, int fan_out, ns_rng *rng, ns_init_kind kind)
{
    if (kind == NS_INIT_HE) {
        /* torch.nn.init.kaiming_normal_(mode="fan_in", nonlinearity="relu") */
        float std = (float)sqrt(2.0 / fan_in);
        for (size_t i = 0; i < n; i++) w[i] = std * ns_rng_normal(rng);
    } else {
        /* torch.nn.init.xavier_uniform_: U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
        float a = (float)sqrt(6.0 / (fan_in + fan_out));
        for (size_t i = 0; i < n; i++) w[i] = ns_rng_range(rng, -a, a);
    }
}
