/* run_curv.c - the exact curvature of a probe step (docs/measurements.md,
 * "Exact curvature"): the glue between the run's probe state and
 * curvature.h / hvp.h.
 *
 * In each mode the config asks (train, eval), at w_t on batch t:
 *   1. the FD check (optional): D_h(u) and its error estimate by central
 *      differences, then the exact H u, for a Rademacher direction;
 *   2. the operator: the exact HVP after one base pass (ns_hvp_begin), or the
 *      finite-difference one (probes.curvature.hvp: fd);
 *   3. Lanczos top-k / smallest with the step's gradient's top-k share, SLQ,
 *      Hutchinson, the per-layer blocks (weight slices), all on that operator.
 * Training state is untouched: the base pass and every evaluation run with
 * update_stats = 0 and new_noise = 0 (running statistics and the noise stream
 * stay as training left them); parameters and gradients are the probes'
 * workspace, restored by the caller as for every probe (run_internal.h). */
#include "normsweep/hvp.h"
#include "run_internal.h"

#include <math.h>
#include <string.h>

_Static_assert(NS_SPEC_MAX_CURV_K == NS_SPECTRUM_MAX_K, "probes.curvature.k range");
_Static_assert(NS_SPEC_MAX_LANCZOS == NS_LANCZOS_MAX_STEPS, "probes.curvature steps range");

ns_status ns_run_curv_init(ns_run_probe *p)
{
    const ns_probe_config *pc = &p->cfg->probe;
    if (!pc->curv) return NS_OK;
    NS_TRY(ns_lanczos_ws_place(&p->lanczos, p->net->nparams, ns_curv_max_steps(pc),
                               p->lanczos_mem));
    if (pc->curv_hvp == NS_CURV_HVP_EXACT || pc->curv_fd_check) NS_TRY(ns_hvp_create(p->net, &p->hvp));
    return NS_OK;
}

void ns_run_curv_free(ns_run_probe *p)
{
    ns_hvp_free(p->hvp);
    p->hvp = NULL;
}

/* An operator that counts its products (the record's `products`). */
typedef struct counted {
    ns_linop inner;
    long count;
} counted;

static ns_status counted_apply(void *ctx, const float *x, float *y)
{
    counted *c = ctx;
    c->count++;
    return c->inner.apply(c->inner.ctx, x, y);
}

static ns_status counted_block(void *ctx, const float *x, float *y, size_t lo, size_t hi)
{
    counted *c = ctx;
    c->count++;
    return c->inner.apply_block(c->inner.ctx, x, y, lo, hi);
}

static ns_linop counted_linop(counted *c)
{
    return (ns_linop){.n = c->inner.n, .apply = counted_apply,
                      .apply_block = c->inner.apply_block ? counted_block : NULL, .ctx = c};
}

static void fill_nan(double *a, size_t n)
{
    for (size_t i = 0; i < n; i++) a[i] = NAN;
}

/* Mode m's record: its arrays in the table, everything NaN / 0. */
static void clear_rec(ns_run_probe *p, int m, ns_curv_rec *c)
{
    const ns_run_dims *d = p->dims;
    size_t K = (size_t)d->neig, S = (size_t)d->nslq_v * (size_t)d->nslq_m;
    size_t L = p->cfg->probe.curv_layers ? (size_t)d->nlayers : 0;
    *c = (ns_curv_rec){.top_eig = p->curv_top + m * K, .top_residual = p->curv_top_res + m * K,
                       .top_converged = p->curv_top_conv + m * K,
                       .slq_nodes = p->slq_nodes + m * S, .slq_weights = p->slq_weights + m * S,
                       .layer_eig = p->curv_layer + m * L,
                       .layer_residual = p->curv_layer_res + m * L,
                       .layer_converged = p->curv_layer_conv + m * L};
    c->min_eig = c->min_residual = c->grad_share = NAN;
    c->trace = c->trace_se = c->fd_rel_diff = c->fd_rel_err = NAN;
    fill_nan(p->curv_top + m * K, K);
    fill_nan(p->curv_top_res + m * K, K);
    memset(p->curv_top_conv + m * K, 0, K * sizeof(int));
    fill_nan(p->slq_nodes + m * S, S);
    fill_nan(p->slq_weights + m * S, S);
    fill_nan(p->curv_layer + m * L, L);
    fill_nan(p->curv_layer_res + m * L, L);
    memset(p->curv_layer_conv + m * L, 0, L * sizeof(int));
}

/* The finite-difference step of probe.h's Hessian probe at w_t. */
static double fd_step(const ns_run_probe *p)
{
    double wn = ns_vec_norm(p->wsave, p->net->nparams);
    return ns_hessian_defaults().h_rel * (wn > 1 || !isfinite(wn) ? wn : 1.0);
}

/* The FD check, before the base pass (its evaluations run the net): for u
 * the realized displacement of a unit Rademacher direction (stream
 * NS_PROBE_RNG_FDCHECK of the step), hu = D_h(u) with its error estimate,
 * then, after ns_hvp_begin, the exact H u. Leaves the HVP begun. */
static ns_status fd_check_and_begin(ns_run_probe *p, ns_mode mode, int64_t step, ns_curv_rec *c)
{
    const size_t n = p->net->nparams;
    ns_rng r;
    ns_rng_init(&r, p->cfg->seed, ns_probe_stream(NS_PROBE_RNG_FDCHECK, (long)step));
    ns_rademacher(&r, p->curv_hx, n);
    const float inv = (float)(1.0 / sqrt((double)n));
    for (size_t i = 0; i < n; i++) p->curv_hx[i] *= inv;
    double err;
    NS_TRY(ns_fd_hvp_err(&p->obj, &p->ws_hessian, p->wsave, p->curv_hx, fd_step(p), p->curv_hu,
                         p->curv_u, p->curv_scratch, &err));
    ns_run_probe_restore(p, p->wsave);
    NS_TRY(ns_hvp_begin(p->hvp, p->glue.x, p->glue.y, p->glue.t, p->glue.batch, mode, NULL));
    NS_TRY(ns_hvp_apply(p->hvp, p->curv_u, p->curv_hx));
    double d2 = 0, h2 = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)p->curv_hx[i] - p->curv_hu[i];
        d2 += e * e;
        h2 += (double)p->curv_hx[i] * p->curv_hx[i];
    }
    c->fd_rel_diff = sqrt(d2) / sqrt(h2);
    c->fd_rel_err = err / sqrt(h2);
    return NS_OK;
}

/* Lanczos top-k and smallest with the gradient's share, SLQ, Hutchinson and
 * the per-layer blocks on op, into mode m's record. */
static ns_status measure(ns_run_probe *p, const ns_linop *op, int64_t step, int m,
                         ns_curv_rec *c)
{
    const ns_probe_config *pc = &p->cfg->probe;
    const ns_run_dims *d = p->dims;
    const uint64_t seed = p->cfg->seed;
    ns_spectrum_config sc = ns_spectrum_defaults();
    sc.k = pc->curv_k;
    sc.steps = pc->curv_steps;
    sc.tol = pc->curv_tol;
    ns_spectrum_out so;
    NS_TRY(ns_curv_spectrum(op, &p->lanczos, &sc, p->gsave, seed, (long)step, &so));
    const size_t K = (size_t)d->neig;
    for (int i = 0; i < so.k; i++) {
        p->curv_top[m * K + i] = so.top[i].lambda;
        p->curv_top_res[m * K + i] = so.top[i].residual;
        p->curv_top_conv[m * K + i] = so.top[i].converged;
    }
    c->min_eig = so.min.lambda;
    c->min_residual = so.min.residual;
    c->min_converged = so.min.converged;
    c->grad_share = so.grad_share;
    c->lanczos_steps = so.steps;
    if (pc->curv_slq)
        NS_TRY(ns_curv_slq(op, &p->lanczos, pc->curv_slq_nv, pc->curv_slq_m, seed, (long)step,
                           (double *)c->slq_nodes, (double *)c->slq_weights));
    if (pc->curv_hutchinson > 0)
        NS_TRY(ns_curv_hutchinson(op, p->curv_u, p->curv_hu, pc->curv_hutchinson, seed,
                                  (long)step, &c->trace, &c->trace_se));
    if (pc->curv_layers)
        NS_TRY(ns_curv_layers(op, &p->lanczos, d->nlayers, p->layer_off, p->layer_len,
                              pc->curv_layer_steps, pc->curv_tol, seed, (long)step,
                              (double *)c->layer_eig, (double *)c->layer_residual,
                              (int *)c->layer_converged));
    return NS_OK;
}

/* Everything of one mode. */
static ns_status curvature_in_mode(ns_run_probe *p, int64_t step, ns_mode mode, ns_curv_rec *c)
{
    const ns_probe_config *pc = &p->cfg->probe;
    counted cnt = {0};
    ns_fd_hvp fd = {&p->obj, &p->ws_hessian, p->wsave, fd_step(p)};
    if (pc->curv_fd_check) {
        NS_TRY(fd_check_and_begin(p, mode, step, c));
    } else if (pc->curv_hvp == NS_CURV_HVP_EXACT) {
        ns_run_probe_restore(p, p->wsave);
        NS_TRY(ns_hvp_begin(p->hvp, p->glue.x, p->glue.y, p->glue.t, p->glue.batch, mode, NULL));
    }
    cnt.inner = pc->curv_hvp == NS_CURV_HVP_EXACT ? ns_hvp_linop(p->hvp) : ns_fd_linop(&fd);
    ns_linop op = counted_linop(&cnt);
    ns_status st = measure(p, &op, step, (int)mode, c);
    c->products = (int)cnt.count;
    return st;
}

ns_status ns_run_probe_curvature(ns_run_probe *p, int64_t step, ns_probe_rec *rec)
{
    const ns_probe_config *pc = &p->cfg->probe;
    for (int m = NS_MODE_TRAIN; m <= NS_MODE_EVAL; m++) {
        clear_rec(p, m, &rec->curv[m]);
        if (!ns_curv_in_mode(pc, m)) continue;
        /* the glue's evaluations (FD products, the FD check) run in this mode */
        p->glue.pass.mode = (ns_mode)m;
        ns_status st = curvature_in_mode(p, step, (ns_mode)m, &rec->curv[m]);
        p->glue.pass.mode = NS_MODE_TRAIN;
        NS_TRY(st);
    }
    return NS_OK;
}
