/* dense.c - fully connected layer, torch.nn.Linear's layout (W is [out][in]).
 *   forward:  Y[B x O] = X[B x I] W^T + 1 b^T
 *   backward: dW[O x I] = dY^T X,  db = column sums of dY,  dX[B x I] = dY W
 * (NI, NO in code: cblas.h pulls in complex.h, whose macro I takes the plain name.) */
#include "layers.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

typedef struct dense_priv {
    int nin, nout, bias;
} dense_priv;

static void dense_forward(ns_layer *l, float *out, const float *in, int batch, const ns_pass *p)
{
    (void)p;
    const dense_priv *d = l->priv;
    const int NI = d->nin, NO = d->nout;
    float beta = 0.0f;
    if (d->bias) {
        const float *b = l->w + (size_t)NO * NI;
        for (int r = 0; r < batch; r++) memcpy(out + (size_t)r * NO, b, (size_t)NO * sizeof *out);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, NO, NI, 1.0f, in, NI, l->w, NI, beta,
                out, NO);
}

static void dense_backward(ns_layer *l, float *din, const float *dout, const float *in,
                           const float *out, int batch)
{
    (void)out;
    const dense_priv *d = l->priv;
    const int NI = d->nin, NO = d->nout;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, NO, NI, batch, 1.0f, dout, NO, in, NI, 0.0f,
                l->dw, NI);
    if (d->bias) {
        float *db = l->dw + (size_t)NO * NI;
        memset(db, 0, (size_t)NO * sizeof *db);
        for (int r = 0; r < batch; r++) {
            const float *g = dout + (size_t)r * NO;
            for (int o = 0; o < NO; o++) db[o] += g[o];
        }
    }
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, NI, NO, 1.0f, dout, NO, l->w, NI,
                    0.0f, din, NI);
}

static void dense_init(ns_layer *l, ns_rng *rng, ns_init_kind kind)
{
    const dense_priv *d = l->priv;
    ns_init_weights(l->w, (size_t)d->nout * d->nin, d->nin, d->nout, rng, kind);
    if (d->bias) memset(l->w + (size_t)d->nout * d->nin, 0, (size_t)d->nout * sizeof(float));
}

static void dense_destroy(ns_layer *l) { free(l->priv); }

static const ns_layer_ops dense_ops = {"dense", dense_forward, dense_backward, dense_init,
                                       dense_destroy};

ns_status ns_dense_create(ns_layer *l, ns_shape in, int nout, int bias, int max_batch)
{
    size_t nin = ns_shape_size(in);
    NS_CHECK(nin > 0 && nin <= (1u << 30) && nout > 0, NS_ERR_ARG,
             "dense: bad sizes %zu -> %d", nin, nout);
    dense_priv *d = malloc(sizeof *d);
    if (!d) return ns_error_set(NS_ERR_NOMEM, "dense: out of memory");
    d->nin = (int)nin;
    d->nout = nout;
    d->bias = bias;
    ns_shape o = {nout, 1, 1};
    ns_layer_setup(l, &dense_ops, in, o, max_batch);
    l->priv = d;
    l->is_weight = 1;
    l->nparams = (size_t)nout * nin + (bias ? (size_t)nout : 0);
    int wd[2] = {nout, (int)nin};
    ns_layer_add_view(l, "weight", 0, 0, 2, wd);
    if (bias) ns_layer_add_view(l, "bias", (size_t)nout * nin, 0, 1, &nout);
    return NS_OK;
}
