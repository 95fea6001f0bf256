/* net.c - build a layer list from an arch plan, own the flat buffers, run
 * forward/backward over the list (net.h). */
#include "normsweep/net.h"
#include "layers/layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Create layers in order; names as torch's nn.Sequential module indices. A
 * plan item expands to the op, then (hidden dense/conv only) [norm], [relu].
 * n->nlayers counts the layers created so far, so ns_net_free destroys
 * exactly those if a constructor fails. */
static ns_status create_layers(ns_net *n)
{
    const ns_arch *a = &n->arch;
    const char *prefix = a->family == NS_ARCH_VGG ? "features" : "layers";
    ns_shape s = n->in_shape;
    int module = 0;
    for (int i = 0; i < a->nitems; i++) {
        const ns_arch_item *it = &a->items[i];
        int classifier = i == a->nitems - 1;
        ns_layer *l = &n->layers[n->nlayers];
        if (it->op == NS_AOP_CONV3) {
            NS_TRY(ns_conv_create(l, s, it->width, 3, 1, 1, it->bias, n->max_batch));
        } else if (it->op == NS_AOP_POOL) {
            NS_TRY(ns_maxpool2_create(l, s, n->max_batch));
        } else {
            NS_TRY(ns_dense_create(l, s, it->width, it->bias, n->max_batch));
        }
        n->nlayers++;
        if (classifier && a->family == NS_ARCH_VGG)
            snprintf(l->name, sizeof l->name, "classifier");
        else
            snprintf(l->name, sizeof l->name, "%s.%d", prefix, module++);
        s = l->out_shape;
        if (it->op == NS_AOP_POOL || !it->hidden) continue;
        if (n->norm.kind != NS_NORM_NONE) {
            l = &n->layers[n->nlayers];
            NS_TRY(ns_norm_create(l, &n->norm, s, n->max_batch));
            n->nlayers++;
            snprintf(l->name, sizeof l->name, "%s.%d", prefix, module++);
            s = l->out_shape;
        }
        if (a->relu) {
            l = &n->layers[n->nlayers];
            NS_TRY(ns_relu_create(l, s, n->max_batch));
            n->nlayers++;
            snprintf(l->name, sizeof l->name, "%s.%d", prefix, module++);
        }
    }
    return NS_OK;
}

static float *alloc_floats(size_t n)
{
    return calloc(n ? n : 1, sizeof(float));
}

/* Flat buffers, bindings, measured-layer table, activation buffers. */
static ns_status allocate(ns_net *n)
{
    size_t np = 0, ns = 0, maxact = ns_shape_size(n->in_shape);
    n->nweights = 0;
    for (int i = 0; i < n->nlayers; i++) {
        ns_layer *l = &n->layers[i];
        np += l->nparams;
        ns += l->nstate;
        n->nweights += l->is_weight;
        size_t o = ns_shape_size(l->out_shape);
        if (o > maxact) maxact = o;
    }
    n->nparams = np;
    n->nstate = ns;
    n->params = alloc_floats(np);
    n->grads = alloc_floats(np);
    n->state = alloc_floats(ns);
    n->weights = calloc((size_t)n->nweights + 1, sizeof *n->weights);
    n->acts = calloc((size_t)n->nlayers, sizeof *n->acts);
    const size_t mb = (size_t)n->max_batch;
    n->dbuf[0] = alloc_floats(maxact * mb);
    n->dbuf[1] = alloc_floats(maxact * mb);
    n->dloss = alloc_floats((size_t)n->nout * mb);
    if (!n->params || !n->grads || !n->state || !n->weights || !n->acts)
        return ns_error_set(NS_ERR_NOMEM, "net: out of memory for %zu parameters", np);
    /* The batch buffers scale with max_batch: name it, it is the usual cause. */
    if (!n->dbuf[0] || !n->dbuf[1] || !n->dloss)
        return ns_error_set(NS_ERR_NOMEM,
                            "net: out of memory for the batch buffers of max_batch %d (2 x %zu "
                            "floats, %.3g GB): use a smaller batch",
                            n->max_batch, maxact * mb, 8.0 * (double)maxact * (double)mb / 1e9);
    size_t po = 0, so = 0;
    int wi = 0;
    for (int i = 0; i < n->nlayers; i++) {
        ns_layer *l = &n->layers[i];
        l->w = n->params + po;
        l->dw = n->grads + po;
        l->state = n->state + so;
        if (l->is_weight) {
            ns_weight_slice *w = &n->weights[wi++];
            w->layer = i;
            memcpy(w->name, l->name, sizeof w->name);
            w->off = po;
            w->len = l->nparams;
            /* the first view is the weight; the bias (if any) follows it */
            w->wlen = l->nviews > 1 ? l->views[1].offset : l->nparams;
        }
        po += l->nparams;
        so += l->nstate;
        n->acts[i] = malloc(ns_shape_size(l->out_shape) * mb * sizeof(float));
        if (!n->acts[i])
            return ns_error_set(NS_ERR_NOMEM,
                                "net: out of memory for the activations of layer %d at max_batch "
                                "%d: use a smaller batch", i, n->max_batch);
    }
    return NS_OK;
}

ns_status ns_net_build(const char *arch, const ns_norm_config *norm, ns_shape in, int nout,
                       ns_loss_kind loss, int max_batch, ns_net **out)
{
    *out = NULL;
    NS_CHECK(max_batch > 0, NS_ERR_ARG, "net: max_batch %d must be positive", max_batch);
    NS_CHECK(loss == NS_LOSS_SOFTMAX_CE || loss == NS_LOSS_SQUARED_SUM, NS_ERR_ARG,
             "net: unknown loss kind %d", (int)loss);
    ns_net *n = calloc(1, sizeof *n);
    if (!n) return ns_error_set(NS_ERR_NOMEM, "net: out of memory");
    n->norm = norm ? *norm : (ns_norm_config){.kind = NS_NORM_NONE};
    n->in_shape = in;
    n->nout = nout;
    n->loss = loss;
    n->max_batch = max_batch;
    ns_status st = ns_arch_resolve(arch, in, nout, &n->arch);
    if (st == NS_OK) {
        /* room for the largest expansion: op, norm, relu per plan item */
        n->layers = calloc(3 * (size_t)n->arch.nitems, sizeof *n->layers);
        st = n->layers ? create_layers(n) : ns_error_set(NS_ERR_NOMEM, "net: out of memory");
    }
    if (st == NS_OK) st = allocate(n);
    if (st != NS_OK) {
        ns_net_free(n);
        return st;
    }
    *out = n;
    return NS_OK;
}

void ns_net_free(ns_net *n)
{
    if (!n) return;
    for (int i = 0; n->layers && i < n->nlayers; i++) {
        ns_layer *l = &n->layers[i];
        if (l->ops && l->ops->destroy) l->ops->destroy(l);
        if (n->acts) free(n->acts[i]);
    }
    free(n->layers);
    free(n->acts);
    free(n->params);
    free(n->grads);
    free(n->state);
    free(n->weights);
    free(n->dbuf[0]);
    free(n->dbuf[1]);
    free(n->dloss);
    free(n);
}

ns_status ns_init_parse(const char *text, ns_init_kind *out)
{
    if (strcmp(text, "glorot") == 0) *out = NS_INIT_GLOROT;
    else if (strcmp(text, "he") == 0) *out = NS_INIT_HE;
    else return ns_error_set(NS_ERR_ARG, "init '%s': expected glorot or he", text);
    return NS_OK;
}

ns_status ns_net_init(ns_net *n, uint64_t seed, ns_init_kind init)
{
    NS_CHECK(init == NS_INIT_GLOROT || init == NS_INIT_HE, NS_ERR_ARG,
             "net: unknown init kind %d", (int)init);
    memset(n->params, 0, n->nparams * sizeof(float));
    memset(n->state, 0, n->nstate * sizeof(float));
    for (int i = 0; i < n->nlayers; i++) {
        ns_layer *l = &n->layers[i];
        if (!l->ops->init) continue;
        ns_rng r;
        ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_INIT, i));
        l->ops->init(l, &r, init);
    }
    memset(n->grads, 0, n->nparams * sizeof(float));
    ns_rng_init(&n->noise, seed, NS_STREAM(NS_STREAM_NOISE, 0));
    return NS_OK;
}

double ns_net_forward(ns_net *n, const float *x, const int32_t *y, const float *t, int batch,
                      const ns_pass *pass, int *correct)
{
    NS_ASSERT(batch > 0 && batch <= n->max_batch);
    ns_pass p = {NS_MODE_TRAIN, 1, 1, NULL};
    if (pass) p = *pass;
    if (!p.noise) p.noise = &n->noise;
    const float *in = x;
    for (int i = 0; i < n->nlayers; i++) {
        ns_layer *l = &n->layers[i];
        l->ops->forward(l, n->acts[i], in, batch, &p);
        in = n->acts[i];
    }
    n->x_in = x;
    n->last_batch = batch;
    n->nforward++;
    double loss;
    if (n->loss == NS_LOSS_SOFTMAX_CE) {
        NS_ASSERT(y != NULL);
        loss = ns_loss_softmax_ce(in, y, batch, n->nout, n->dloss, correct);
    } else {
        NS_ASSERT(t != NULL);
        loss = ns_loss_squared_sum(in, t, batch, n->nout, n->dloss);
        if (correct) *correct = 0;
    }
    return loss;
}

void ns_net_backward(ns_net *n, int batch)
{
    NS_ASSERT(n->x_in != NULL && batch == n->last_batch);
    const float *dout = n->dloss;
    int cur = 0;
    for (int i = n->nlayers - 1; i >= 0; i--) {
        ns_layer *l = &n->layers[i];
        float *din = i > 0 ? n->dbuf[cur] : NULL;
        const float *in = i > 0 ? n->acts[i - 1] : n->x_in;
        l->ops->backward(l, din, dout, in, n->acts[i], batch);
        if (n->hook) n->hook(n->hook_ctx, i, dout, din);
        dout = din;
        cur ^= 1;
    }
}

double ns_net_train_step(ns_net *n, const float *x, const int32_t *y, const float *t, int batch,
                         ns_optim *opt, int64_t step, int *correct)
{
    NS_ASSERT(opt->n == n->nparams);
    double loss = ns_net_forward(n, x, y, t, batch, NULL, correct);
    ns_net_backward(n, batch);
    ns_optim_step(opt, step, n->params, n->grads);
    return loss;
}

void ns_net_set_backward_hook(ns_net *n, ns_backward_hook fn, void *ctx)
{
    n->hook = fn;
    n->hook_ctx = ctx;
}

int ns_net_nlayers(const ns_net *n) { return n->nlayers; }

ns_layer *ns_net_layer(ns_net *n, int i)
{
    NS_ASSERT(i >= 0 && i < n->nlayers);
    return &n->layers[i];
}

const float *ns_net_output_of(const ns_net *n, int i)
{
    NS_ASSERT(i >= 0 && i < n->nlayers);
    return n->acts[i];
}

int ns_net_nout(const ns_net *n) { return n->nout; }

/* ------------------------------------------------------------ sizes and tensors */

ns_status ns_net_size_of(const char *arch, const ns_norm_config *norm, ns_shape in, int nout,
                         ns_net_size *out)
{
    memset(out, 0, sizeof *out);
    ns_net *n = calloc(1, sizeof *n);
    if (!n) return ns_error_set(NS_ERR_NOMEM, "net: out of memory");
    n->norm = norm ? *norm : (ns_norm_config){.kind = NS_NORM_NONE};
    n->in_shape = in;
    n->nout = nout;
    n->max_batch = 1; /* layer workspaces for one sample: only the sizes are wanted */
    ns_status st = ns_arch_resolve(arch, in, nout, &n->arch);
    if (st == NS_OK) {
        n->layers = calloc(3 * (size_t)n->arch.nitems, sizeof *n->layers);
        st = n->layers ? create_layers(n) : ns_error_set(NS_ERR_NOMEM, "net: out of memory");
    }
    for (int i = 0; st == NS_OK && i < n->nlayers; i++) {
        out->nparams += n->layers[i].nparams;
        out->nstate += n->layers[i].nstate;
        out->ntensors += n->layers[i].nviews;
    }
    ns_net_free(n); /* no buffers were allocated: frees the layers only */
    return st;
}

int ns_net_ntensors(const ns_net *n)
{
    int k = 0;
    for (int i = 0; i < n->nlayers; i++) k += n->layers[i].nviews;
    return k;
}

ns_status ns_net_tensor(const ns_net *n, int k, ns_tensor_ref *t)
{
    memset(t, 0, sizeof *t);
    NS_CHECK(k >= 0, NS_ERR_ARG, "net: tensor %d out of range", k);
    /* parameter and state slices are in layer order (allocate()): sum the
     * slices of the layers before to find where this layer's begin */
    size_t po = 0, so = 0;
    for (int i = 0; i < n->nlayers; i++) {
        const ns_layer *l = &n->layers[i];
        if (k < l->nviews) {
            const ns_param_view *v = &l->views[k];
            snprintf(t->name, sizeof t->name, "%s.%s", l->name, v->suffix);
            t->is_state = v->is_state;
            t->offset = (v->is_state ? n->nparams + so : po) + v->offset;
            t->count = 1;
            t->ndim = v->ndim;
            for (int a = 0; a < v->ndim; a++) {
                t->dims[a] = v->dims[a];
                t->count *= (size_t)v->dims[a];
            }
            return NS_OK;
        }
        k -= l->nviews;
        po += l->nparams;
        so += l->nstate;
    }
    return ns_error_set(NS_ERR_ARG, "net: tensor index past the last of %d tensors",
                        ns_net_ntensors(n));
}
