/* run_probe.c - the glue between a training run and the probes: builds the
 * ns_objective of probe.h from the net, runs every probe of a probe step and
 * applies the step's update without disturbing training (see run.h). */
#include "normsweep/clock.h"
#include "normsweep/norm.h"
#include "run_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One evaluation. The probe workspaces' wx IS net->params (see
 * ns_run_probe_bind), so a probe point is written in place and needs no copy;
 * for ws_in_place grad == net->grads as well. The net's own
 * parameters are put back once per probe (ns_run_probe_restore), not after
 * every evaluation: nothing reads net->params between evaluations. */
static ns_status glue_loss_grad(void *ctx, const float *w, double *loss, float *grad)
{
    ns_run_glue *g = ctx;
    ns_net *net = g->net;
    size_t bytes = net->nparams * sizeof(float);
    if (w != net->params) memcpy(net->params, w, bytes);
    *loss = ns_net_forward(net, g->x, g->y, g->t, g->batch, &g->pass, NULL);
    if (grad) {
        ns_net_backward(net, g->batch);
        if (grad != net->grads) memcpy(grad, net->grads, bytes);
    }
    g->evals++;
    return NS_OK;
}

static void fill_nan(double *a, size_t n)
{
    for (size_t i = 0; i < n; i++) a[i] = NAN;
}

/* Tracked activation j: measured layer j's pre-activation, i.e. the output of
 * its normalization when it has one, else its own output. */
static int tracked_layer(const ns_net *net, int j)
{
    int li = net->weights[j].layer;
    if (li + 1 < net->nlayers && net->layers[li + 1].is_norm) li++;
    return li;
}

/* Theorem 4.1 per BN layer, summed over units, during the training backward. */
static void thm41_hook(void *ctx, int layer, const float *dout, const float *din)
{
    ns_run_probe *p = ctx;
    for (int j = 0; j < p->dims->nnorm; j++) {
        if (p->act_layer[j] != layer) continue;
        ns_layer *l = ns_net_layer(p->net, layer);
        if (!l->is_norm || !din) return;
        if (ns_norm_thm41(l, dout, din, p->glue.batch, p->unit_lhs, p->unit_rhs) != NS_OK) return;
        double lhs = 0, rhs = 0;
        for (int u = 0; u < l->out_shape.c; u++) {
            lhs += p->unit_lhs[u];
            rhs += p->unit_rhs[u];
        }
        p->thm_lhs[j] = lhs;
        p->thm_rhs[j] = rhs;
    }
}

void ns_run_probe_attach(ns_run_probe *p)
{
    if (!p->cfg->probe.thm41) return;
    fill_nan(p->thm_lhs, (size_t)p->dims->nnorm);
    fill_nan(p->thm_rhs, (size_t)p->dims->nnorm);
    p->glue.batch = p->cfg->batch;
    ns_net_set_backward_hook(p->net, thm41_hook, p);
}

void ns_run_probe_detach(ns_run_probe *p) { ns_net_set_backward_hook(p->net, NULL, NULL); }

/* The lengths the table of run_internal.h (NS_RUN_PROBE_ARRAYS) is written in. */
typedef struct ns_run_probe_sizes {
    size_t L, M, U, Q, E; /* measured layers, tracked activations, units, quantiles, etas */
    size_t n;             /* parameters                                                 */
    size_t max_units;     /* most channels of a tracked activation                      */
    size_t max_sample;    /* most values of one unit in a batch (batch * h * w)          */
    /* exact curvature (0 when off): */
    size_t lanczos;       /* bytes of the Lanczos workspace                             */
    size_t cn;            /* parameters, for its vectors                                */
    size_t K, V, SM, CL;  /* top eigenvalues, SLQ vectors x steps, per-layer blocks     */
} ns_run_probe_sizes;

/* Every array starts on a cache line (and so suits any element type). */
#define PROBE_ALIGN 64

/* Lay the table out from offset 0: with base == NULL only measure (returns the
 * total bytes, or 0 on size_t overflow), else point every array into base. */
static size_t probe_layout(ns_run_probe *p, ns_run_probe_sizes z, char *base)
{
    size_t off = 0;
    int overflow = 0;
#define PROBE_PLACE(type, name, len)                                                             \
    if (!overflow) {                                                                             \
        size_t len_ = (len), pad_ = (PROBE_ALIGN - off % PROBE_ALIGN) % PROBE_ALIGN;             \
        overflow = pad_ > SIZE_MAX - off || len_ > (SIZE_MAX - off - pad_) / sizeof(type);       \
        off += pad_;                                                                             \
        if (base) p->name = (type *)(void *)(base + off);                                        \
        if (!overflow) off += len_ * sizeof(type);                                               \
    }
    NS_RUN_PROBE_ARRAYS(PROBE_PLACE)
#undef PROBE_PLACE
    return overflow ? 0 : off;
}

/* Bind the state to its net: the glue evaluates the net, the workspaces see
 * its parameter (and, for one-gradient probes, gradient) buffers. The only
 * place the state takes anything of the net's; see run_internal.h. */
static void ns_run_probe_bind(ns_run_probe *p, ns_net *net)
{
    size_t n = net->nparams;
    p->net = net;
    p->glue.net = net;
    p->ws_in_place = ns_probe_ws_over(n, net->params, net->grads, p->ws_gy, p->ws_v);
    p->ws_hessian = ns_probe_ws_over(n, net->params, p->hess_gx, p->ws_gy, p->ws_v);
}

/* Sizes of the table for this run and net. */
static ns_run_probe_sizes probe_sizes(const ns_run_config *cfg, const ns_run_dims *d,
                                      const ns_net *net)
{
    ns_run_probe_sizes z = {.L = (size_t)d->nlayers, .M = (size_t)d->nnorm,
                            .U = (size_t)(d->nunits > 0 ? d->nunits : 0), .Q = (size_t)d->nquant,
                            .E = (size_t)d->neta, .n = net->nparams, .max_units = 1,
                            .max_sample = 1};
    for (int j = 0; j < d->nnorm; j++) {
        ns_shape s = net->layers[tracked_layer(net, j)].out_shape;
        if ((size_t)s.c > z.max_units) z.max_units = (size_t)s.c;
        size_t sample = (size_t)cfg->batch * s.h * s.w;
        if (sample > z.max_sample) z.max_sample = sample;
    }
    const ns_probe_config *pc = &cfg->probe;
    if (pc->curv) {
        z.lanczos = ns_lanczos_ws_bytes(net->nparams, ns_curv_max_steps(pc));
        z.cn = net->nparams;
        z.K = (size_t)d->neig;
        z.V = (size_t)d->nslq_v;
        z.SM = (size_t)d->nslq_m;
        z.CL = pc->curv_layers ? z.L : 0;
    }
    return z;
}

ns_status ns_run_probe_init(ns_run_probe *p, const ns_run_config *cfg, const ns_run_dims *dims,
                            ns_net *net)
{
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    p->dims = dims;
    int L = dims->nlayers, M = dims->nnorm, U = dims->nunits, Q = dims->nquant;
    NS_CHECK(L <= net->nweights && M <= net->nweights, NS_ERR_INTERNAL,
             "run %d: probe dims (%d layers, %d norms) exceed the net's %d measured layers",
             cfg->index, L, M, net->nweights);

    ns_run_probe_sizes z = probe_sizes(cfg, dims, net);
    size_t bytes = probe_layout(p, z, NULL);
    /* aligned_alloc takes whole multiples of the alignment */
    bytes = bytes && bytes <= SIZE_MAX - PROBE_ALIGN
                ? (bytes + PROBE_ALIGN - 1) / PROBE_ALIGN * PROBE_ALIGN
                : 0;
    p->block = bytes ? aligned_alloc(PROBE_ALIGN, bytes) : NULL;
    NS_CHECK(p->block, NS_ERR_NOMEM, "run %d: out of memory for the probe state (%zu bytes)",
             cfg->index, bytes);
    memset(p->block, 0, bytes);
    probe_layout(p, z, p->block);
    ns_run_probe_bind(p, net);

    /* Measured layers and the prefix before each (the flat buffer is in layer order). */
    for (int i = 0; i < L; i++) {
        const ns_weight_slice *ws = &net->weights[i];
        p->layer_off[i] = ws->off;
        p->layer_len[i] = ws->wlen;
        p->prefix_end[i] = ws->off;
        p->layer_names[i] = ws->name;
    }
    p->obj.n = net->nparams;
    p->obj.loss_grad = glue_loss_grad;
    p->obj.ctx = &p->glue;
    p->obj.nlayers = L;
    p->obj.layer_off = p->layer_off;
    p->obj.layer_len = p->layer_len;
    p->obj.prefix_end = p->prefix_end;

    for (int j = 0; j < M; j++) {
        p->act_layer[j] = tracked_layer(net, j);
        p->act_names[j] = net->layers[p->act_layer[j]].name;
    }
    for (int j = 0; j < M && U > 0; j++) {
        ns_shape s = net->layers[p->act_layer[j]].out_shape;
        NS_TRY(ns_units_choose(cfg->seed, j, s.c, U, p->act_units + (size_t)j * U, NULL));
    }
    for (int q = 0; q < Q; q++) p->quantiles[q] = cfg->probe.act_quantiles[q];

    /* ICS layer selection (the spec numbers layers from 1). */
    if (cfg->probe.ics) {
        if (cfg->probe.ics_all) {
            for (int i = 0; i < L; i++) p->ics_sel[p->nics++] = i;
        } else {
            for (int k = 0; k < cfg->probe.ics_nlayers; k++) {
                int i = cfg->probe.ics_layers[k] - 1;
                if (i >= 0 && i < L) p->ics_sel[p->nics++] = i;
            }
        }
    }
    /* NaN until measured; without thm41 they stay NaN (attach refills them) */
    fill_nan(p->thm_lhs, (size_t)M);
    fill_nan(p->thm_rhs, (size_t)M);
    return ns_run_curv_init(p);
}

void ns_run_probe_free(ns_run_probe *p)
{
    ns_run_curv_free(p);
    free(p->block);
    memset(p, 0, sizeof *p);
}

/* Activation statistics of the training forward that just ran. */
static ns_status probe_activations(ns_run_probe *p, int batch)
{
    int M = p->dims->nnorm, U = p->dims->nunits, Q = p->dims->nquant;
    if (U <= 0) return NS_OK;
    for (int j = 0; j < M; j++) {
        ns_shape s = p->net->layers[p->act_layer[j]].out_shape;
        const float *x = ns_net_output_of(p->net, p->act_layer[j]);
        NS_TRY(ns_activation_stats(x, batch, s.c, s.h * s.w, p->act_units + (size_t)j * U, U,
                                   p->quantiles, Q, p->scratch,
                                   p->act_quant + (size_t)j * U * Q, p->act_mean + (size_t)j * U,
                                   p->act_std + (size_t)j * U));
    }
    return NS_OK;
}

void ns_run_probe_begin(ns_run_probe *p, ns_net *net, const float *x, const int32_t *y,
                        const float *t, int batch)
{
    NS_ASSERT(net == p->net); /* the net the state was bound to */
    size_t bytes = net->nparams * sizeof(float);
    memcpy(p->wsave, net->params, bytes);
    memcpy(p->gsave, net->grads, bytes);
    p->glue.x = x;
    p->glue.y = y;
    p->glue.t = t;
    p->glue.batch = batch;
    p->glue.pass = (ns_pass){NS_MODE_TRAIN, 0, 0, &net->noise};
}

void ns_run_probe_restore(ns_run_probe *p, const float *w)
{
    memcpy(p->net->params, w, p->net->nparams * sizeof(float));
}

ns_status ns_run_probe_landscape(ns_run_probe *p, double lr, int64_t step, double *beta_eff,
                                 double *rand_beta_eff)
{
    const ns_probe_config *pc = &p->cfg->probe;
    const ns_run_dims *d = p->dims;
    fill_nan(p->land_loss, (size_t)d->neta);
    fill_nan(p->land_dg, (size_t)d->neta);
    fill_nan(p->rand_loss, (size_t)d->neta);
    fill_nan(p->rand_dg, (size_t)d->neta);
    *beta_eff = *rand_beta_eff = NAN;
    if (d->neta <= 0) return NS_OK;
    ns_landscape_config lc = {pc->eta_rel_lo, pc->eta_rel_hi, pc->eta_count,
                              pc->random_direction};
    ns_landscape_out lo = {p->eta, p->land_loss, p->land_dg, NAN,
                           pc->random_direction ? p->rand_loss : NULL,
                           pc->random_direction ? p->rand_dg : NULL, NAN};
    NS_TRY(ns_probe_landscape(&p->obj, &p->ws_in_place, &lc, lr, p->wsave, p->gsave,
                              p->cfg->seed, (long)step, &lo));
    *beta_eff = lo.beta_eff;
    *rand_beta_eff = lo.rand_beta_eff;
    return NS_OK;
}

/* The Hessian at w_t (rec's hess_* fields; NaN / -1 when off). */
static ns_status probe_hessian(ns_run_probe *p, int64_t step, ns_probe_rec *rec)
{
    const ns_probe_config *pc = &p->cfg->probe;
    rec->hess_lambda = rec->hess_residual = rec->hess_trace = NAN;
    rec->hess_iters = -1;
    if (!pc->hessian) return NS_OK;
    ns_hessian_config hc = ns_hessian_defaults();
    hc.max_iters = pc->hess_iters;
    hc.tol = pc->hess_tol;
    hc.hutchinson = pc->hess_trace_samples;
    p->glue.pass.mode = (ns_mode)pc->hess_mode;
    ns_hessian_out ho;
    ns_status st = ns_probe_hessian(&p->obj, &p->ws_hessian, &hc, p->wsave, p->cfg->seed,
                                    (long)step, &ho);
    p->glue.pass.mode = NS_MODE_TRAIN;
    NS_TRY(st);
    rec->hess_lambda = ho.lambda;
    rec->hess_residual = ho.residual;
    rec->hess_iters = ho.iters;
    rec->hess_trace = ho.trace; /* NaN without Hutchinson samples */
    return NS_OK;
}

/* ICS (Definition 2.1) with net->params = w_{t+1}, the update just made;
 * leaves w_{t+1} there. */
static ns_status probe_ics(ns_run_probe *p)
{
    fill_nan(p->ics_l2, (size_t)p->dims->nlayers);
    fill_nan(p->ics_cos, (size_t)p->dims->nlayers);
    if (p->nics == 0) return NS_OK;
    memcpy(p->wnext, p->net->params, p->net->nparams * sizeof(float));
    ns_status st = ns_probe_ics(&p->obj, &p->ws_in_place, p->wsave, p->gsave, p->wnext,
                                p->ics_sel, p->nics, p->ics_tmp_l2, p->ics_tmp_cos, NULL);
    ns_run_probe_restore(p, p->wnext);
    NS_TRY(st);
    for (int k = 0; k < p->nics; k++) {
        p->ics_l2[p->ics_sel[k]] = p->ics_tmp_l2[k];
        p->ics_cos[p->ics_sel[k]] = p->ics_tmp_cos[k];
    }
    return NS_OK;
}

ns_status ns_run_probe_step(ns_run_probe *p, ns_net *net, ns_optim *opt,
                            const float *x, const int32_t *y, const float *t, int batch,
                            int64_t step, int pidx, double loss, double gnorm,
                            const ns_run_sink *sink)
{
    const ns_probe_config *pc = &p->cfg->probe;
    double t0 = ns_now_s();

    ns_run_probe_begin(p, net, x, y, t, batch);
    ns_probe_rec rec;
    memset(&rec, 0, sizeof rec);
    rec.index = pidx;
    rec.step = step;
    rec.loss = loss;
    rec.grad_norm = gnorm;

    /* From the training forward/backward itself. */
    NS_TRY(probe_activations(p, batch));
    /* ||g|| itself is the training step's gnorm (rec.grad_norm) */
    ns_probe_grad_norms(&p->obj, p->gsave, NULL, p->layer_gnorm);

    /* Probes at w_t on batch t; they overwrite net->params (the workspace),
     * w_t is back before the update. */
    NS_TRY(ns_run_probe_landscape(p, ns_optim_lr(opt, step), step, &rec.beta_eff,
                                  &rec.rand_beta_eff));
    NS_TRY(probe_hessian(p, step, &rec));
    NS_TRY(ns_run_probe_curvature(p, step, &rec));

    /* The step's real update, exactly as a step without probes makes it. */
    ns_run_probe_restore(p, p->wsave);
    ns_optim_step(opt, step, net->params, p->gsave);
    NS_TRY(probe_ics(p));

    rec.layer_grad_norm = p->layer_gnorm;
    rec.eta = p->eta;
    rec.land_loss = p->land_loss;
    rec.land_grad_change = p->land_dg;
    rec.rand_loss = pc->random_direction ? p->rand_loss : NULL;
    rec.rand_grad_change = pc->random_direction ? p->rand_dg : NULL;
    rec.ics_l2 = p->ics_l2;
    rec.ics_cos = p->ics_cos;
    rec.act_quant = p->act_quant;
    rec.act_mean = p->act_mean;
    rec.act_std = p->act_std;
    rec.thm41_lhs = p->thm_lhs;
    rec.thm41_rhs = p->thm_rhs;
    rec.seconds = ns_now_s() - t0;
    if (sink && sink->probe) NS_TRY(sink->probe(sink->ctx, &rec));
    return NS_OK;
}
