/* dense.c - fully connected layer, torch.nn.Linear's layout (W is [out][in]).
 *   forward:  Y[B x O] = X[B x I] W^T + 1 b^T
 *   backward: dW[O x I] = dY^T X,  db = column sums of dY,  dX[B x I] = dY W
 * and their R-ops (exact Hessian-vector products, layer.h).
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

/* db[o] = sum over the batch of g[r][o] (the bias gradient) */
static void col_sums(float *db, const float *g, int batch, int NO)
{
    memset(db, 0, (size_t)NO * sizeof *db);
    for (int r = 0; r < batch; r++)
        for (int o = 0; o < NO; o++) db[o] += g[(size_t)r * NO + o];
}

static void dense_backward(ns_layer *l, float *din, const float *dout, const float *in,
                           const float *out, int batch)
{
    (void)out;
    const dense_priv *d = l->priv;
    const int NI = d->nin, NO = d->nout;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, NO, NI, batch, 1.0f, dout, NO, in, NI, 0.0f,
                l->dw, NI);
    if (d->bias) col_sums(l->dw + (size_t)NO * NI, dout, batch, NO);
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, NI, NO, 1.0f, dout, NO, l->w, NI,
                    0.0f, din, NI);
}

/* R-ops (layer.h). The layer is bilinear in (in, W, b), so
 *   R(Y)  = rin W^T + X V^T + 1 Vb^T
 *   R(dX) = R(dY) W + dY V
 *   R(dW) = R(dY)^T X + dY^T rin,   R(db) = column sums of R(dY)
 * each a GEMM accumulating into the result (beta 1 after the first). */
static void dense_r_forward(ns_layer *l, float *rout, const float *rin, const float *v,
                            const float *in, const float *out, int batch, float *scratch)
{
    (void)out;
    (void)scratch;
    const dense_priv *d = l->priv;
    const int NI = d->nin, NO = d->nout;
    float beta = 0.0f;
    if (v) {
        if (d->bias) {
            const float *vb = v + (size_t)NO * NI;
            for (int r = 0; r < batch; r++) memcpy(rout + (size_t)r * NO, vb, (size_t)NO * sizeof *rout);
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, NO, NI, 1.0f, in, NI, v, NI, beta,
                    rout, NO);
        beta = 1.0f;
    }
    if (rin) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, NO, NI, 1.0f, rin, NI, l->w, NI,
                    beta, rout, NO);
        beta = 1.0f;
    }
    if (beta == 0.0f) memset(rout, 0, (size_t)batch * NO * sizeof *rout);
}

static void dense_r_backward(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                             const float *dout, const float *rin, const float *v, const float *in,
                             const float *out, int batch, float *scratch)
{
    (void)out;
    (void)scratch;
    const dense_priv *d = l->priv;
    const int NI = d->nin, NO = d->nout;
    if (rdw) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, NO, NI, batch, 1.0f, rdout, NO, in, NI,
                    0.0f, rdw, NI);
        if (rin)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, NO, NI, batch, 1.0f, dout, NO, rin,
                        NI, 1.0f, rdw, NI);
        if (d->bias) col_sums(rdw + (size_t)NO * NI, rdout, batch, NO);
    }
    if (!rdin) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, NI, NO, 1.0f, rdout, NO, l->w, NI,
                0.0f, rdin, NI);
    if (v)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, NI, NO, 1.0f, dout, NO, v, NI,
                    1.0f, rdin, NI);
}

static void dense_init(ns_layer *l, ns_rng *rng, ns_init_kind kind)
{
    const dense_priv *d = l->priv;
    ns_init_weights(l->w, (size_t)d->nout * d->nin, d->nin, d->nout, rng, kind);
    if (d->bias) memset(l->w + (size_t)d->nout * d->nin, 0, (size_t)d->nout * sizeof(float));
}

static void dense_destroy(ns_layer *l) { free(l->priv); }

static const ns_layer_ops dense_ops = {
    .kind = "dense", .forward = dense_forward, .backward = dense_backward, .init = dense_init,
    .destroy = dense_destroy, .r_forward = dense_r_forward, .r_backward = dense_r_backward,
};

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
