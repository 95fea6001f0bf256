/* run_checkpoint.c - a run's checkpoint: everything the rest of the run
 * depends on, so that a resumed run is bitwise identical to an uninterrupted
 * one. Batches are a pure function of (seed, step) and probe randomness of
 * (seed, step), so besides the flat buffers only the noisy-BN stream position
 * and the step are needed. Written atomically by the store (checkpoint.h). */
#include "normsweep/checkpoint.h"
#include "run_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 2: the optimizer's state replaced the "momentum" part (SGD with momentum
 * still writes "momentum"; Adam "adam_m" and "adam_v"), optimizer settings in
 * the config hash */
#define CKPT_META_VERSION 2u

typedef struct ckpt_meta {
    uint32_t version;
    int32_t run_index;
    uint64_t config_hash;
    int64_t next_step;
    uint64_t nparams, nstate;
    uint64_t noise_counter;
    int64_t noise_used;
    double train_s, probe_s, eval_s, wall_s;
    double final_train_loss, final_train_acc, final_test_loss, final_test_acc;
} ckpt_meta;

/* FNV-1a over the settings that shape the trajectory: a checkpoint of another
 * config is refused instead of silently continued. */
static uint64_t config_hash(const ns_run_config *c)
{
    char buf[1024];
    const ns_lr_schedule *s = &c->schedule;
    int n = snprintf(buf, sizeof buf,
                     "%d|%.17g|%s|%s|%llu|%s|%llu|%d|%lld|%.17g|%.17g|%d|%d|%.17g|%.17g|%.17g|"
                     "%d|%lld|%.17g|%lld|%.17g|%.17g",
                     c->index, c->lr, c->arch, c->norm, (unsigned long long)c->seed, c->data,
                     (unsigned long long)c->data_seed, c->batch, (long long)c->steps,
                     c->momentum, c->weight_decay, c->init, c->optimizer, c->beta1, c->beta2,
                     c->eps, (int)s->kind, (long long)s->warmup, s->warmup_start,
                     (long long)s->step_size, s->gamma, s->min_factor);
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n && i < (int)sizeof buf; i++) {
        h ^= (unsigned char)buf[i];
        h *= 1099511628211ull;
    }
    return h;
}

ns_status ns_run_checkpoint_save(const char *path, const ns_run_config *cfg, const ns_net *net,
                                 const ns_optim *opt, int64_t next_step,
                                 const ns_run_result *res)
{
    ns_rng_pos pos = ns_rng_tell(&net->noise);
    ckpt_meta m;
    memset(&m, 0, sizeof m); /* no uninitialised padding bytes in the file */
    m.version = CKPT_META_VERSION;
    m.run_index = cfg->index;
    m.config_hash = config_hash(cfg);
    m.next_step = next_step;
    m.nparams = net->nparams;
    m.nstate = net->nstate;
    m.noise_counter = pos.counter;
    m.noise_used = pos.used;
    m.train_s = res->train_s;
    m.probe_s = res->probe_s;
    m.eval_s = res->eval_s;
    m.wall_s = res->wall_s;
    m.final_train_loss = res->final_train_loss;
    m.final_train_acc = res->final_train_acc;
    m.final_test_loss = res->final_test_loss;
    m.final_test_acc = res->final_test_acc;
    ns_ckpt_part parts[3 + NS_OPTIM_MAX_STATE] = {
        {"meta", &m, sizeof m},
        {"params", net->params, net->nparams * sizeof(float)},
        {"state", net->state, net->nstate * sizeof(float)},
    };
    int nparts = 3;
    for (int k = 0; k < opt->nstate; k++)
        parts[nparts++] = (ns_ckpt_part){opt->state_name[k], opt->state[k], opt->n * sizeof(float)};
    return ns_ckpt_write(path, parts, nparts);
}

/* Does meta m (of the checkpoint at path) belong to run cfg? */
static ns_status meta_check(const ckpt_meta *m, const char *path, const ns_run_config *cfg)
{
    NS_CHECK(m->version == CKPT_META_VERSION && m->run_index == cfg->index &&
                 m->config_hash == config_hash(cfg) && m->next_step >= 0 &&
                 m->next_step <= cfg->steps,
             NS_ERR_FORMAT,
             "%s: checkpoint belongs to another run or configuration (run %d expected); "
             "delete it to restart the run from step 0",
             path, cfg->index);
    return NS_OK;
}

ns_status ns_run_checkpoint_load(const char *path, const ns_run_config *cfg, ns_net *net,
                                 ns_optim *opt, int64_t *t0, ns_run_result *res)
{
    *t0 = 0;
    if (access(path, F_OK) != 0) return NS_OK; /* no checkpoint: start at step 0 */
    ckpt_meta m;
    ns_ckpt *c = NULL;
    NS_TRY(ns_ckpt_read(path, &c));
    ns_status st = ns_ckpt_get_into(c, "meta", &m, sizeof m);
    if (st == NS_OK && (m.nparams != net->nparams || m.nstate != net->nstate))
        st = ns_error_set(NS_ERR_FORMAT, "%s: checkpoint holds %llu parameters, run %d has %zu",
                          path, (unsigned long long)m.nparams, cfg->index, net->nparams);
    if (st == NS_OK) st = ns_ckpt_get_into(c, "params", net->params, net->nparams * sizeof(float));
    if (st == NS_OK) st = ns_ckpt_get_into(c, "state", net->state, net->nstate * sizeof(float));
    for (int k = 0; st == NS_OK && k < opt->nstate; k++)
        st = ns_ckpt_get_into(c, opt->state_name[k], opt->state[k], opt->n * sizeof(float));
    ns_ckpt_free(c);
    NS_TRY(st);
    NS_TRY(meta_check(&m, path, cfg));
    ns_rng_pos pos = {m.noise_counter, (int)m.noise_used};
    ns_rng_seek(&net->noise, pos);
    *t0 = m.next_step;
    res->steps_done = m.next_step;
    res->train_s = m.train_s;
    res->probe_s = m.probe_s;
    res->eval_s = m.eval_s;
    res->wall_s = m.wall_s;
    res->final_train_loss = m.final_train_loss;
    res->final_train_acc = m.final_train_acc;
    res->final_test_loss = m.final_test_loss;
    res->final_test_acc = m.final_test_acc;
    return NS_OK;
}

/* Every part of c, the meta part replaced by m, written to dst. */
static ns_status write_as(const ns_ckpt *c, const ckpt_meta *m, const char *dst)
{
    int n = ns_ckpt_nparts(c);
    ns_ckpt_part *parts = calloc((size_t)(n > 0 ? n : 1), sizeof *parts);
    NS_CHECK(parts, NS_ERR_NOMEM, "out of memory copying a checkpoint");
    ns_status st = NS_OK;
    for (int k = 0; k < n && st == NS_OK; k++) {
        parts[k].name = ns_ckpt_part_name(c, k);
        st = ns_ckpt_get(c, parts[k].name, &parts[k].data, &parts[k].size);
        if (strcmp(parts[k].name, "meta") == 0) parts[k] = (ns_ckpt_part){"meta", m, sizeof *m};
    }
    if (st == NS_OK) st = ns_ckpt_write(dst, parts, n);
    free(parts);
    return st;
}

ns_status ns_run_checkpoint_move(const char *src, const ns_run_config *from, const char *dst,
                                 const ns_run_config *to)
{
    char key[64];
    NS_CHECK(ns_run_same(from, to, key, sizeof key), NS_ERR_ARG,
             "%s: run %d and run %d differ in %s: not the same run", src, from->index, to->index,
             key);
    NS_CHECK(access(src, F_OK) == 0, NS_ERR_IO, "%s: no checkpoint", src);
    ns_ckpt *c = NULL;
    ckpt_meta m;
    NS_TRY(ns_ckpt_read(src, &c));
    ns_status st = ns_ckpt_get_into(c, "meta", &m, sizeof m);
    if (st == NS_OK) st = meta_check(&m, src, from);
    if (st == NS_OK && dst) {
        m.run_index = to->index;
        m.config_hash = config_hash(to);
        st = write_as(c, &m, dst);
    }
    ns_ckpt_free(c);
    return st;
}

void ns_run_checkpoint_remove(const char *path)
{
    /* Best effort: a leftover checkpoint of a finished run is never read
     * (resume skips finished runs). */
    (void)unlink(path);
}
