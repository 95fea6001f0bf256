/* schedule.c - which steps of a run are logged, evaluated and probed, and the
 * fixed trace shapes that follow (the output file is laid out from these
 * before any run starts, so they depend on the config alone). */
#include "normsweep/arch.h"
#include "normsweep/probe.h"
#include "normsweep/run.h"
#include "run_internal.h"

#include <stdlib.h>
#include <string.h>

int64_t ns_run_log_index(const ns_run_config *cfg, int64_t t)
{
    int64_t k = cfg->log_every > 0 ? cfg->log_every : 1;
    if (t < 0 || t >= cfg->steps) return -1;
    if (t % k == 0) return t / k;
    if (t == cfg->steps - 1) return t / k + 1; /* the last step is always logged */
    return -1;
}

int64_t ns_run_log_step(const ns_run_config *cfg, int64_t i)
{
    int64_t k = cfg->log_every > 0 ? cfg->log_every : 1;
    int64_t t = i * k;
    return t < cfg->steps ? t : cfg->steps - 1;
}

static int64_t nlog_of(const ns_run_config *cfg)
{
    return cfg->steps > 0 ? ns_run_log_index(cfg, cfg->steps - 1) + 1 : 0;
}

/* Evaluations happen after step t's update (the model has t+1 updates) when
 * (t+1) is a multiple of eval_every, and always after the last step. The
 * coordinate of an evaluation is t+1, the number of updates it has seen. */
int64_t ns_run_eval_index(const ns_run_config *cfg, int64_t t)
{
    int64_t k = cfg->eval_every;
    if (t < 0 || t >= cfg->steps) return -1;
    if (k > 0 && (t + 1) % k == 0) return (t + 1) / k - 1;
    if (t == cfg->steps - 1) return k > 0 ? cfg->steps / k : 0;
    return -1;
}

int64_t ns_run_eval_step(const ns_run_config *cfg, int64_t i)
{
    int64_t k = cfg->eval_every;
    if (k > 0 && (i + 1) * k <= cfg->steps) return (i + 1) * k;
    return cfg->steps;
}

static int64_t neval_of(const ns_run_config *cfg)
{
    return cfg->steps > 0 ? ns_run_eval_index(cfg, cfg->steps - 1) + 1 : 0;
}

ns_status ns_run_schedule(const ns_run_config *cfg, ns_schedule *s)
{
    const ns_probe_config *p = &cfg->probe;
    memset(s, 0, sizeof *s);
    switch (p->sched) {
    case NS_SCHED_NONE: s->kind = NS_SCHEDULE_LIST; s->steps = (long)cfg->steps; s->count = 0; return NS_OK;
    case NS_SCHED_EVERY: return ns_schedule_every(s, (long)cfg->steps, (long)p->every);
    case NS_SCHED_LOG: return ns_schedule_log(s, (long)cfg->steps, p->log_count);
    case NS_SCHED_LIST: {
        long at[NS_SPEC_MAX_PROBE_STEPS];
        for (int i = 0; i < p->nat; i++) at[i] = (long)p->at[i];
        return ns_schedule_list(s, (long)cfg->steps, at, p->nat);
    }
    }
    return ns_error_set(NS_ERR_ARG, "run %d: unknown probe schedule kind %d", cfg->index, (int)p->sched);
}

ns_status ns_run_probe_steps(const ns_run_config *cfg, int64_t *steps, int n)
{
    ns_schedule s;
    NS_TRY(ns_run_schedule(cfg, &s));
    for (int i = 0; i < n && i < s.count; i++) steps[i] = ns_schedule_step(&s, i);
    ns_schedule_free(&s);
    return NS_OK;
}

ns_status ns_run_dims_get(const ns_run_config *cfg, const ns_dataset_info *info, ns_run_dims *d)
{
    memset(d, 0, sizeof *d);
    d->nlog = nlog_of(cfg);
    d->neval = info->n_test > 0 ? neval_of(cfg) : 0;
    ns_schedule s;
    NS_TRY(ns_run_schedule(cfg, &s));
    d->nprobe = s.count;
    ns_schedule_free(&s);
    d->neta = cfg->probe.landscape ? cfg->probe.eta_count : 0;
    d->nunits = cfg->probe.act_units;
    d->nquant = cfg->probe.act_units > 0 ? cfg->probe.act_nquantiles : 0;
    const ns_probe_config *pc = &cfg->probe;
    d->neig = pc->curv ? pc->curv_k : 0;
    d->nslq_v = pc->curv && pc->curv_slq ? pc->curv_slq_nv : 0;
    d->nslq_m = pc->curv && pc->curv_slq ? pc->curv_slq_m : 0;

    int nout = info->nclasses > 0 ? info->nclasses : info->target_dim;
    ns_arch a;
    NS_TRY(ns_arch_resolve(cfg->arch, info->shape, nout, &a));
    int weights = 0;
    for (int i = 0; i < a.nitems; i++)
        if (a.items[i].op != NS_AOP_POOL) weights++;
    d->nlayers = weights;
    /* Activation probes look at every hidden weight layer's pre-activation
     * (its normalization's output when there is one): same count for every
     * normalization of an arch, so BN and none line up in the file. */
    d->nnorm = weights > 0 ? weights - 1 : 0;
    return NS_OK;
}
