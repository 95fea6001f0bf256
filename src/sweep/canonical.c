/* canonical.c - the spec's meaning as one line of JSON.
 *
 * Stored in the output file; `run --resume` compares it with the spec it is
 * given and refuses a different one. Fixed key order, numbers as %.17g (exact
 * round trip of doubles), axes after normalization (a log_range is written as
 * its values), +inf as the string "inf". Left out on purpose: name and
 * description (renaming a sweep does not change its runs) and the YAML
 * layout/comments. Keys of train that are grid axes are written under grid.
 */
#include "sweep_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void jnum(ns_sbuf *b, double x)
{
    if (isinf(x)) ns_sbuf_printf(b, x > 0 ? "\"inf\"" : "\"-inf\"");
    else ns_sbuf_printf(b, "%.17g", x);
}

static void jstr(ns_sbuf *b, const char *s)
{
    ns_sbuf_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') ns_sbuf_printf(b, "\\%c", *p);
        else if (*p < 0x20) ns_sbuf_printf(b, "\\u%04x", *p);
        else ns_sbuf_printf(b, "%c", *p);
    }
    ns_sbuf_printf(b, "\"");
}

static const char *init_name(int64_t k) { return k == NS_INIT_HE ? "he" : "glorot"; }

/* "key":[values] of a numeric axis. */
/* [values] of a numeric axis. */
static void jvalues(ns_sbuf *b, int a, const ns_numaxis *ax)
{
    ns_sbuf_printf(b, "[");
    for (int i = 0; i < ax->n; i++) {
        if (i) ns_sbuf_printf(b, ",");
        if (a == NS_AXIS_INIT) jstr(b, init_name(ax->iv[i]));
        else if (a == NS_AXIS_BATCH || a == NS_AXIS_SEED) ns_sbuf_printf(b, "%lld", (long long)ax->iv[i]);
        else jnum(b, ax->v[i]);
    }
    ns_sbuf_printf(b, "]");
}

/* "key":[values] of a numeric axis. */
static void jaxis(ns_sbuf *b, int a, const ns_numaxis *ax)
{
    ns_sbuf_printf(b, "\"%s\":", ns_spec_axis_name(a));
    jvalues(b, a, ax);
}

/* A search that is the old 'random' section (lr log-uniform, per grid point)
 * keeps that section's text, so files written before search existed still
 * resume; anything else is written as "search" after "random": null. */
static void jsearch(ns_sbuf *b, const ns_search *sr)
{
    static const char *const dist[] = {"", "uniform", "log_uniform", "choice"};
    int legacy_form = sr->per_grid_point && sr->ax[NS_AXIS_LR].dist == NS_DIST_LOG_UNIFORM;
    for (int a = 0; a < NS_SEARCH_AXES; a++)
        legacy_form &= a == NS_AXIS_LR || sr->ax[a].dist == NS_DIST_NONE;
    if (!sr->given || legacy_form) {
        ns_sbuf_printf(b, "\"random\":");
        if (!sr->given) {
            ns_sbuf_printf(b, "null");
            return;
        }
        ns_sbuf_printf(b, "{\"count\":%d,\"seed\":%llu,\"lr\":{\"log_uniform\":[",
                       sr->per_grid_point, (unsigned long long)sr->seed);
        jnum(b, sr->ax[NS_AXIS_LR].lo);
        ns_sbuf_printf(b, ",");
        jnum(b, sr->ax[NS_AXIS_LR].hi);
        ns_sbuf_printf(b, "]}}");
        return;
    }
    ns_sbuf_printf(b, "\"random\":null,\"search\":{\"%s\":%d,\"seed\":%llu",
                   sr->count ? "count" : "per_grid_point", sr->count ? sr->count : sr->per_grid_point,
                   (unsigned long long)sr->seed);
    for (int a = NS_AXIS_LR; a < NS_SEARCH_AXES; a++) {
        const ns_search_axis *sa = &sr->ax[a];
        if (sa->dist == NS_DIST_NONE) continue;
        ns_sbuf_printf(b, ",\"%s\":{", a == NS_SEARCH_WIDTH ? "width" : ns_spec_axis_name(a));
        if (sa->dist == NS_DIST_CHOICE) {
            ns_sbuf_printf(b, "\"choice\":");
            jvalues(b, a, &sa->choice);
            ns_sbuf_printf(b, "}");
            continue;
        }
        ns_sbuf_printf(b, "\"%s\":[", dist[sa->dist]);
        jnum(b, sa->lo);
        ns_sbuf_printf(b, ",");
        jnum(b, sa->hi);
        ns_sbuf_printf(b, "]}");
    }
    ns_sbuf_printf(b, "}");
}

static void jtrain(ns_sbuf *b, const ns_spec *s)
{
    const ns_run_config *r = &s->base;
    const ns_numaxis *g = s->priv->grid;
    ns_sbuf_printf(b, "\"train\":{\"steps\":%lld", (long long)r->steps);
    if (!g[NS_AXIS_BATCH].n) ns_sbuf_printf(b, ",\"batch\":%d", r->batch);
    ns_sbuf_printf(b, ",\"optimizer\":\"sgd\"");
    if (!g[NS_AXIS_MOMENTUM].n) ns_sbuf_printf(b, ",\"momentum\":"), jnum(b, r->momentum);
    if (!g[NS_AXIS_WEIGHT_DECAY].n) ns_sbuf_printf(b, ",\"weight_decay\":"), jnum(b, r->weight_decay);
    if (!g[NS_AXIS_INIT].n) ns_sbuf_printf(b, ",\"init\":\"%s\"", init_name(r->init));
    ns_sbuf_printf(b, ",\"eval_every\":%lld,\"log_every\":%lld,\"diverge_above\":",
                   (long long)r->eval_every, (long long)r->log_every);
    jnum(b, r->diverge_above);
    ns_sbuf_printf(b, "}");
}

static void jprobes(ns_sbuf *b, const ns_probe_config *p)
{
    static const char *sched[] = {"none", "every", "at", "log_count"};
    ns_sbuf_printf(b, "\"probes\":{\"schedule\":\"%s\"", sched[p->sched]);
    if (p->sched == NS_SCHED_EVERY) ns_sbuf_printf(b, ",\"every\":%lld", (long long)p->every);
    if (p->sched == NS_SCHED_LOG) ns_sbuf_printf(b, ",\"log_count\":%d", p->log_count);
    if (p->sched == NS_SCHED_LIST) {
        ns_sbuf_printf(b, ",\"at\":[");
        for (int i = 0; i < p->nat; i++) ns_sbuf_printf(b, "%s%lld", i ? "," : "", (long long)p->at[i]);
        ns_sbuf_printf(b, "]");
    }
    if (p->landscape) {
        ns_sbuf_printf(b, ",\"eta\":{\"relative\":[");
        jnum(b, p->eta_rel_lo);
        ns_sbuf_printf(b, ",");
        jnum(b, p->eta_rel_hi);
        ns_sbuf_printf(b, "],\"count\":%d,\"random_direction\":%s}", p->eta_count,
                       p->random_direction ? "true" : "false");
    }
    if (p->ics) {
        ns_sbuf_printf(b, ",\"ics\":{\"layers\":");
        if (p->ics_all) {
            ns_sbuf_printf(b, "\"all\"}");
        } else {
            ns_sbuf_printf(b, "[");
            for (int i = 0; i < p->ics_nlayers; i++) ns_sbuf_printf(b, "%s%d", i ? "," : "", p->ics_layers[i]);
            ns_sbuf_printf(b, "]}");
        }
    }
    if (p->act_units > 0) {
        ns_sbuf_printf(b, ",\"activations\":{\"units\":%d,\"quantiles\":[", p->act_units);
        for (int i = 0; i < p->act_nquantiles; i++) {
            if (i) ns_sbuf_printf(b, ",");
            jnum(b, p->act_quantiles[i]);
        }
        ns_sbuf_printf(b, "]}");
    }
    if (p->hessian) {
        ns_sbuf_printf(b, ",\"hessian\":{\"iters\":%d,\"tol\":", p->hess_iters);
        jnum(b, p->hess_tol);
        ns_sbuf_printf(b, ",\"trace_samples\":%d,\"mode\":\"%s\"}", p->hess_trace_samples,
                       p->hess_mode == NS_MODE_EVAL ? "eval" : "train");
    }
    ns_sbuf_printf(b, ",\"thm41\":%s", p->thm41 ? "true" : "false");
    if (p->curv) { /* absent when off: specs without it keep their canonical form */
        static const char *const mode[] = {"train", "eval", "both"};
        ns_sbuf_printf(b, ",\"curvature\":{\"mode\":\"%s\",\"hvp\":\"%s\",\"k\":%d,\"iters\":%d,"
                       "\"tol\":", mode[p->curv_mode], p->curv_hvp == NS_CURV_HVP_FD ? "fd" : "exact",
                       p->curv_k, p->curv_steps);
        jnum(b, p->curv_tol);
        if (p->curv_slq)
            ns_sbuf_printf(b, ",\"slq\":{\"n_v\":%d,\"m\":%d}", p->curv_slq_nv, p->curv_slq_m);
        ns_sbuf_printf(b, ",\"hutchinson\":%d", p->curv_hutchinson);
        if (p->curv_layers) ns_sbuf_printf(b, ",\"layers\":{\"iters\":%d}", p->curv_layer_steps);
        ns_sbuf_printf(b, ",\"fd_check\":%s}", p->curv_fd_check ? "true" : "false");
    }
    ns_sbuf_printf(b, "}");
}

ns_status ns_spec_build_canonical(ns_spec *s)
{
    const struct ns_spec_priv *pv = s->priv;
    ns_sbuf b = {0};
    ns_sbuf_printf(&b, "{\"format\":1,\"data\":");
    jstr(&b, s->data);
    ns_sbuf_printf(&b, ",\"data_seed\":%llu,", (unsigned long long)s->base.data_seed);
    jtrain(&b, s);
    ns_sbuf_printf(&b, ",\"grid\":{\"arch\":[");
    for (int i = 0; i < pv->narch; i++) {
        if (i) ns_sbuf_printf(&b, ",");
        jstr(&b, pv->arch[i]);
    }
    ns_sbuf_printf(&b, "],\"norm\":[");
    for (int i = 0; i < pv->nnorm; i++) {
        if (i) ns_sbuf_printf(&b, ",");
        jstr(&b, pv->norm[i]);
    }
    ns_sbuf_printf(&b, "]");
    for (int a = NS_AXIS_LR; a < NS_AXIS_COUNT; a++)
        if (pv->grid[a].n) ns_sbuf_printf(&b, ","), jaxis(&b, a, &pv->grid[a]);
    ns_sbuf_printf(&b, "},");
    jsearch(&b, &pv->search);
    ns_sbuf_printf(&b, ",\"overrides\":[");
    for (int k = 0; k < pv->noverrides; k++) {
        const ns_override *o = &pv->ov[k];
        ns_sbuf_printf(&b, "%s{\"match\":{\"arch\":", k ? "," : "");
        jstr(&b, o->match_arch[0] ? o->match_arch : "*");
        ns_sbuf_printf(&b, ",\"norm\":");
        jstr(&b, o->match_norm[0] ? o->match_norm : "*");
        ns_sbuf_printf(&b, "}");
        for (int a = NS_AXIS_LR; a < NS_AXIS_COUNT; a++)
            if (o->ax[a].n) ns_sbuf_printf(&b, ","), jaxis(&b, a, &o->ax[a]);
        if (o->has_random_lr) {
            ns_sbuf_printf(&b, ",\"random_lr\":[");
            jnum(&b, o->random_lo);
            ns_sbuf_printf(&b, ",");
            jnum(&b, o->random_hi);
            ns_sbuf_printf(&b, "]");
        }
        ns_sbuf_printf(&b, "}");
    }
    ns_sbuf_printf(&b, "],");
    jprobes(&b, &s->base.probe);
    ns_sbuf_printf(&b, ",\"checkpoint\":{\"every\":%lld},\"nruns\":%d}",
                   (long long)s->base.checkpoint_every, s->nruns);
    if (b.oom) {
        free(b.p);
        return ns_error_set(NS_ERR_NOMEM, "out of memory building the canonical spec");
    }
    s->priv->canonical = b.p;
    return NS_OK;
}

char *ns_spec_canonical(const ns_spec *s)
{
    return s && s->priv && s->priv->canonical ? strdup(s->priv->canonical) : NULL;
}
