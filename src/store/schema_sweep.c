/* schema_sweep.c - the sweep's facts the schema needs (schema.h): which dims and
 * variables a spec's file has, their sizes, the axes that vary and the coordinate
 * values - derived once from the spec, so the layout, the sink and the docs agree. */
#include "schema.h"

#include "normsweep/net.h"
#include "normsweep/norm.h"
#include "normsweep/probe.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The settings the layout reads once for the whole sweep: the schedules, the
 * save steps and the probes. Runs are copies of the spec's base with axis values set
 * (expand.c), so they agree; checked, so that a future per-run axis over one
 * of them fails loudly here instead of writing a file whose coordinates are
 * right for some runs only. */
static int same_sweep_settings(const ns_run_config *a, const ns_run_config *b)
{
    const ns_probe_config *p = &a->probe, *q = &b->probe;
    int same = a->steps == b->steps && a->log_every == b->log_every &&
               a->eval_every == b->eval_every && p->sched == q->sched && p->every == q->every &&
               p->log_count == q->log_count && p->nat == q->nat && p->landscape == q->landscape &&
               p->eta_rel_lo == q->eta_rel_lo && p->eta_rel_hi == q->eta_rel_hi &&
               p->eta_count == q->eta_count && p->random_direction == q->random_direction &&
               p->ics == q->ics && p->act_units == q->act_units &&
               p->act_nquantiles == q->act_nquantiles && p->hessian == q->hessian &&
               p->hess_trace_samples == q->hess_trace_samples && p->thm41 == q->thm41 &&
               p->curv == q->curv && p->curv_mode == q->curv_mode && p->curv_k == q->curv_k &&
               p->curv_slq == q->curv_slq && p->curv_slq_nv == q->curv_slq_nv &&
               p->curv_slq_m == q->curv_slq_m && p->curv_hutchinson == q->curv_hutchinson &&
               p->curv_layers == q->curv_layers && p->curv_fd_check == q->curv_fd_check;
    for (int i = 0; same && i < p->nat && i < NS_SPEC_MAX_PROBE_STEPS; i++)
        same = p->at[i] == q->at[i];
    for (int i = 0; same && i < p->act_nquantiles && i < NS_SPEC_MAX_QUANTILES; i++)
        same = p->act_quantiles[i] == q->act_quantiles[i];
    same = same && a->nsave == b->nsave;
    for (int i = 0; same && i < a->nsave && i < NS_SPEC_MAX_SAVE_STEPS; i++)
        same = a->save_at[i] == b->save_at[i];
    return same;
}

static ns_dataset_info info_of(const ns_spec *s)
{
    ns_dataset_info info;
    memset(&info, 0, sizeof info);
    info.shape = s->in_shape;
    info.nclasses = s->nclasses;
    info.target_dim = s->target_dim;
    info.n_train = (size_t)s->n_train;
    info.n_test = (size_t)s->n_test;
    return info;
}

static void grow(size_t *m, size_t v)
{
    if (v > *m) *m = v;
}

/* Weights and tensors of run i's net; runs sharing (arch, norm) share them,
 * so each distinct pair is sized once (a sweep has few pairs, maybe many runs). */
static ns_status size_nets(const ns_spec *s, ns_schema_sweep *sw)
{
    int *pairs = malloc(sizeof(int) * (size_t)s->nruns), npairs = 0;
    NS_CHECK(pairs, NS_ERR_NOMEM, "out of memory sizing the results layout");
    int nout = s->nclasses > 0 ? s->nclasses : s->target_dim;
    ns_status st = NS_OK;
    for (int i = 0; i < s->nruns && st == NS_OK; i++) {
        const ns_run_config *c = &s->runs[i];
        int seen = 0;
        for (int k = 0; k < npairs && !seen; k++)
            seen = strcmp(s->runs[pairs[k]].arch, c->arch) == 0 &&
                   strcmp(s->runs[pairs[k]].norm, c->norm) == 0;
        if (seen) continue;
        pairs[npairs++] = i;
        ns_norm_config norm;
        ns_net_size ns;
        st = ns_norm_parse(c->norm, &norm);
        if (st == NS_OK)
            st = ns_net_size_of(c->arch, norm.kind == NS_NORM_NONE ? NULL : &norm, s->in_shape,
                                nout, &ns);
        if (st == NS_OK) {
            grow(&sw->size[NS_D_WEIGHT], ns.nparams + ns.nstate);
            grow(&sw->size[NS_D_TENSOR], (size_t)ns.ntensors);
        }
    }
    free(pairs);
    return st;
}

/* Which settings differ between runs (grid axes, random search, overrides
 * alike): those become coordinates (NS_ROLE_AXIS). */
static ns_status find_varying(const ns_spec *s, ns_schema_sweep *sw)
{
    NS_ASSERT(ns_schema_nvars <= (int)sizeof sw->varies);
    for (int i = 0; i < ns_schema_nvars; i++) {
        const ns_var_def *v = &ns_schema_vars[i];
        if (v->role != NS_ROLE_AXIS) continue;
        unsigned char first[128], cell[128]; /* settings are scalars */
        NS_ASSERT(ns_h5_type_size(v->type, v->str_len) <= sizeof cell);
        NS_TRY(ns_schema_encode(v, &s->runs[0], first));
        for (int r = 1; r < s->nruns && !sw->varies[i]; r++) {
            NS_TRY(ns_schema_encode(v, &s->runs[r], cell));
            if (v->type == NS_H5_VSTR) {
                const char *a, *b;
                memcpy(&a, first, sizeof a);
                memcpy(&b, cell, sizeof b);
                sw->varies[i] = strcmp(a, b) != 0;
            } else {
                sw->varies[i] = memcmp(first, cell, ns_h5_type_size(v->type, v->str_len)) != 0;
            }
        }
    }
    return NS_OK;
}

/* The run coordinates of the sweep, in table order (space-separated). */
static void coordinates_of(ns_schema_sweep *sw)
{
    size_t k = 0;
    sw->coordinates[0] = '\0';
    for (int i = 0; i < ns_schema_nvars; i++)
        if (ns_schema_is_coord(sw, &ns_schema_vars[i]))
            k += (size_t)snprintf(sw->coordinates + k, k < sizeof sw->coordinates ? sizeof sw->coordinates - k : 0,
                                  "%s%s", k ? " " : "", ns_schema_vars[i].name);
}

ns_status ns_schema_sweep_of(const ns_spec *s, ns_schema_sweep *sw)
{
    memset(sw, 0, sizeof *sw);
    NS_CHECK(s->nruns > 0, NS_ERR_ARG, "%s: the sweep has no runs", s->path);
    sw->settings = &s->base;
    NS_TRY(find_varying(s, sw));
    coordinates_of(sw);
    ns_dataset_info info = info_of(s);
    for (int i = 0; i < s->nruns; i++) {
        const ns_run_config *c = &s->runs[i];
        NS_CHECK(same_sweep_settings(c, sw->settings), NS_ERR_INTERNAL,
                 "%s: run %d differs from the sweep in a schedule, save or probe setting; the "
                 "results layout takes those as sweep-wide",
                 s->path, i);
        ns_run_dims d;
        NS_TRY(ns_run_dims_get(c, &info, &d));
        size_t ext[NS_D_COUNT];
        ns_schema_run_extents(&d, 0, 0, ext);
        for (int k = 0; k < NS_D_COUNT; k++) grow(&sw->size[k], ext[k]);
    }
    sw->size[NS_D_RUN] = (size_t)s->nruns;
    sw->size[NS_D_WEIGHT] = sw->size[NS_D_TENSOR] = 1; /* a file always has them */
    return size_nets(s, sw);
}

/* ------------------------------------------------------------ coordinates */

ns_status ns_schema_coords(const ns_schema_sweep *sw, ns_dim_id d, void *buf)
{
    const ns_run_config *c = sw->settings;
    size_t n = sw->size[d];
    int64_t *i64 = buf;
    int32_t *i32 = buf;
    double *f64 = buf;
    switch (ns_schema_dims[d].coord) {
    case NS_COORD_NONE: return NS_OK;
    case NS_COORD_INDEX: for (size_t i = 0; i < n; i++) i64[i] = (int64_t)i; return NS_OK;
    case NS_COORD_ONE_BASED: for (size_t i = 0; i < n; i++) i32[i] = (int32_t)i + 1; return NS_OK;
    case NS_COORD_LOG_STEP:
        for (size_t i = 0; i < n; i++) i64[i] = ns_run_log_step(c, (int64_t)i);
        return NS_OK;
    case NS_COORD_EVAL_STEP:
        for (size_t i = 0; i < n; i++) i64[i] = ns_run_eval_step(c, (int64_t)i);
        return NS_OK;
    case NS_COORD_PROBE_STEP: return ns_run_probe_steps(c, i64, (int)n);
    case NS_COORD_ETA_REL:
        return ns_eta_grid(1.0, c->probe.eta_rel_lo, c->probe.eta_rel_hi, (int)n, f64);
    case NS_COORD_QUANTILE:
        for (size_t i = 0; i < n; i++) f64[i] = c->probe.act_quantiles[i];
        return NS_OK;
    case NS_COORD_SAVE_STEP:
        for (size_t i = 0; i < n; i++) i64[i] = c->save_at[i];
        return NS_OK;
    }
    return ns_error_set(NS_ERR_INTERNAL, "schema: dim '%s' has no coordinate rule",
                        ns_schema_dims[d].name);
}
