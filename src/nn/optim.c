/* optim.c - SGD (momentum, weight decay), Adam and AdamW over flat buffers,
 * and the learning-rate schedules; definitions in optim.h. */
#include "normsweep/optim.h"

#include "core/hot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ns_sgd_step(const ns_sgd_config *c, float *w, const float *g, float *v, size_t n)
{
    const float lr = (float)c->lr, mu = (float)c->momentum, wd = (float)c->weight_decay;
    if (mu != 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            v[i] = mu * v[i] + gi;
            w[i] -= lr * v[i];
        }
    } else if (wd != 0.0f) {
        for (size_t i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]);
    } else {
        for (size_t i = 0; i < n; i++) w[i] -= lr * g[i];
    }
}

/* ------------------------------------------------------------ schedules */

ns_lr_schedule ns_lr_schedule_default(void)
{
    return (ns_lr_schedule){.kind = NS_LR_CONSTANT, .warmup = 0, .warmup_start = 1.0 / 3.0,
                            .step_size = 1, .gamma = 0.1, .min_factor = 0.0, .total = 0};
}

ns_status ns_lr_schedule_check(const ns_lr_schedule *s)
{
    NS_CHECK(s->kind >= NS_LR_CONSTANT && s->kind <= NS_LR_COSINE, NS_ERR_ARG,
             "schedule: unknown kind %d", (int)s->kind);
    NS_CHECK(s->warmup >= 0, NS_ERR_ARG, "schedule.warmup must be >= 0 steps, got %lld",
             (long long)s->warmup);
    NS_CHECK(s->warmup == 0 || (s->warmup_start > 0.0 && s->warmup_start <= 1.0), NS_ERR_ARG,
             "schedule.warmup_start must be in (0, 1], got %g", s->warmup_start);
    NS_CHECK(s->kind != NS_LR_STEP || s->step_size > 0, NS_ERR_ARG,
             "schedule.step_size must be > 0 steps, got %lld", (long long)s->step_size);
    NS_CHECK(s->kind != NS_LR_STEP || (isfinite(s->gamma) && s->gamma > 0.0), NS_ERR_ARG,
             "schedule.gamma must be > 0, got %g", s->gamma);
    NS_CHECK(s->kind != NS_LR_COSINE || (s->min_factor >= 0.0 && s->min_factor <= 1.0),
             NS_ERR_ARG, "schedule.min_factor must be in [0, 1], got %g", s->min_factor);
    NS_CHECK(s->kind != NS_LR_COSINE || s->total > s->warmup, NS_ERR_ARG,
             "schedule: cosine decays over the steps after warm-up, but the run has %lld steps "
             "and %lld of warm-up",
             (long long)s->total, (long long)s->warmup);
    return NS_OK;
}

double ns_lr_factor(const ns_lr_schedule *s, int64_t t)
{
    if (t < s->warmup)
        return s->warmup_start + (1.0 - s->warmup_start) * (double)t / (double)s->warmup;
    const int64_t u = t - s->warmup; /* steps into the main schedule */
    switch (s->kind) {
    case NS_LR_STEP: return pow(s->gamma, (double)(u / s->step_size));
    case NS_LR_COSINE: {
        const double pi = 3.14159265358979323846;
        const double span = (double)(s->total - s->warmup);
        return s->min_factor + (1.0 - s->min_factor) * (1.0 + cos(pi * (double)u / span)) / 2.0;
    }
    default: return 1.0;
    }
}

int ns_lr_schedule_equal(const ns_lr_schedule *a, const ns_lr_schedule *b)
{
    return a->kind == b->kind && a->warmup == b->warmup &&
           (a->warmup == 0 || a->warmup_start == b->warmup_start) &&
           (a->kind != NS_LR_STEP || (a->step_size == b->step_size && a->gamma == b->gamma)) &&
           (a->kind != NS_LR_COSINE || a->min_factor == b->min_factor);
}

void ns_lr_schedule_text(const ns_lr_schedule *s, char *buf, size_t n)
{
    int k = 0;
    switch (s->kind) {
    case NS_LR_STEP:
        k = snprintf(buf, n, "step:step_size=%lld,gamma=%g", (long long)s->step_size, s->gamma);
        break;
    case NS_LR_COSINE: k = snprintf(buf, n, "cosine:min_factor=%g", s->min_factor); break;
    default: k = snprintf(buf, n, "constant"); break;
    }
    if (s->warmup > 0 && k >= 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, "%swarmup=%lld,warmup_start=%g",
                 s->kind == NS_LR_CONSTANT ? ":" : ",", (long long)s->warmup, s->warmup_start);
}

/* ------------------------------------------------------------ names */

static const char *const optim_names[] = {"sgd", "adam", "adamw"};
static const char *const lr_kind_names[] = {"constant", "step", "cosine"};

static ns_status parse_name(const char *text, const char *const *names, int n, const char *what,
                            int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = i;
            return NS_OK;
        }
    char list[128] = "";
    for (int i = 0; i < n; i++) {
        strcat(list, i ? ", " : "");
        strcat(list, names[i]);
    }
    return ns_error_set(NS_ERR_ARG, "unknown %s '%s' (expected one of: %s)", what, text, list);
}

const char *ns_optim_name(ns_optim_kind k)
{
    return k >= NS_OPTIM_SGD && k <= NS_OPTIM_ADAMW ? optim_names[k] : "?";
}

ns_status ns_optim_parse(const char *text, ns_optim_kind *out)
{
    int k;
    NS_TRY(parse_name(text, optim_names, 3, "optimizer", &k));
    *out = (ns_optim_kind)k;
    return NS_OK;
}

const char *ns_lr_kind_name(ns_lr_kind k)
{
    return k >= NS_LR_CONSTANT && k <= NS_LR_COSINE ? lr_kind_names[k] : "?";
}

ns_status ns_lr_kind_parse(const char *text, ns_lr_kind *out)
{
    int k;
    NS_TRY(parse_name(text, lr_kind_names, 3, "schedule kind", &k));
    *out = (ns_lr_kind)k;
    return NS_OK;
}

/* ------------------------------------------------------------ optimizers */

ns_optim_config ns_optim_defaults(void)
{
    return (ns_optim_config){.kind = NS_OPTIM_SGD, .lr = 0.01, .momentum = 0.0,
                             .weight_decay = 0.0, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                             .schedule = ns_lr_schedule_default()};
}

static ns_status optim_check(const ns_optim_config *c)
{
    NS_CHECK(c->kind >= NS_OPTIM_SGD && c->kind <= NS_OPTIM_ADAMW, NS_ERR_ARG,
             "optimizer: unknown kind %d", (int)c->kind);
    NS_CHECK(isfinite(c->lr) && c->lr > 0.0, NS_ERR_ARG, "optimizer: lr must be > 0, got %g",
             c->lr);
    NS_CHECK(isfinite(c->weight_decay) && c->weight_decay >= 0.0, NS_ERR_ARG,
             "optimizer: weight_decay must be >= 0, got %g", c->weight_decay);
    if (c->kind == NS_OPTIM_SGD) {
        NS_CHECK(c->momentum >= 0.0 && c->momentum < 1.0, NS_ERR_ARG,
                 "optimizer: momentum must be in [0, 1), got %g", c->momentum);
    } else {
        NS_CHECK(c->beta1 >= 0.0 && c->beta1 < 1.0 && c->beta2 >= 0.0 && c->beta2 < 1.0,
                 NS_ERR_ARG, "%s: betas must be in [0, 1), got [%g, %g]", ns_optim_name(c->kind),
                 c->beta1, c->beta2);
        NS_CHECK(isfinite(c->eps) && c->eps > 0.0, NS_ERR_ARG, "%s: eps must be > 0, got %g",
                 ns_optim_name(c->kind), c->eps);
    }
    return ns_lr_schedule_check(&c->schedule);
}

ns_status ns_optim_create(ns_optim *o, const ns_optim_config *cfg, size_t n)
{
    memset(o, 0, sizeof *o);
    NS_TRY(optim_check(cfg));
    o->cfg = *cfg;
    o->n = n;
    if (cfg->kind == NS_OPTIM_SGD && cfg->momentum != 0.0) {
        o->nstate = 1;
        o->state_name[0] = "momentum";
    } else if (cfg->kind != NS_OPTIM_SGD) {
        o->nstate = 2;
        o->state_name[0] = "adam_m";
        o->state_name[1] = "adam_v";
    }
    if (o->nstate == 0) return NS_OK;
    float *block = calloc((size_t)o->nstate * (n > 0 ? n : 1), sizeof *block);
    NS_CHECK(block, NS_ERR_NOMEM, "optimizer: out of memory for %d x %zu floats of state",
             o->nstate, n);
    for (int k = 0; k < o->nstate; k++) o->state[k] = block + (size_t)k * n;
    return NS_OK;
}

void ns_optim_free(ns_optim *o)
{
    free(o->state[0]); /* the one block */
    memset(o, 0, sizeof *o);
}

double ns_optim_lr(const ns_optim *o, int64_t t)
{
    return o->cfg.lr * ns_lr_factor(&o->cfg.schedule, t);
}

/* Adam's moments and step in double per element, stored in float (as torch
 * keeps them); l2 adds wd * w to the gradient (Adam), AdamW decays before. */
NS_HOT static void adam_step(float *restrict w, const float *restrict g, float *restrict m,
                             float *restrict v, size_t n, double b1, double b2, double step,
                             double bc2_sqrt, double eps, double l2)
{
    for (size_t i = 0; i < n; i++) {
        double gi = (double)g[i] + l2 * w[i];
        m[i] = (float)(b1 * m[i] + (1.0 - b1) * gi);
        v[i] = (float)(b2 * v[i] + (1.0 - b2) * gi * gi);
        double denom = sqrt((double)v[i]) / bc2_sqrt + eps;
        w[i] = (float)((double)w[i] - step * m[i] / denom);
    }
}

void ns_optim_step(ns_optim *o, int64_t t, float *w, const float *g)
{
    const ns_optim_config *c = &o->cfg;
    const double lr = ns_optim_lr(o, t);
    if (c->kind == NS_OPTIM_SGD) {
        ns_sgd_config s = {lr, c->momentum, c->weight_decay};
        ns_sgd_step(&s, w, g, o->nstate ? o->state[0] : NULL, o->n);
        return;
    }
    if (c->kind == NS_OPTIM_ADAMW && c->weight_decay != 0.0) {
        /* one float multiply, as torch's param.mul_(1 - lr * wd) */
        const float keep = (float)(1.0 - lr * c->weight_decay);
        for (size_t i = 0; i < o->n; i++) w[i] *= keep;
    }
    const double k = (double)(t + 1);
    const double bc1 = 1.0 - pow(c->beta1, k), bc2 = 1.0 - pow(c->beta2, k);
    adam_step(w, g, o->state[0], o->state[1], o->n, c->beta1, c->beta2, lr / bc1, sqrt(bc2),
              c->eps, c->kind == NS_OPTIM_ADAM ? c->weight_decay : 0.0);
}
