/* expand.c - axes -> runs[] in the canonical order.
 *
 * Canonical order (docs/sweep-format.md, "Run order"): first every grid run,
 * then every random-LR run. Within each part, nested loops with the LAST axis
 * varying fastest:
 *     arch > norm > lr > optimizer > batch > momentum > weight_decay > init > seed
 * in the order values are written in the file. Overrides replace the value
 * lists of (lr, optimizer, batch, momentum, weight_decay, init, seed) for the arch/norm
 * pairs they match; when several match, later ones win per key. The random
 * part draws u_0..u_{N-1} ~ U[0,1) once (rng.h stream NS_STREAM_SWEEP, seed
 * random.seed) and gives sample k the lr lo * (hi/lo)^u_k with (lo, hi) the
 * pair's range, so every arch/norm sees the same quantiles of its range.
 * The run index is the position in this order: it does not depend on ranks.
 */
#include "sweep_internal.h"

#include "normsweep/rng.h"

#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int matches(const ns_override *o, const char *arch, const char *norm)
{
    return (!o->match_arch[0] || fnmatch(o->match_arch, arch, 0) == 0) &&
           (!o->match_norm[0] || fnmatch(o->match_norm, norm, 0) == 0);
}

/* The value lists in effect for one (arch, norm) pair; a list of one base
 * value for axes the spec does not vary. */
typedef struct effective {
    ns_numaxis ax[NS_AXIS_COUNT];
    double rlo, rhi;
} effective;

static void effective_axes(const ns_spec *s, int ia, int in, effective *ef)
{
    const struct ns_spec_priv *pv = s->priv;
    const ns_run_config *b = &s->base;
    for (int a = NS_AXIS_LR; a < NS_AXIS_COUNT; a++) {
        ef->ax[a] = pv->grid[a];
        if (ef->ax[a].n) continue;
        ef->ax[a].n = a == NS_AXIS_LR ? 0 : 1; /* no grid lr: random part only */
        ef->ax[a].v[0] = a == NS_AXIS_MOMENTUM ? b->momentum
                       : a == NS_AXIS_WEIGHT_DECAY ? b->weight_decay : 0;
        ef->ax[a].iv[0] = a == NS_AXIS_BATCH ? b->batch
                        : a == NS_AXIS_INIT ? b->init
                        : a == NS_AXIS_OPTIMIZER ? b->optimizer : 0;
    }
    ef->rlo = s->random_lr_lo, ef->rhi = s->random_lr_hi;
    for (int k = 0; k < pv->noverrides; k++) {
        const ns_override *o = &pv->ov[k];
        if (!matches(o, pv->arch[ia], pv->norm[in])) continue;
        for (int a = NS_AXIS_LR; a < NS_AXIS_COUNT; a++)
            if (o->ax[a].n) ef->ax[a] = o->ax[a];
        if (o->has_random_lr) ef->rlo = o->random_lo, ef->rhi = o->random_hi;
    }
}

/* Emit (or count, if runs == NULL) the runs of one (arch, norm) pair for
 * one part. lrs/nlr: that part's learning rates, rsample: -1 (grid) or
 * the first random sample index (lrs[i] belongs to sample rsample + i). */
static int64_t emit_pair(const ns_spec *s, int ia, int in, const effective *ef,
                         const double *lrs, int nlr, int rsample, ns_run_config *runs,
                         int64_t at)
{
    const struct ns_spec_priv *pv = s->priv;
    const ns_numaxis *O = &ef->ax[NS_AXIS_OPTIMIZER], *B = &ef->ax[NS_AXIS_BATCH],
                     *M = &ef->ax[NS_AXIS_MOMENTUM], *W = &ef->ax[NS_AXIS_WEIGHT_DECAY],
                     *I = &ef->ax[NS_AXIS_INIT], *S = &ef->ax[NS_AXIS_SEED];
    if (!runs) /* counting: a product, never a loop (256^7 combinations fit in int64) */
        return (int64_t)nlr * O->n * B->n * M->n * W->n * I->n * S->n;
    int64_t n = 0;
    for (int l = 0; l < nlr; l++)
        for (int o = 0; o < O->n; o++)
            for (int b = 0; b < B->n; b++)
                for (int m = 0; m < M->n; m++)
                    for (int w = 0; w < W->n; w++)
                        for (int i = 0; i < I->n; i++)
                            for (int sd = 0; sd < S->n; sd++, n++) {
                                NS_ASSERT(at + n < NS_SPEC_MAX_RUNS);
                                ns_run_config *r = &runs[at + n];
                                *r = s->base;
                                r->index = (int)(at + n);
                                r->random_sample = rsample < 0 ? -1 : rsample + l;
                                r->lr = lrs[l];
                                r->optimizer = (int)O->iv[o];
                                memcpy(r->arch, pv->arch[ia], sizeof r->arch);
                                memcpy(r->norm, pv->norm[in], sizeof r->norm);
                                r->batch = (int)B->iv[b];
                                r->momentum = M->v[m];
                                r->weight_decay = W->v[w];
                                r->init = (int)I->iv[i];
                                r->seed = (uint64_t)S->iv[sd];
                            }
    return n;
}

/* All runs in canonical order; returns the count (may exceed the cap). */
static int64_t generate(const ns_spec *s, const double *u, ns_run_config *runs)
{
    const struct ns_spec_priv *pv = s->priv;
    int64_t n = 0;
    effective *ef = malloc(sizeof *ef);
    if (!ef) return -1;
    for (int part = 0; part < 2; part++)
        for (int ia = 0; ia < pv->narch; ia++)
            for (int in = 0; in < pv->nnorm; in++) {
                effective_axes(s, ia, in, ef);
                if (part == 0) {
                    const ns_numaxis *L = &ef->ax[NS_AXIS_LR];
                    n += emit_pair(s, ia, in, ef, L->v, L->n, -1, runs, n);
                } else if (s->random_count > 0) {
                    double lrs[NS_SPEC_MAX_AXIS];
                    for (int k = 0; k < s->random_count; k++)
                        lrs[k] = exp(log(ef->rlo) + u[k] * (log(ef->rhi) - log(ef->rlo)));
                    n += emit_pair(s, ia, in, ef, lrs, s->random_count, 0, runs, n);
                }
                if (n > NS_SPEC_MAX_RUNS) n = NS_SPEC_MAX_RUNS + 1; /* no int64 overflow */
            }
    free(ef);
    return n;
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

ns_status ns_spec_expand(ns_spec *s, ns_errs *e)
{
    const struct ns_spec_priv *pv = s->priv;
    double u[NS_SPEC_MAX_AXIS];
    ns_rng rng;
    ns_rng_init(&rng, s->random_seed, NS_STREAM(NS_STREAM_SWEEP, 0));
    for (int k = 0; k < s->random_count; k++) u[k] = ns_rng_uniform_double(&rng);

    int64_t n = generate(s, u, NULL);
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
    generate(s, u, s->runs);
    s->nruns = (int)n;
    for (int i = 0; i < s->nruns; i++)
        for (int a = 0; a < pv->narch; a++)
            if (!strcmp(s->runs[i].arch, pv->arch[a])) {
                s->train_flops[i] = pv->arch_flops[a];
                s->measured_layers[i] = pv->arch_layers[a];
                break;
            }
    s->varied = varied_axes(s->runs, s->nruns);
    return NS_OK;
}
