/* plan.c - what a sweep will cost, before running it.
 *
 * Cost model (docs/sweep-format.md, "Cost model"), in FLOPs; F = training
 * FLOPs per sample (forward + backward, from the arch module), forward = F/3:
 *   train   steps * batch * F
 *   probes  nprobes * batch * (E * F + F/3 * [activations])
 *           E = eta_count * (1 + random_direction)       landscape
 *             + ICS layers measured (layer 1 is free)    ICS
 *             + 2 * (hess_iters + hess_trace_samples)    Hessian (central differences)
 *             + modes * (2 P + 1 + 8 fd_check)           exact curvature (curv_evals)
 *   eval    nevals * n_eval * F/3, nevals = steps / eval_every (1 if eval_every = 0),
 *           n_eval = test-set size (training-set size if there is no test split)
 * Upper bounds: Hessian iterations may stop early at the tolerance.
 */
#include "sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t probe_count(const ns_run_config *r)
{
    const ns_probe_config *p = &r->probe;
    switch (p->sched) {
    case NS_SCHED_NONE: return 0;
    case NS_SCHED_EVERY: return (r->steps + p->every - 1) / p->every;
    case NS_SCHED_LIST: return p->nat;
    case NS_SCHED_LOG: return p->log_count;
    }
    return 0;
}

static int ics_evals(const ns_probe_config *p, int nlayers)
{
    if (!p->ics) return 0;
    if (p->ics_all) return nlayers > 1 ? nlayers - 1 : 0;
    int k = 0;
    for (int i = 0; i < p->ics_nlayers; i++) k += p->ics_layers[i] > 1;
    return k;
}

/* Evaluations of the curvature probes at one probe step: per mode, P
 * Hessian-vector products at 2 evaluations each (an exact one costs 1.4-1.8
 * training steps, docs/benchmarks.md; a finite difference exactly 2), the
 * base pass, and the finite-difference check's 6 evaluations and 1 exact
 * product. P = Lanczos steps + k + 1
 * residuals, SLQ n_v m, Hutchinson samples, and layers x (block steps + 1)
 * (an upper bound: a block's products are cheaper, Lanczos may stop early). */
static double curv_evals(const ns_probe_config *p, int nlayers)
{
    if (!p->curv) return 0;
    double products = p->curv_steps + p->curv_k + 1 + p->curv_hutchinson;
    if (p->curv_slq) products += (double)p->curv_slq_nv * p->curv_slq_m;
    if (p->curv_layers) products += (double)nlayers * (p->curv_layer_steps + 1);
    int modes = p->curv_mode == NS_CURV_MODE_BOTH ? 2 : 1;
    return modes * (2 * products + 1 + (p->curv_fd_check ? 8 : 0));
}

ns_run_cost ns_plan_run_cost(const ns_spec *s, int i)
{
    ns_run_cost c = {0};
    const ns_run_config *r = &s->runs[i];
    const ns_probe_config *p = &r->probe;
    double F = s->train_flops[i], B = r->batch;
    c.train_gflop = (double)r->steps * B * F * 1e-9;
    c.nprobes = probe_count(r);
    double evals = 0;
    if (p->landscape) evals += p->eta_count * (1 + (p->random_direction != 0));
    evals += ics_evals(p, s->measured_layers[i]);
    if (p->hessian) evals += 2.0 * (p->hess_iters + p->hess_trace_samples);
    evals += curv_evals(p, s->measured_layers[i]);
    double per_probe = B * (evals * F + (p->act_units > 0 ? F / 3 : 0));
    c.probe_gflop = (double)c.nprobes * per_probe * 1e-9;
    double nevals = r->eval_every > 0 ? (double)(r->steps / r->eval_every) : 1;
    if (nevals < 1) nevals = 1;
    double n_eval = (double)(s->n_test > 0 ? s->n_test : s->n_train);
    c.eval_gflop = nevals * n_eval * F / 3 * 1e-9;
    c.total_gflop = c.train_gflop + c.probe_gflop + c.eval_gflop;
    return c;
}

void ns_plan_varied_text(const ns_spec *s, int i, char *buf, size_t n)
{
    const ns_run_config *r = &s->runs[i];
    ns_sbuf b = {0};
    if (s->varied & (1u << NS_AXIS_BATCH)) ns_sbuf_printf(&b, " batch=%d", r->batch);
    if (s->varied & (1u << NS_AXIS_MOMENTUM)) ns_sbuf_printf(&b, " momentum=%g", r->momentum);
    if (s->varied & (1u << NS_AXIS_WEIGHT_DECAY)) ns_sbuf_printf(&b, " weight_decay=%g", r->weight_decay);
    if (s->varied & (1u << NS_AXIS_INIT))
        ns_sbuf_printf(&b, " init=%s", r->init == NS_INIT_HE ? "he" : "glorot");
    if (r->random_sample >= 0) ns_sbuf_printf(&b, " random=%d", r->random_sample);
    snprintf(buf, n, "%s", b.p && !b.oom ? b.p + 1 : "-");
    free(b.p);
}
