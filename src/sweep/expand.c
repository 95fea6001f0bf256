/* expand.c - axes -> runs[] in the canonical order.
 *
 * Canonical order (docs/sweep-format.md, "Run order"): first every grid run,
 * then every random-search run. Within the grid part, nested loops with the
 * LAST axis varying fastest:
 *     arch > norm > lr > optimizer > schedule > batch > momentum > weight_decay > init > seed
 * in the order values are written in the file. Overrides replace the value
 * lists of (lr, optimizer, schedule, batch, momentum, weight_decay, init, seed) for the arch/norm
 * pairs they match; when several match, later ones win per key.
 *
 * Random search draws sample k of a sampled axis from its own stream: the
 * k-th uniform u of rng.h stream NS_STREAM(NS_STREAM_SWEEP, sub) with the
 * search seed (draw_sub below: 0 for lr - the stream of the old 'random'
 * section - and fixed numbers for the others; 16 + axis for the uniform pick
 * of a grid value in count mode). A draw therefore depends on (seed, axis, k) only: not on the
 * other axes, the count, or the number of ranks.
 *   per_grid_point N: samples k = 0..N-1, the same for every arch/norm pair,
 *     each crossed with the pair's other (not sampled) axes.
 *   count N: run k draws every axis: sampled ones from their distribution,
 *     the others (arch, norm included) uniformly from their lists.
 * The run index is the position in this order: it does not depend on ranks.
 */
#include "sweep_internal.h"

#include "normsweep/rng.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int matches(const ns_override *o, const char *arch, const char *norm)
{
    return (!o->match_arch[0] || fnmatch(o->match_arch, arch, 0) == 0) &&
           (!o->match_norm[0] || fnmatch(o->match_norm, norm, 0) == 0);
}

/* The value lists in effect for one (arch, norm) pair: pointers into the
 * grid or the overrides, or one-value lists in `one` (the train value, a
 * sample). Only n, v[0] and iv[0] of a one-value list are set. */
typedef struct effective {
    const ns_numaxis *ax[NS_AXIS_COUNT];
    ns_numaxis one[NS_AXIS_COUNT];
    double rlo, rhi; /* search.lr range for this pair (overrides' random_lr) */
} effective;

static void set_one(effective *ef, int a, double v, int64_t iv)
{
    ef->one[a].n = 1;
    ef->one[a].v[0] = v;
    ef->one[a].iv[0] = iv;
    ef->ax[a] = &ef->one[a];
}

static void effective_axes(const ns_spec *s, int ia, int in, effective *ef)
{
    const struct ns_spec_priv *pv = s->priv;
    const ns_run_config *b = &s->base;
    for (int a = NS_AXIS_LR; a < NS_AXIS_COUNT; a++) {
        if (pv->grid[a].n) {
            ef->ax[a] = &pv->grid[a];
            continue;
        }
        set_one(ef, a, a == NS_AXIS_MOMENTUM ? b->momentum
                       : a == NS_AXIS_WEIGHT_DECAY ? b->weight_decay : 0,
                a == NS_AXIS_BATCH ? b->batch
                : a == NS_AXIS_INIT ? b->init
                : a == NS_AXIS_OPTIMIZER ? b->optimizer
                : a == NS_AXIS_SCHEDULE ? -1 : 0);
        if (a == NS_AXIS_LR) ef->one[a].n = 0; /* no grid lr: search part only */
    }
    ef->rlo = pv->search.ax[NS_AXIS_LR].lo, ef->rhi = pv->search.ax[NS_AXIS_LR].hi;
    for (int k = 0; k < pv->noverrides; k++) {
        const ns_override *o = &pv->ov[k];
        if (!matches(o, pv->arch[ia], pv->norm[in])) continue;
        for (int a = NS_AXIS_LR; a < NS_AXIS_COUNT; a++)
            if (o->ax[a].n) ef->ax[a] = &o->ax[a];
        if (o->has_random_lr) ef->rlo = o->random_lo, ef->rhi = o->random_hi;
    }
}

/* The run order below arch > norm: the last axis varies fastest. */
static const int nest[] = {NS_AXIS_LR,       NS_AXIS_OPTIMIZER,    NS_AXIS_SCHEDULE,
                           NS_AXIS_BATCH,    NS_AXIS_MOMENTUM,     NS_AXIS_WEIGHT_DECAY,
                           NS_AXIS_INIT,     NS_AXIS_SEED};
#define NEST ((int)(sizeof nest / sizeof nest[0]))
_Static_assert(NEST == NS_AXIS_COUNT - 2, "every axis but arch and norm is nested");

/* Value i of axis a's list into run r (a schedule is an index into pv->sched;
 * -1, the train value, leaves the run's copy of it). */
static void put_value(const struct ns_spec_priv *pv, ns_run_config *r, int a, const ns_numaxis *A,
                      int i)
{
    switch (a) {
    case NS_AXIS_SCHEDULE:
        if (A->iv[i] >= 0) r->schedule = pv->sched[A->iv[i]];
        break;
    case NS_AXIS_LR: r->lr = A->v[i]; break;
    case NS_AXIS_OPTIMIZER: r->optimizer = (int)A->iv[i]; break;
    case NS_AXIS_BATCH: r->batch = (int)A->iv[i]; break;
    case NS_AXIS_MOMENTUM: r->momentum = A->v[i]; break;
    case NS_AXIS_WEIGHT_DECAY: r->weight_decay = A->v[i]; break;
    case NS_AXIS_INIT: r->init = (int)A->iv[i]; break;
    case NS_AXIS_SEED: r->seed = (uint64_t)A->iv[i]; break;
    default: NS_ASSERT(0);
    }
}

/* Emit (or count, if runs == NULL) the runs of one arch/norm pair: the
 * product of its lists in nest[] order. rsample: -1 (grid) or the sample. */
static int64_t emit_pair(const ns_spec *s, const char *arch, const char *norm,
                         const effective *ef, int rsample, ns_run_config *runs, int64_t at)
{
    int64_t total = 1;
    for (int j = 0; j < NEST; j++) total *= ef->ax[nest[j]]->n; /* 256^7 fits in int64 */
    if (!runs) return total; /* counting: a product, never a loop */
    for (int64_t k = 0; k < total; k++) {
        NS_ASSERT(at + k < NS_SPEC_MAX_RUNS);
        ns_run_config *r = &runs[at + k];
        *r = s->base;
        r->index = (int)(at + k);
        r->random_sample = rsample;
        snprintf(r->arch, sizeof r->arch, "%s", arch);
        snprintf(r->norm, sizeof r->norm, "%s", norm);
        int64_t rest = k; /* k in mixed radix, the last axis of nest[] fastest */
        for (int j = NEST - 1; j >= 0; j--) {
            const ns_numaxis *A = ef->ax[nest[j]];
            put_value(s->priv, r, nest[j], A, (int)(rest % A->n));
            rest /= A->n;
        }
    }
    return total;
}

/* ------------------------------------------------------------ random search */
/* The stream of each sampled axis' draws: 1 + axis as the axes were numbered
 * when search came (width 9), fixed so draws never move when an axis is
 * added; the optimizer and the schedule, added after, take 10 and 11. Count
 * mode's pick from a grid list: 16 + axis. */
static const uint32_t draw_sub[NS_SEARCH_AXES] = {
    [NS_AXIS_ARCH] = 1,         [NS_AXIS_NORM] = 2, [NS_AXIS_LR] = 0,   [NS_AXIS_BATCH] = 4,
    [NS_AXIS_MOMENTUM] = 5,     [NS_AXIS_WEIGHT_DECAY] = 6,             [NS_AXIS_INIT] = 7,
    [NS_AXIS_SEED] = 8,         [NS_SEARCH_WIDTH] = 9,                  [NS_AXIS_OPTIMIZER] = 10,
    [NS_AXIS_SCHEDULE] = 11};
_Static_assert(NS_SEARCH_AXES == 11, "a new axis needs its own stream in draw_sub");

static uint32_t stream_sub(int a, int pick) { return pick ? 16u + (uint32_t)a : draw_sub[a]; }

/* The value of sampled axis a for uniform u (lr ranges are the pair's). */
static double sample_value(const ns_search_axis *sa, int a, double u, const effective *ef,
                           int64_t *iv)
{
    double lo = a == NS_AXIS_LR ? ef->rlo : sa->lo, hi = a == NS_AXIS_LR ? ef->rhi : sa->hi, v;
    if (sa->dist == NS_DIST_CHOICE) {
        int k = (int)(u * sa->choice.n);
        if (k >= sa->choice.n) k = sa->choice.n - 1;
        *iv = sa->choice.iv[k];
        return sa->choice.v[k];
    }
    if (sa->dist == NS_DIST_LOG_UNIFORM) v = exp(log(lo) + u * (log(hi) - log(lo)));
    else v = lo + u * (hi - lo);
    if (a == NS_AXIS_BATCH) { /* an integer in [lo, hi] */
        v = nearbyint(v);
        v = v < lo ? lo : v > hi ? hi : v;
    }
    *iv = (int64_t)v;
    return v;
}

/* Fill the sampled axes of ef with the draws u[a] (and the width into arch). */
static void apply_sample(const ns_spec *s, effective *ef, const double *u, const char *base_arch,
                         char *arch, size_t cap)
{
    const ns_search *sr = &s->priv->search;
    snprintf(arch, cap, "%s", base_arch);
    for (int a = NS_AXIS_LR; a < NS_SEARCH_AXES; a++) {
        const ns_search_axis *sa = &sr->ax[a];
        if (sa->dist == NS_DIST_NONE) continue;
        int64_t iv;
        double v = sample_value(sa, a, u[a], ef, &iv);
        if (a == NS_SEARCH_WIDTH) ns_ref_arch_width(arch, cap, base_arch, v);
        else set_one(ef, a, v, iv);
    }
}

/* per_grid_point: every pair, every sample k, crossed with the rest. */
static int64_t per_grid_point(const ns_spec *s, effective *ef, ns_run_config *runs, int64_t n)
{
    const struct ns_spec_priv *pv = s->priv;
    const ns_search *sr = &pv->search;
    double u[NS_SPEC_MAX_AXIS][NS_SEARCH_AXES];
    for (int a = NS_AXIS_LR; a < NS_SEARCH_AXES; a++) {
        ns_rng rng;
        ns_rng_init(&rng, sr->seed, NS_STREAM(NS_STREAM_SWEEP, stream_sub(a, 0)));
        for (int k = 0; k < sr->per_grid_point; k++) u[k][a] = ns_rng_uniform_double(&rng);
    }
    for (int ia = 0; ia < pv->narch; ia++)
        for (int in = 0; in < pv->nnorm; in++) {
            effective_axes(s, ia, in, ef);
            for (int k = 0; k < sr->per_grid_point && n <= NS_SPEC_MAX_RUNS; k++) {
                char arch[160];
                apply_sample(s, ef, u[k], pv->arch[ia], arch, sizeof arch);
                n += emit_pair(s, arch, pv->norm[in], ef, k, runs, n);
            }
        }
    return n;
}

/* A uniform pick from a list of n values. */
static int pick(ns_rng *rng, int n)
{
    int k = (int)(ns_rng_uniform_double(rng) * n);
    return k < n ? k : n - 1;
}

/* count: run k draws arch, norm, and every axis. */
static int64_t count_runs(const ns_spec *s, effective *ef, ns_run_config *runs, int64_t n)
{
    const struct ns_spec_priv *pv = s->priv;
    const ns_search *sr = &pv->search;
    ns_rng draw[NS_SEARCH_AXES], choose[NS_AXIS_COUNT];
    for (int a = 0; a < NS_SEARCH_AXES; a++) {
        ns_rng_init(&draw[a], sr->seed, NS_STREAM(NS_STREAM_SWEEP, stream_sub(a, 0)));
        if (a < NS_AXIS_COUNT)
            ns_rng_init(&choose[a], sr->seed, NS_STREAM(NS_STREAM_SWEEP, stream_sub(a, 1)));
    }
    for (int k = 0; k < sr->count; k++) {
        int ia = pick(&choose[NS_AXIS_ARCH], pv->narch), in = pick(&choose[NS_AXIS_NORM], pv->nnorm);
        double u[NS_SEARCH_AXES];
        for (int a = 0; a < NS_SEARCH_AXES; a++) u[a] = ns_rng_uniform_double(&draw[a]);
        effective_axes(s, ia, in, ef);
        for (int a = NS_AXIS_LR; a < NS_AXIS_COUNT; a++) { /* grid lists: one value each */
            const ns_numaxis *L = ef->ax[a];
            int j = pick(&choose[a], L->n > 0 ? L->n : 1);
            if (L->n > 0) set_one(ef, a, L->v[j], L->iv[j]);
        }
        char arch[160];
        apply_sample(s, ef, u, pv->arch[ia], arch, sizeof arch);
        n += emit_pair(s, arch, pv->norm[in], ef, k, runs, n); /* one run: every list has one value */
    }
    return n;
}

/* All runs in canonical order; returns the count (capped just above the
 * limit, never overflowing), or -1 without memory. */
static int64_t generate(const ns_spec *s, ns_run_config *runs)
{
    const struct ns_spec_priv *pv = s->priv;
    int64_t n = 0;
    effective *ef = malloc(sizeof *ef);
    if (!ef) return -1;
    for (int ia = 0; ia < pv->narch && n <= NS_SPEC_MAX_RUNS; ia++)
        for (int in = 0; in < pv->nnorm; in++) {
            effective_axes(s, ia, in, ef);
            n += emit_pair(s, pv->arch[ia], pv->norm[in], ef, -1, runs, n);
            if (n > NS_SPEC_MAX_RUNS) n = NS_SPEC_MAX_RUNS + 1; /* no int64 overflow */
        }
    if (pv->search.per_grid_point && n <= NS_SPEC_MAX_RUNS) n = per_grid_point(s, ef, runs, n);
    if (pv->search.count && n + pv->search.count <= NS_SPEC_MAX_RUNS) n = count_runs(s, ef, runs, n);
    else if (pv->search.count) n = NS_SPEC_MAX_RUNS + 1;
    free(ef);
    return n > NS_SPEC_MAX_RUNS ? NS_SPEC_MAX_RUNS + 1 : n;
}

/* Bit a of the result: axis a takes more than one value over the runs. */
static unsigned varied_axes(const ns_run_config *r, int n)
{
    unsigned v = 0;
    for (int i = 1; i < n; i++) {
        v |= (unsigned)(strcmp(r[i].arch, r[0].arch) != 0) << NS_AXIS_ARCH;
        v |= (unsigned)(strcmp(r[i].norm, r[0].norm) != 0) << NS_AXIS_NORM;
        v |= (unsigned)(r[i].lr != r[0].lr) << NS_AXIS_LR;
        v |= (unsigned)(r[i].batch != r[0].batch) << NS_AXIS_BATCH;
        v |= (unsigned)(r[i].momentum != r[0].momentum) << NS_AXIS_MOMENTUM;
        v |= (unsigned)(r[i].weight_decay != r[0].weight_decay) << NS_AXIS_WEIGHT_DECAY;
        v |= (unsigned)(r[i].init != r[0].init) << NS_AXIS_INIT;
        v |= (unsigned)(r[i].seed != r[0].seed) << NS_AXIS_SEED;
        v |= (unsigned)(r[i].optimizer != r[0].optimizer) << NS_AXIS_OPTIMIZER;
        v |= (unsigned)!ns_lr_schedule_equal(&r[i].schedule, &r[0].schedule) << NS_AXIS_SCHEDULE;
    }
    return v;
}

void ns_spec_check_overrides(const ns_spec *s, ns_errs *e)
{
    const struct ns_spec_priv *pv = s->priv;
    for (int k = 0; k < pv->noverrides; k++) {
        int used = 0;
        for (int ia = 0; ia < pv->narch; ia++)
            for (int in = 0; in < pv->nnorm; in++) used |= matches(&pv->ov[k], pv->arch[ia], pv->norm[in]);
        if (!used)
            ns_errs_at(e, pv->ov[k].line, pv->ov[k].col,
                       "overrides[%d]: matches no arch/norm pair of the grid (check the patterns)", k);
    }
}

/* Training FLOPs and measured layers of each run's arch: the grid's, or (a
 * sampled width) computed for the run. */
static ns_status arch_costs(ns_spec *s)
{
    const struct ns_spec_priv *pv = s->priv;
    int nout = s->nclasses > 0 ? s->nclasses : s->target_dim;
    for (int i = 0; i < s->nruns; i++) {
        int a = 0;
        while (a < pv->narch && strcmp(s->runs[i].arch, pv->arch[a])) a++;
        if (a < pv->narch) {
            s->train_flops[i] = pv->arch_flops[a];
            s->measured_layers[i] = pv->arch_layers[a];
        } else if (i > 0 && !strcmp(s->runs[i].arch, s->runs[i - 1].arch)) {
            s->train_flops[i] = s->train_flops[i - 1];
            s->measured_layers[i] = s->measured_layers[i - 1];
        } else {
            NS_TRY(ns_ref_arch(s->runs[i].arch, s->in_shape, nout, &s->train_flops[i],
                               &s->measured_layers[i]));
        }
    }
    return NS_OK;
}

ns_status ns_spec_expand(ns_spec *s, ns_errs *e)
{
    const struct ns_spec_priv *pv = s->priv;
    int64_t n = generate(s, NULL);
    if (n < 0) return ns_error_set(NS_ERR_NOMEM, "out of memory expanding the sweep");
    NS_ASSERT(n > 0); /* grid.arch, grid.norm and an lr source are required */
    if (n > NS_SPEC_MAX_RUNS) {
        ns_errs_at(e, pv->grid_line, pv->grid_col,
                   "grid: the sweep expands to more than %d runs (split it into several sweeps)",
                   NS_SPEC_MAX_RUNS);
        return NS_ERR_ARG;
    }
    s->runs = calloc((size_t)n, sizeof *s->runs);
    s->train_flops = calloc((size_t)n, sizeof *s->train_flops);
    s->measured_layers = calloc((size_t)n, sizeof *s->measured_layers);
    if (!s->runs || !s->train_flops || !s->measured_layers)
        return ns_error_set(NS_ERR_NOMEM, "out of memory for %lld runs", (long long)n);
    if (generate(s, s->runs) < 0) return ns_error_set(NS_ERR_NOMEM, "out of memory expanding the sweep");
    s->nruns = (int)n;
    ns_status st = arch_costs(s);
    if (st != NS_OK) { /* validated before: a sampled width that does not build */
        ns_errs_at(e, pv->grid_line, pv->grid_col, "grid: %s", ns_error_msg());
        return NS_ERR_ARG;
    }
    s->varied = varied_axes(s->runs, s->nruns);
    return NS_OK;
}
