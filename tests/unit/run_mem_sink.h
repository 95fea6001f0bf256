/* run_mem_sink.h - for the test_run*.c files: a run sink that keeps every
 * record in memory (the traces, the probes' values, the exact curvature of
 * both modes, the final weights), and running one spec's first run into it. */
#ifndef NS_TEST_RUN_MEM_SINK_H
#define NS_TEST_RUN_MEM_SINK_H

#include "ns_test.h"

#include "normsweep/data.h"
#include "normsweep/net.h"
#include "normsweep/run.h"
#include "normsweep/spec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ memory sink */

#define MAXLOG 64
#define MAXPROBE 16
#define MAXETA 8
#define MAXL 8
#define MAXK 4
#define MAXSLQ 32 /* SLQ vectors x nodes */

typedef struct mem {
    int begun, ended;
    ns_run_dims d;
    double loss[MAXLOG], acc[MAXLOG], gnorm[MAXLOG];
    int nsteps_seen;
    double test_loss[MAXLOG];
    double p_loss[MAXPROBE], p_gnorm[MAXPROBE], beta[MAXPROBE], lambda[MAXPROBE];
    double eta[MAXPROBE][MAXETA], land[MAXPROBE][MAXETA], dg[MAXPROBE][MAXETA];
    double ics_l2[MAXPROBE][MAXL], ics_cos[MAXPROBE][MAXL];
    double thm_lhs[MAXPROBE][MAXL], thm_rhs[MAXPROBE][MAXL];
    /* exact curvature, [probe][mode] */
    double top[MAXPROBE][2][MAXK], top_res[MAXPROBE][2][MAXK];
    int top_conv[MAXPROBE][2][MAXK];
    double min[MAXPROBE][2], share[MAXPROBE][2], trace[MAXPROBE][2], trace_se[MAXPROBE][2];
    double slq_nodes[MAXPROBE][2][MAXSLQ], slq_weights[MAXPROBE][2][MAXSLQ];
    double layer[MAXPROBE][2][MAXL], fd_diff[MAXPROBE][2], fd_err[MAXPROBE][2];
    int steps[MAXPROBE][2], products[MAXPROBE][2];
    float *weights;
    size_t nweights;
    ns_run_result res;
} mem;

static inline ns_status m_begin(void *c, const ns_run_config *cfg, const ns_run_meta *meta)
{
    (void)cfg;
    mem *m = c;
    m->begun++;
    m->d = *meta->dims;
    return NS_OK;
}
static inline ns_status m_step(void *c, const ns_step_rec *r)
{
    mem *m = c;
    ck_assert_int_lt(r->index, MAXLOG);
    m->loss[r->index] = r->loss;
    m->acc[r->index] = r->acc;
    m->gnorm[r->index] = r->grad_norm;
    m->nsteps_seen++;
    return NS_OK;
}
static inline ns_status m_eval(void *c, const ns_eval_rec *r)
{
    mem *m = c;
    m->test_loss[r->index] = r->loss;
    return NS_OK;
}
static inline ns_status m_probe(void *c, const ns_probe_rec *p)
{
    mem *m = c;
    int i = p->index;
    ck_assert_int_lt(i, MAXPROBE);
    m->p_loss[i] = p->loss;
    m->p_gnorm[i] = p->grad_norm;
    m->beta[i] = p->beta_eff;
    m->lambda[i] = p->hess_lambda;
    for (int k = 0; k < m->d.neta && k < MAXETA; k++) {
        m->eta[i][k] = p->eta[k];
        m->land[i][k] = p->land_loss[k];
        m->dg[i][k] = p->land_grad_change[k];
    }
    for (int l = 0; l < m->d.nlayers && l < MAXL; l++) {
        m->ics_l2[i][l] = p->ics_l2[l];
        m->ics_cos[i][l] = p->ics_cos[l];
    }
    for (int l = 0; l < m->d.nnorm && l < MAXL; l++) {
        m->thm_lhs[i][l] = p->thm41_lhs[l];
        m->thm_rhs[i][l] = p->thm41_rhs[l];
    }
    for (int md = 0; md < 2 && m->d.neig > 0; md++) {
        const ns_curv_rec *c = &p->curv[md];
        for (int k = 0; k < m->d.neig && k < MAXK; k++) {
            m->top[i][md][k] = c->top_eig[k];
            m->top_res[i][md][k] = c->top_residual[k];
            m->top_conv[i][md][k] = c->top_converged[k];
        }
        m->min[i][md] = c->min_eig;
        m->share[i][md] = c->grad_share;
        m->trace[i][md] = c->trace;
        m->trace_se[i][md] = c->trace_se;
        m->fd_diff[i][md] = c->fd_rel_diff;
        m->fd_err[i][md] = c->fd_rel_err;
        m->steps[i][md] = c->lanczos_steps;
        m->products[i][md] = c->products;
        for (int k = 0; k < m->d.nslq_v * m->d.nslq_m && k < MAXSLQ; k++) {
            m->slq_nodes[i][md][k] = c->slq_nodes[k];
            m->slq_weights[i][md][k] = c->slq_weights[k];
        }
        for (int l = 0; l < m->d.nlayers && l < MAXL; l++) m->layer[i][md][l] = c->layer_eig[l];
    }
    return NS_OK;
}
static inline ns_status m_weights(void *c, const ns_net *net)
{
    mem *m = c;
    free(m->weights);
    m->nweights = net->nparams + net->nstate;
    m->weights = malloc(m->nweights * sizeof(float));
    memcpy(m->weights, net->params, net->nparams * sizeof(float));
    memcpy(m->weights + net->nparams, net->state, net->nstate * sizeof(float));
    return NS_OK;
}
static inline ns_status m_end(void *c, const ns_run_result *r)
{
    mem *m = c;
    m->ended++;
    m->res = *r;
    return NS_OK;
}

static inline void mem_init(mem *m, ns_run_sink *s)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < MAXLOG; i++) m->loss[i] = m->test_loss[i] = NAN;
    *s = (ns_run_sink){m, m_begin, m_step, m_eval, m_probe, NULL, m_weights, m_end};
}

static inline ns_spec *spec_of(const char *yaml)
{
    ns_spec *s = NULL;
    char *errors = NULL;
    ns_status st = ns_spec_parse(yaml, "test.yaml", &s, &errors);
    ck_assert_msg(st == NS_OK, "spec: %s", errors ? errors : ns_error_msg());
    free(errors);
    return s;
}

static inline const ns_dataset *data_of(const ns_spec *s)
{
    const ns_dataset *d = NULL;
    ck_assert_msg(ns_dataset_cache_get(s->data, s->runs[0].data_seed, &d) == NS_OK, "%s",
                  ns_error_msg());
    return d;
}

/* A small MLP run with noisy BN (the probes' hardest case: the step's noise). */
#define MLP_SPEC(probes, extra)                                                               \
    "name: t\n"                                                                               \
    "data: 'synthetic-cls:n=96,test=32,c=1,h=4,w=4,classes=3'\n"                              \
    "train: {steps: 13, batch: 16, log_every: 1, eval_every: 4, momentum: 0.9}\n"             \
    "grid: {lr: [0.05], arch: ['mlp:16-12-12-3'], norm: [noisy_batch], seed: [7]}\n" extra probes

#define ALL_PROBES                                                                            \
    "probes: {every: 3, eta: {relative: [0.5, 4.0], count: 3}, random_direction: true,\n"     \
    "         ics: {layers: all}, activations: {units: 4},\n"                                 \
    "         hessian: {iters: 5, tol: 1.0e-3, trace_samples: 2}, thm41: true}\n"

/* Adam with a warm-up and a cosine schedule, set on the parsed config. */
static inline void use_adam(ns_run_config *c)
{
    c->optimizer = NS_OPTIM_ADAMW;
    c->lr = 3e-3;
    c->weight_decay = 0.01;
    c->beta1 = 0.9, c->beta2 = 0.99, c->eps = 1e-8;
    c->schedule = ns_lr_schedule_default();
    c->schedule.kind = NS_LR_COSINE;
    c->schedule.warmup = 3;
}

/* applied by run_spec when set (one per test file: each includes this once) */
static void (*edit_config)(ns_run_config *c);

static inline void run_spec(const char *yaml, mem *m, const ns_run_control *ctl)
{
    ns_spec *s = spec_of(yaml);
    if (edit_config) edit_config(&s->runs[0]);
    const ns_dataset *data = data_of(s);
    ns_run_sink sink;
    mem keep = *m;
    if (!m->begun) mem_init(m, &sink);
    else {
        *m = keep;
        sink = (ns_run_sink){m, m_begin, m_step, m_eval, m_probe, NULL, m_weights, m_end};
    }
    ns_run_result res;
    ck_assert_msg(ns_run_execute(&s->runs[0], data, &sink, ctl, &res) == NS_OK, "%s", ns_error_msg());
    ns_spec_free(s);
}

#endif
