/* net.h - a network: an ordered list of layers (layer.h) with ONE flat buffer
 * for each of parameters and gradients (same layout, nparams floats) and one
 * for state (running statistics, nstate floats). The optimizer's state
 * (momentum, Adam's moments) is the optimizer's own (optim.h ns_optim).
 *
 * Layout: the flat buffers are in layer order, each layer's slice holding its
 * views in order (dense/conv: weight [out][in(,kh,kw)] then bias; norms: gamma
 * then beta). So "all parameters of layers before layer i" is a prefix, and a
 * probe step w - eta*g, a norm, a dot product, a copy or a checkpoint is one
 * loop or BLAS-1 call over n->params / n->grads.
 *
 * Memory: every activation buffer (one per layer output, max_batch samples),
 * the two backward ping-pong buffers, the loss gradient and each layer's
 * workspace are allocated in ns_net_build. forward/backward/step never
 * allocate.
 *
 * Typical step:
 *     double loss = ns_net_forward(n, x, y, NULL, batch, NULL, &correct);
 *     ns_net_backward(n, batch);
 *     ns_optim_step(&opt, step, n->params, n->grads);
 * (ns_net_train_step does exactly this.)
 */
#ifndef NORMSWEEP_NET_H
#define NORMSWEEP_NET_H

#include "normsweep/arch.h"
#include "normsweep/error.h"
#include "normsweep/layer.h"
#include "normsweep/loss.h"
#include "normsweep/norm.h"
#include "normsweep/optim.h"
#include "normsweep/rng.h"

#include <stddef.h>
#include <stdint.h>

/* A measured layer (dense or conv, layer.h is_weight), for per-layer probes
 * (ICS, gradient norms). Its parameters (weight then bias) are
 * params[off, off + len); the weight alone is params[off, off + wlen). */
typedef struct ns_weight_slice {
    int layer;     /* index into the net's layer list     */
    char name[32]; /* PyTorch module name, "features.0"   */
    size_t off, len, wlen;
} ns_weight_slice;

typedef void (*ns_backward_hook)(void *ctx, int layer, const float *dout, const float *din);

typedef struct ns_net {
    /* what was built */
    ns_arch arch;
    ns_norm_config norm;
    ns_shape in_shape;
    int nout;
    ns_loss_kind loss;
    int max_batch;

    int nlayers;
    ns_layer *layers;

    /* flat buffers (read/write by callers; layers hold views into them) */
    size_t nparams, nstate;
    float *params, *grads, *state;

    /* measured layers, in network order */
    int nweights;
    ns_weight_slice *weights;

    /* noisy-BN noise stream, seeded by ns_net_init (NS_STREAM_NOISE, 0); used
     * when a pass gives no stream of its own. Save/restore its position with
     * ns_rng_tell/seek for checkpoints. */
    ns_rng noise;

    /* internals (do not touch) */
    float **acts;       /* acts[i] = output of layer i, max_batch * out size   */
    float *dbuf[2];     /* backward ping-pong, max activation size             */
    float *dloss;       /* dL/d(output) from the last forward                  */
    const float *x_in;  /* input of the last forward (caller's memory)         */
    int last_batch;
    long nforward;      /* forwards run so far (hvp.h detects a stale base pass) */
    ns_backward_hook hook;
    void *hook_ctx;
} ns_net;

/* Build a net for per-sample input shape `in` (dense data: {features,1,1}) and
 * nout outputs (classes or target size). norm may be NULL (= none). Allocates
 * everything for batches up to max_batch. Parameters are NOT initialised: call
 * ns_net_init. Errors: NS_ERR_ARG (arch string, shapes, norm), NS_ERR_NOMEM. */
ns_status ns_net_build(const char *arch, const ns_norm_config *norm, ns_shape in, int nout,
                       ns_loss_kind loss, int max_batch, ns_net **out);
void ns_net_free(ns_net *n);

/* Initialise parameters and state from seed: layer i draws from stream
 * NS_STREAM(NS_STREAM_INIT, i); zeroes grads; seeds n->noise.
 * Glorot: uniform(+-sqrt(6/(fan_in+fan_out))) as torch xavier_uniform_;
 * He: normal(0, sqrt(2/fan_in)) as torch kaiming_normal_ (fan_in, ReLU gain);
 * biases 0; norm gamma 1, beta 0, running mean 0, var 1. */
ns_status ns_net_init(ns_net *n, uint64_t seed, ns_init_kind init);

/* "glorot" / "he" -> kind; NS_ERR_ARG otherwise. */
ns_status ns_init_parse(const char *text, ns_init_kind *out);

/* Forward on x[batch][in] (batch <= max_batch; x must stay valid until the
 * matching backward). Classification: labels y, t = NULL; regression: targets
 * t[batch][nout], y = NULL. pass NULL = training step {TRAIN, update_stats 1,
 * new_noise 1, noise = &n->noise}; a pass with noise NULL also uses &n->noise.
 * Returns the loss; *correct (may be NULL; 0 for regression) the number of
 * correct argmax predictions. Keeps activations and dL/d(output) for backward. */
double ns_net_forward(ns_net *n, const float *x, const int32_t *y, const float *t, int batch,
                      const ns_pass *pass, int *correct);

/* Backward for the last forward (batch must equal its batch: checked with
 * NS_ASSERT): OVERWRITES n->grads with dL/dparams. Calls
 * the hook, if set, after each layer's backward with (i, dout, din); din is
 * NULL for layer 0 (the input gradient is not computed). */
void ns_net_backward(ns_net *n, int batch);

/* forward + backward + ns_optim_step(opt, step, ...): training step `step`
 * (0-based; the schedule's and Adam's step count) with an optimizer made for
 * n->nparams values. Returns the loss (before the update). */
double ns_net_train_step(ns_net *n, const float *x, const int32_t *y, const float *t, int batch,
                         ns_optim *opt, int64_t step, int *correct);

void ns_net_set_backward_hook(ns_net *n, ns_backward_hook fn, void *ctx);

int ns_net_nlayers(const ns_net *n);
ns_layer *ns_net_layer(ns_net *n, int i);
/* Output of layer i from the last forward (batch x out_shape of layer i);
 * i = nlayers-1 is the network output. */
const float *ns_net_output_of(const ns_net *n, int i);
/* Output size per sample (== nout). */
int ns_net_nout(const ns_net *n);

/* Sizes of the net ns_net_build would make for (arch, norm, in, nout), without
 * building it: each layer is created at batch 1 (the layers own their size
 * rules) and destroyed again; no flat buffers, activations or net workspaces.
 * ntensors counts the named tensors ns_net_tensor lists. */
typedef struct ns_net_size {
    size_t nparams, nstate;
    int ntensors;
} ns_net_size;
ns_status ns_net_size_of(const char *arch, const ns_norm_config *norm, ns_shape in, int nout,
                         ns_net_size *out);

/* A named tensor of a net in PyTorch's terms, located in the export row: the
 * parameters (nparams floats) followed by the state (nstate floats), the
 * layout of the results file's `weights` row and of ns_net_export's .bin. */
typedef struct ns_tensor_ref {
    char name[64];  /* state_dict key, "features.0.weight" */
    int is_state;   /* running statistics (in n->state)    */
    size_t offset;  /* into params || state                */
    size_t count;   /* floats                              */
    int ndim;
    int dims[4];
} ns_tensor_ref;
/* Tensor iterator: k in [0, ns_net_ntensors(n)) in network order (layer by
 * layer, each layer's views in order). NS_ERR_ARG for k out of range. */
int ns_net_ntensors(const ns_net *n);
ns_status ns_net_tensor(const ns_net *n, int k, ns_tensor_ref *t);

/* Export parameters and state as raw little-endian float32 plus a JSON
 * manifest (format: docs/architectures.md, "Weight export"):
 *   <prefix>.bin   params (nparams floats) then state (nstate floats)
 *   <prefix>.json  {"arch":..., "norm":..., "tensors":[{"name":"features.0.weight",
 *                  "shape":[16,3,3,3], "offset":0, "count":432, "kind":"param"}, ...]}
 * Offsets count float32 elements from the start of the .bin file. grads, if
 * non-NULL, is written as a third block (nparams floats) and listed with kind
 * "grad" (the cross-check uses it). NS_ERR_IO names the file on failure. */
ns_status ns_net_export(const ns_net *n, const char *prefix, const float *grads);

#endif
