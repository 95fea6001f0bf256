/* run.c - one training run: the loop of run.h, its probes and its
 * checkpoints. See run.h for the order of events at a step. */
#include "normsweep/clock.h"
#include "normsweep/run.h"

#include "normsweep/net.h"
#include "normsweep/norm.h"
#include "normsweep/probe.h"
#include "run_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ the run */

typedef struct run {
    const ns_run_config *cfg;
    const ns_dataset *data;
    ns_run_dims dims;
    ns_net *net;
    ns_batcher *batcher;
    ns_optim opt;
    int nout;

    /* one batch */
    float *x, *t;
    int32_t *y;

    /* probes */
    ns_schedule sched;
    ns_run_probe probe;

    /* wall clock (ns_now_s): start of the part of wall_s not yet in the
     * result, the last sync and the last checkpoint (or the run's start) */
    double t_wall, last_sync, last_ckpt;
} run;

static void run_free(run *r)
{
    ns_run_probe_free(&r->probe);
    ns_optim_free(&r->opt);
    ns_schedule_free(&r->sched);
    ns_batcher_free(r->batcher);
    ns_net_free(r->net);
    free(r->x);
    free(r->t);
    free(r->y);
}

/* The optimizer of a run: its settings, the schedule over its steps. */
static ns_optim_config optim_config(const ns_run_config *cfg)
{
    ns_optim_config oc = {(ns_optim_kind)cfg->optimizer, cfg->lr, cfg->momentum,
                          cfg->weight_decay, cfg->beta1, cfg->beta2, cfg->eps, cfg->schedule};
    oc.schedule.total = cfg->steps;
    return oc;
}

static ns_status run_build(run *r, const ns_run_config *cfg, const ns_dataset *data)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->data = data;
    const ns_dataset_info *info = &data->info;
    NS_TRY(ns_run_dims_get(cfg, info, &r->dims));
    NS_CHECK(cfg->batch >= 1 && (size_t)cfg->batch <= info->n_train, NS_ERR_ARG,
             "run %d: batch %d must be between 1 and the training set size %zu", cfg->index,
             cfg->batch, info->n_train);

    ns_norm_config norm;
    NS_TRY(ns_norm_parse(cfg->norm, &norm));
    int regression = info->nclasses == 0;
    r->nout = regression ? info->target_dim : info->nclasses;
    NS_TRY(ns_net_build(cfg->arch, norm.kind == NS_NORM_NONE ? NULL : &norm, info->shape, r->nout,
                        regression ? NS_LOSS_SQUARED_SUM : NS_LOSS_SOFTMAX_CE, cfg->batch,
                        &r->net));
    NS_TRY(ns_net_init(r->net, cfg->seed, (ns_init_kind)cfg->init));
    NS_CHECK(r->net->nweights == r->dims.nlayers, NS_ERR_INTERNAL,
             "run %d: net has %d measured layers, dims say %d", cfg->index, r->net->nweights,
             r->dims.nlayers);
    r->dims.nparams = r->net->nparams;
    NS_TRY(ns_batcher_create(data, cfg->seed, cfg->batch, NULL, &r->batcher));

    size_t in = ns_shape_size(info->shape);
    r->x = malloc((size_t)cfg->batch * in * sizeof *r->x);
    if (regression) r->t = malloc((size_t)cfg->batch * r->nout * sizeof *r->t);
    else r->y = malloc((size_t)cfg->batch * sizeof *r->y);
    NS_CHECK(r->x && (r->t || r->y), NS_ERR_NOMEM, "run %d: out of memory for a batch",
             cfg->index);

    ns_optim_config oc = optim_config(cfg);
    NS_TRY(ns_optim_create(&r->opt, &oc, r->net->nparams));

    NS_TRY(ns_run_schedule(cfg, &r->sched));
    NS_TRY(ns_run_probe_init(&r->probe, cfg, &r->dims, r->net));
    return NS_OK;
}

/* Test-set loss and accuracy in EVAL mode (running statistics, no noise),
 * batches of the run's batch size. CE: mean over the set; squared error: sum. */
static void evaluate(run *r, double *loss, double *acc)
{
    const ns_dataset *d = r->data;
    size_t n = d->info.n_test, in = ns_shape_size(d->info.shape);
    ns_pass pass = {NS_MODE_EVAL, 0, 0, NULL};
    double total = 0.0;
    long correct = 0;
    for (size_t i0 = 0; i0 < n; i0 += (size_t)r->cfg->batch) {
        int b = (int)((n - i0) < (size_t)r->cfg->batch ? (n - i0) : (size_t)r->cfg->batch);
        int c = 0;
        const float *x = d->x_test + i0 * in;
        const int32_t *y = d->y_test ? d->y_test + i0 : NULL;
        const float *t = d->t_test ? d->t_test + i0 * (size_t)r->nout : NULL;
        double l = ns_net_forward(r->net, x, y, t, b, &pass, &c);
        total += d->info.nclasses > 0 ? l * b : l;
        correct += c;
    }
    *loss = d->info.nclasses > 0 ? total / (double)n : total;
    *acc = d->info.nclasses > 0 ? (double)correct / (double)n : NAN;
}

static int diverged(const ns_run_config *cfg, double loss)
{
    return !isfinite(loss) || loss > cfg->diverge_above;
}

/* ------------------------------------------------------------ durability */

int ns_run_cadence_due(double every, double since)
{
    return every >= 0 && since >= every; /* NaN or < 0: never; +inf: never */
}

/* The two cadences as intervals, < 0 where off (no control, no cadence). */
static double flush_every(const ns_run_control *ctl)
{
    const ns_run_cadence *c = ctl ? ctl->cadence : NULL;
    return c && c->flush_s >= 0 ? c->flush_s : -1.0;
}

static double checkpoint_every(const ns_run_control *ctl)
{
    const ns_run_cadence *c = ctl ? ctl->cadence : NULL;
    return c && c->checkpoint_s > 0 ? c->checkpoint_s : -1.0;
}

/* The sink's buffered traces into place. The mark is taken before the write:
 * records of steps after it are what a kill could lose. */
static ns_status run_sync(run *r, const ns_run_sink *sink)
{
    r->last_sync = ns_now_s();
    return sink && sink->sync ? sink->sync(sink->ctx) : NS_OK;
}

/* A checkpoint of the state before step `next`: traces synced first (a
 * checkpoint never points past records that could be lost) and the wall time
 * so far in the result (the checkpoint carries it into a resumed run). */
static ns_status run_checkpoint(run *r, const ns_run_sink *sink, const char *ckpt, int64_t next,
                                ns_run_result *res)
{
    NS_TRY(run_sync(r, sink));
    double now = ns_now_s();
    res->wall_s += now - r->t_wall;
    r->t_wall = r->last_ckpt = now;
    return ns_run_checkpoint_save(ckpt, r->cfg, r->net, &r->opt, next, res);
}

/* After step t: a checkpoint every checkpoint_every steps or on the wall-time
 * cadence (not after the last step: the run ends there and removes it), else
 * a sync on the flush cadence. Neither changes what the run computes. */
static ns_status after_step(run *r, const ns_run_sink *sink, const ns_run_control *ctl, int64_t t,
                            ns_run_result *res)
{
    const ns_run_config *cfg = r->cfg;
    const char *ckpt = ctl ? ctl->checkpoint_path : NULL;
    double now = ns_now_s();
    int by_steps = cfg->checkpoint_every > 0 && (t + 1) % cfg->checkpoint_every == 0;
    if (ckpt && t + 1 < cfg->steps &&
        (by_steps || ns_run_cadence_due(checkpoint_every(ctl), now - r->last_ckpt)))
        return run_checkpoint(r, sink, ckpt, t + 1, res);
    if (ns_run_cadence_due(flush_every(ctl), now - r->last_sync)) return run_sync(r, sink);
    return NS_OK;
}

/* The evaluation after step t, when one is due: test loss and accuracy of w_{t+1}. */
static ns_status eval_if_due(run *r, const ns_run_config *cfg, const ns_run_sink *sink,
                             int64_t t, ns_run_result *res)
{
    int64_t ei = r->dims.neval > 0 ? ns_run_eval_index(cfg, t) : -1;
    if (ei < 0) return NS_OK;
    double te = ns_now_s();
    ns_eval_rec er = {t + 1, ei, NAN, NAN};
    evaluate(r, &er.loss, &er.acc);
    res->final_test_loss = er.loss;
    res->final_test_acc = er.acc;
    res->eval_s += ns_now_s() - te;
    return sink && sink->eval ? sink->eval(sink->ctx, &er) : NS_OK;
}

/* Step t: the batch's forward and backward, its log record, then either the probe step
 * (which applies update t itself: ICS needs w_{t+1}) or the plain update, then an
 * evaluation when due. A diverged loss ends the run at t without the update (*stop). */
static ns_status run_step(run *r, const ns_run_config *cfg, const ns_run_sink *sink, int64_t t,
                          int regression, ns_run_result *res, int *stop)
{
    double ts = ns_now_s();
    ns_batcher_fill(r->batcher, t, r->x, r->y, r->t);
    int correct = 0;
    int pidx = r->sched.count > 0 ? ns_schedule_index(&r->sched, (long)t) : -1;
    if (pidx >= 0) ns_run_probe_attach(&r->probe); /* Theorem 4.1 hook on this backward */
    double loss = ns_net_forward(r->net, r->x, r->y, r->t, cfg->batch, NULL, &correct);
    ns_net_backward(r->net, cfg->batch);
    if (pidx >= 0) ns_run_probe_detach(&r->probe);
    double acc = regression ? NAN : (double)correct / cfg->batch;
    int64_t li = ns_run_log_index(cfg, t);
    /* ||g|| only where it is recorded: one more pass over every parameter each step was
     * ~7 % of an MLP step's memory traffic (docs/coordinator.md "Contention") */
    double gnorm = li >= 0 || pidx >= 0 ? ns_vec_norm(r->net->grads, r->net->nparams) : NAN;
    res->train_s += ns_now_s() - ts;

    res->final_train_loss = loss;
    res->final_train_acc = acc;
    if (li >= 0 && sink && sink->step) {
        ns_step_rec sr = {t, li, loss, acc, gnorm};
        NS_TRY(sink->step(sink->ctx, &sr));
    }
    if (diverged(cfg, loss)) {
        res->status = NS_RUN_DIVERGED;
        res->diverged_step = t;
        snprintf(res->message, sizeof res->message, "loss %g at step %lld%s", loss,
                 (long long)t, isfinite(loss) ? " above diverge_above" : "");
        *stop = 1;
        return NS_OK;
    }
    if (pidx >= 0) {
        double tp = ns_now_s();
        NS_TRY(ns_run_probe_step(&r->probe, r->net, &r->opt, r->x, r->y, r->t, cfg->batch, t,
                                 pidx, loss, gnorm, sink));
        res->probe_s += ns_now_s() - tp;
    } else {
        double tu = ns_now_s();
        ns_optim_step(&r->opt, t, r->net->params, r->net->grads);
        res->train_s += ns_now_s() - tu;
    }
    res->steps_done = t + 1;
    return eval_if_due(r, cfg, sink, t, res);
}

ns_status ns_run_execute(const ns_run_config *cfg, const ns_dataset *data,
                         const ns_run_sink *sink, const ns_run_control *ctl,
                         ns_run_result *res)
{
    double t_start = ns_now_s();
    memset(res, 0, sizeof *res);
    res->status = NS_RUN_FAILED;
    res->diverged_step = -1;
    res->final_train_loss = res->final_train_acc = NAN;
    res->final_test_loss = res->final_test_acc = NAN;

    run r;
    ns_status st = run_build(&r, cfg, data);
    r.t_wall = t_start;
    if (st != NS_OK) {
        snprintf(res->message, sizeof res->message, "%s", ns_error_msg());
        run_free(&r);
        return st;
    }

    /* Resume from a checkpoint when one of this run exists. */
    int64_t t0 = 0;
    const char *ckpt = ctl ? ctl->checkpoint_path : NULL;
    if (ckpt) {
        st = ns_run_checkpoint_load(ckpt, cfg, r.net, &r.opt, &t0, res);
        if (st != NS_OK) goto fail;
    }

    ns_run_meta meta = {&r.dims, r.probe.layer_names, r.probe.act_names, r.probe.act_units, t0};
    if (sink && sink->begin && (st = sink->begin(sink->ctx, cfg, &meta)) != NS_OK) goto fail;

    int regression = data->info.nclasses == 0;
    r.last_sync = r.last_ckpt = ns_now_s();
    res->status = NS_RUN_RUNNING;
    int64_t t = t0;
    for (; t < cfg->steps; t++) {
        if (ctl && ctl->poll) ctl->poll(ctl->ctx);
        if (ctl && ctl->stop && ctl->stop(ctl->ctx)) {
            res->status = NS_RUN_STOPPED;
            break;
        }
        int si = sink && sink->save ? ns_run_save_index(cfg, t) : -1;
        if (si >= 0 && (st = sink->save(sink->ctx, si, t, r.net)) != NS_OK) goto fail;

        int stop = 0;
        if ((st = run_step(&r, cfg, sink, t, regression, res, &stop)) != NS_OK) goto fail;
        if (stop) break;
        if ((st = after_step(&r, sink, ctl, t, res)) != NS_OK) goto fail;
    }
    if (res->status == NS_RUN_RUNNING) res->status = NS_RUN_DONE;
    double t_end = ns_now_s();
    res->wall_s += t_end - r.t_wall;
    r.t_wall = t_end;

    if (res->status == NS_RUN_STOPPED && ckpt &&
        (st = run_checkpoint(&r, sink, ckpt, t, res)) != NS_OK)
        goto fail;
    if (res->status != NS_RUN_STOPPED && sink && sink->weights &&
        (st = sink->weights(sink->ctx, r.net)) != NS_OK)
        goto fail;
    if (sink && sink->end && (st = sink->end(sink->ctx, res)) != NS_OK) goto fail;
    if (res->status != NS_RUN_STOPPED && ckpt) ns_run_checkpoint_remove(ckpt);
    run_free(&r);
    return NS_OK;

fail:
    res->status = NS_RUN_FAILED;
    snprintf(res->message, sizeof res->message, "%s", ns_error_msg());
    if (sink && sink->end) sink->end(sink->ctx, res);
    run_free(&r);
    return st;
}
