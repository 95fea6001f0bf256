/* read_values.c - the values of a sweep file that need more than a row kind
 * of the key table (keys.c): axis values and lists, [lo, hi] pairs, name
 * lists, probe steps, ICS layers, quantiles, the overrides list.
 *
 * Every reader checks what the value alone can tell (type, range, order,
 * duplicates) and reports with the value's file:line:col. What depends on
 * another section (the data set, train.steps, the archs) is noted in the
 * reader state and checked by validate.c once everything is read.
 */
#include "sweep_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ one axis value */
static int batch_value(ns_reader *r, const yaml_node_t *n, const char *where, int64_t *iv)
{
    if (n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        !strcmp((const char *)n->data.scalar.value, "full")) {
        *iv = NS_BATCH_FULL; /* the training-set size, once the data set is known */
        return 1;
    }
    if (!ny_int64(&r->c, n, where, iv)) return 0;
    if (*iv < 1) {
        ns_errs_node(r->c.e, n, "%s: batch must be >= 1, got %s", where, ny_kind(n));
        return 0;
    }
    return 1;
}

/* Reads one value of axis `a` (lr, batch, momentum, weight_decay, init, seed)
 * into v / iv, checking its range. Returns 1 if valid. */
int ns_axis_value(ns_reader *r, const yaml_node_t *n, const char *where, int a, double *v,
                  int64_t *iv)
{
    const ny_ctx *c = &r->c;
    ns_errs *e = c->e;
    switch (a) {
    case NS_AXIS_LR:
        if (!ny_double(c, n, where, v)) return 0;
        if (!(*v > 0) || isinf(*v)) {
            ns_errs_node(e, n, "%s: learning rate must be a finite number > 0, got %s", where,
                         ny_kind(n));
            return 0;
        }
        return 1;
    case NS_AXIS_MOMENTUM:
        if (!ny_double(c, n, where, v)) return 0;
        if (!(*v >= 0 && *v < 1)) {
            ns_errs_node(e, n, "%s: momentum must be in [0, 1), got %s", where, ny_kind(n));
            return 0;
        }
        return 1;
    case NS_AXIS_WEIGHT_DECAY:
        if (!ny_double(c, n, where, v)) return 0;
        if (!(*v >= 0) || isinf(*v)) {
            ns_errs_node(e, n, "%s: weight decay must be a finite number >= 0, got %s", where,
                         ny_kind(n));
            return 0;
        }
        return 1;
    case NS_AXIS_INIT:
        if (n && n->type == YAML_SCALAR_NODE) {
            const char *t = (const char *)n->data.scalar.value;
            if (!strcmp(t, "glorot")) return *iv = NS_INIT_GLOROT, 1;
            if (!strcmp(t, "he")) return *iv = NS_INIT_HE, 1;
        }
        ns_errs_node(e, n, "%s: expected glorot or he, got %s", where, ny_kind(n));
        return 0;
    case NS_AXIS_SEED:
        if (!ny_int64(c, n, where, iv)) return 0;
        if (*iv < 0) {
            ns_errs_node(e, n, "%s: seed must be >= 0, got %s", where, ny_kind(n));
            return 0;
        }
        return 1;
    case NS_AXIS_BATCH: return batch_value(r, n, where, iv);
    case NS_AXIS_OPTIMIZER: return ns_optimizer_value(r, n, where, iv);
    case NS_AXIS_SCHEDULE: return ns_schedule_value(r, n, where, iv);
    case NS_SEARCH_WIDTH:
        if (!ny_double(c, n, where, v)) return 0;
        if (!(*v > 0) || isinf(*v)) {
            ns_errs_node(e, n, "%s: width must be a finite number > 0, got %s", where, ny_kind(n));
            return 0;
        }
        return 1;
    }
    NS_ASSERT(0);
    return 0;
}

/* [lo, hi] of two learning rates, lo <= hi, into dst[0], dst[1]. */
static int lr_pair(ns_reader *r, const yaml_node_t *n, const char *where, double *dst)
{
    yaml_node_t *it[2];
    if (!n || n->type != YAML_SEQUENCE_NODE || ny_items(&r->c, n, where, it, 2) != 2) {
        ns_errs_node(r->c.e, n, "%s: expected [lo, hi], got %s", where, ny_kind(n));
        return 0;
    }
    int64_t unused;
    int ok = ns_axis_value(r, it[0], where, NS_AXIS_LR, &dst[0], &unused);
    ok &= ns_axis_value(r, it[1], where, NS_AXIS_LR, &dst[1], &unused);
    if (ok && dst[0] > dst[1]) {
        ns_errs_node(r->c.e, n, "%s: lo (%g) must be <= hi (%g)", where, dst[0], dst[1]);
        ok = 0;
    }
    return ok;
}

NS_KEY_FN(ns_read_lr_range)
{
    lr_pair(r, n, where, dst);
}

/* random.lr.log_uniform (deprecated section): search.lr drawn log-uniformly. */
NS_KEY_FN(ns_read_random_lr)
{
    ns_search_axis *sa = dst;
    if (lr_pair(r, n, where, &sa->lo)) sa->dist = NS_DIST_LOG_UNIFORM;
}

/* ------------------------------------------------------------ search */
/* search.<axis>.uniform / .log_uniform: [lo, hi] of values of the axis. */
NS_KEY_FN(ns_read_dist_range)
{
    ns_search_axis *sa = r->item;
    int a = (int)r->parent->lo, logd = !strcmp(key->key, "log_uniform");
    if (a == NS_AXIS_OPTIMIZER || a == NS_AXIS_SCHEDULE) { /* categories: no order */
        ns_errs_node(r->c.e, n, "%s: the %s is drawn from a list: use choice: [%s]", where,
                     ns_spec_axis_name(a),
                     a == NS_AXIS_OPTIMIZER ? "sgd, adam, adamw" : "constant, cosine, ...");
        return;
    }
    yaml_node_t *it[2];
    if (n->type != YAML_SEQUENCE_NODE || ny_items(&r->c, n, where, it, 2) != 2) {
        ns_errs_node(r->c.e, n, "%s: expected [lo, hi], got %s", where, ny_kind(n));
        return;
    }
    double v[2] = {0, 0};
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        int64_t iv = 0;
        char w[160];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        if (!ns_axis_value(r, it[i], w, a, &v[i], &iv)) ok = 0;
        else if (a == NS_AXIS_BATCH && iv == NS_BATCH_FULL)
            ns_errs_node(r->c.e, it[i], "%s: 'full' is not a number: use choice: [..., full]", w), ok = 0;
        else if (a == NS_AXIS_BATCH) v[i] = (double)iv;
    }
    if (!ok) return;
    if (v[0] > v[1]) {
        ns_errs_node(r->c.e, n, "%s: lo (%g) must be <= hi (%g)", where, v[0], v[1]);
        return;
    }
    if (logd && !(v[0] > 0)) {
        ns_errs_node(r->c.e, n, "%s: log_uniform needs lo > 0, got %g", where, v[0]);
        return;
    }
    sa->lo = v[0], sa->hi = v[1];
    sa->dist = logd ? NS_DIST_LOG_UNIFORM : NS_DIST_UNIFORM;
}

/* search.<axis>.choice: a list of values, drawn with equal probability. */
NS_KEY_FN(ns_read_dist_choice)
{
    ns_search_axis *sa = r->item;
    if (ns_numeric_axis(r, n, where, (int)r->parent->lo, &sa->choice)) sa->dist = NS_DIST_CHOICE;
}

/* search.<axis>: exactly one distribution. */
NS_KEY_FN(ns_check_dist)
{
    int given = 0;
    for (const char *const *d = (const char *const[]){"uniform", "log_uniform", "choice", NULL};
         *d; d++)
        given += ny_get(&r->c, n, *d) != NULL;
    if (given != 1)
        ns_errs_node(r->c.e, n, "%s: give one distribution: uniform: [lo, hi], log_uniform: "
                     "[lo, hi] or choice: [values] (got %d)", where, given);
}

/* search: count (W&B: runs in total) or per_grid_point, and something to draw. */
NS_KEY_FN(ns_check_search)
{
    ns_search *sr = &r->s->priv->search;
    int count = ny_get(&r->c, n, "count") != NULL, per = ny_get(&r->c, n, "per_grid_point") != NULL;
    sr->given = 1;
    if (count + per != 1)
        ns_errs_node(r->c.e, n, "%s: give count (runs in total, as W&B's count) or "
                     "per_grid_point (draws, each crossed with every grid point)%s", where,
                     count ? ", not both" : "");
    int sampled = 0, nrows;
    const ns_key *rows = ns_keys_all(&nrows);
    for (int i = 0; i < nrows; i++)
        sampled += !strcmp(rows[i].section, "search") && rows[i].kind == NK_SECTION &&
                   ny_get(&r->c, n, rows[i].key);
    if (per && !sampled)
        ns_errs_node(r->c.e, n, "%s: per_grid_point draws nothing (give lr, batch, momentum, "
                     "weight_decay, optimizer, schedule or width)", where);
}

/* random (deprecated): the same runs as search with per_grid_point. */
NS_KEY_FN(ns_check_random)
{
    ns_search *sr = &r->s->priv->search;
    sr->given = sr->legacy = 1;
    ns_errs_node(r->warnings, n, "random: deprecated (its count multiplies with every grid axis): "
                 "the same runs are search: {per_grid_point: %d, seed: %llu, lr: {log_uniform: "
                 "[%g, %g]}}; search.count is the total number of runs, as in W&B",
                 sr->per_grid_point, (unsigned long long)sr->seed, sr->ax[NS_AXIS_LR].lo,
                 sr->ax[NS_AXIS_LR].hi);
}

/* overrides[i].random_lr: the pair, and that it was given (validate.c checks
 * that there is a random section to override). */
NS_KEY_FN(ns_read_override_range)
{
    ns_override *o = r->item;
    o->has_random_lr = lr_pair(r, n, where, dst);
    r->random_lr_node[o - r->s->priv->ov] = n;
}

/* ------------------------------------------------------------ axis lists */
/* lr: {log_range: [lo, hi], count: n} -> n log-spaced values, ends exact. */
static int lr_log_range(ns_reader *r, const yaml_node_t *n, const char *where, ns_numaxis *ax)
{
    ns_axis_form f = {0};
    int before = r->c.e->n;
    ns_read_section(r, "grid.lr", n, where, &f);
    if (r->c.e->n != before) return 0;
    /* Rounded to 15 significant digits: log_range [1e-3, 1] count 4 gives
     * exactly the doubles of 0.001, 0.01, 0.1, 1 - what a user would type -
     * not exp(log()) neighbours one ulp away. */
    ax->n = (int)f.count;
    for (int k = 0; k < ax->n; k++) {
        double v = f.count == 1 ? f.lo
                                : exp(log(f.lo) + (log(f.hi) - log(f.lo)) * k / (double)(f.count - 1));
        char txt[32];
        snprintf(txt, sizeof txt, "%.15g", v);
        ax->v[k] = strtod(txt, NULL);
    }
    ax->v[0] = f.lo;
    ax->v[ax->n - 1] = f.count == 1 ? f.lo : f.hi;
    for (int k = 1; k < ax->n; k++) /* [0.1, 0.1] count 3: the same run three times */
        if (ax->v[k] == ax->v[k - 1]) {
            ns_errs_node(r->c.e, n, "%s: log_range [%g, %g] with count %lld repeats the value %g "
                         "(duplicate runs; widen the range or lower the count)", where, f.lo,
                         f.hi, (long long)f.count, ax->v[k]);
            return 0;
        }
    return 1;
}

/* seed: {count: n, start: s} -> s, s+1, ..., s+n-1 */
static int seed_count(ns_reader *r, const yaml_node_t *n, const char *where, ns_numaxis *ax)
{
    ns_axis_form f = {0};
    int before = r->c.e->n;
    ns_read_section(r, "grid.seed", n, where, &f);
    if (r->c.e->n != before) return 0;
    if (f.start > INT64_MAX - (f.count - 1)) { /* start + count - 1 must not overflow */
        ns_errs_node(r->c.e, ny_get(&r->c, n, "start"),
                     "%s.start: %lld + %lld seeds go past the largest seed %lld", where,
                     (long long)f.start, (long long)f.count, (long long)INT64_MAX);
        return 0;
    }
    ax->n = (int)f.count;
    for (int k = 0; k < ax->n; k++) ax->iv[k] = f.start + k;
    return 1;
}

static int same_value(const ns_numaxis *ax, int i, int j)
{
    return ax->v[i] == ax->v[j] && ax->iv[i] == ax->iv[j];
}

/* A numeric axis: a list (or one scalar), or the mapping forms of lr / seed. */
int ns_numeric_axis(ns_reader *r, const yaml_node_t *n, const char *where, int a, ns_numaxis *ax)
{
    memset(ax, 0, sizeof *ax);
    if (n && n->type == YAML_MAPPING_NODE && a == NS_AXIS_LR) return lr_log_range(r, n, where, ax);
    if (n && n->type == YAML_MAPPING_NODE && a == NS_AXIS_SEED) return seed_count(r, n, where, ax);
    yaml_node_t *items[NS_SPEC_MAX_AXIS];
    int k = 1;
    if (n && n->type == YAML_MAPPING_NODE && a == NS_AXIS_SCHEDULE) items[0] = (yaml_node_t *)n;
    else k = ny_items(&r->c, n, where, items, NS_SPEC_MAX_AXIS); /* one schedule: a mapping */
    if (k < 0) return 0;
    int ok = 1;
    for (int i = 0; i < k; i++) {
        char w[160];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        int good = ns_axis_value(r, items[i], w, a, &ax->v[i], &ax->iv[i]);
        for (int j = 0; good && j < i; j++)
            if (same_value(ax, i, j)) {
                ns_errs_node(r->c.e, items[i], "%s: duplicate value (same as item %d)", w, j);
                good = 0;
            }
        if (good && a == NS_AXIS_BATCH && r->nbatch < NS_READER_MAX_BATCH) {
            ns_batch_ref *b = &r->batch[r->nbatch++];
            *b = (ns_batch_ref){items[i], ax, i, NULL, ""};
            snprintf(b->where, sizeof b->where, "%.47s", w);
        }
        ok &= good;
    }
    ax->n = ok ? k : 0;
    return ok;
}

/* ------------------------------------------------------------ grid.arch / grid.norm */
/* Lists of strings: norms are checked here, archs in validate.c (they need
 * the data set's input shape). */
static void read_names(ns_reader *r, const yaml_node_t *n, const char *where, int a)
{
    struct ns_spec_priv *pv = r->s->priv;
    yaml_node_t *items[NS_SPEC_MAX_AXIS];
    int k = ny_items(&r->c, n, where, items, NS_SPEC_MAX_AXIS);
    if (k < 0) return;
    int *count = a == NS_AXIS_ARCH ? &pv->narch : &pv->nnorm;
    for (int i = 0; i < k; i++) {
        char w[64], *dst = a == NS_AXIS_ARCH ? pv->arch[*count] : pv->norm[*count];
        size_t cap = a == NS_AXIS_ARCH ? sizeof pv->arch[0] : sizeof pv->norm[0];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        r->names_bad++; /* until this value passes every check */
        if (!ny_string(&r->c, items[i], w, dst, cap)) continue;
        int dup = -1;
        for (int j = 0; j < *count; j++)
            if (!strcmp(a == NS_AXIS_ARCH ? pv->arch[j] : pv->norm[j], dst)) dup = j;
        if (dup >= 0) {
            ns_errs_node(r->c.e, items[i], "%s: duplicate value '%s'", w, dst);
            continue;
        }
        if (a == NS_AXIS_NORM && ns_ref_norm(dst) != NS_OK) {
            ns_errs_node(r->c.e, items[i], "%s: %s", w, ns_error_msg());
            continue;
        }
        (a == NS_AXIS_ARCH ? r->arch_node : r->norm_node)[*count] = items[i];
        (a == NS_AXIS_ARCH ? r->arch_item : r->norm_item)[*count] = i;
        (*count)++;
        r->names_bad--;
    }
}

NS_KEY_FN(ns_read_arch)
{
    read_names(r, n, where, NS_AXIS_ARCH);
}

NS_KEY_FN(ns_read_norm)
{
    read_names(r, n, where, NS_AXIS_NORM);
}

/* ------------------------------------------------------------ overrides */
/* overrides: - {match: {arch: "dln:*", norm: ...}, lr: [...], random_lr: [lo, hi], ...} */
NS_KEY_FN(ns_read_overrides)
{
    struct ns_spec_priv *pv = r->s->priv;
    if (n->type != YAML_SEQUENCE_NODE) {
        ns_errs_node(r->c.e, n, "%s: expected a list of '- match: ...' items, got %s", where,
                     ny_kind(n));
        return;
    }
    yaml_node_t *items[NS_SPEC_MAX_OVERRIDES];
    int k = ny_items(&r->c, n, where, items, NS_SPEC_MAX_OVERRIDES), nrows;
    const ns_key *rows = ns_keys_all(&nrows);
    for (int i = 0; i < k; i++) {
        char w[64];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        ns_override *o = &pv->ov[pv->noverrides++];
        memset(o, 0, sizeof *o);
        o->line = ny_line(items[i]), o->col = ny_col(items[i]);
        if (!ny_expect_map(&r->c, items[i], w)) continue;
        ns_read_section(r, "overrides[]", items[i], w, o);
        int nset = 0;
        for (int j = 0; j < nrows; j++)
            nset += !strcmp(rows[j].section, "overrides[]") && strcmp(rows[j].key, "match") &&
                    ny_get(&r->c, items[i], rows[j].key);
        if (!nset) ns_errs_node(r->c.e, items[i], "%s: sets nothing (give lr, seed, batch, ...)", w);
    }
}

NS_KEY_FN(ns_check_match)
{
    if (!ny_get(&r->c, n, "arch") && !ny_get(&r->c, n, "norm"))
        ns_errs_node(r->c.e, n, "%s: give arch and/or norm patterns", where);
}

/* ------------------------------------------------------------ probes */
/* probes.at: steps, strictly increasing and < train.steps (validate.c). */
NS_KEY_FN(ns_read_probe_at)
{
    ns_probe_config *p = &r->s->base.probe;
    yaml_node_t *items[NS_SPEC_MAX_PROBE_STEPS];
    int k = ny_items(&r->c, n, where, items, NS_SPEC_MAX_PROBE_STEPS);
    if (k < 0) return;
    p->nat = k;
    for (int i = 0; i < k; i++) {
        char w[64];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        if (ny_int64(&r->c, items[i], w, &p->at[i])) r->at_node[i] = items[i];
    }
}

/* Exactly one schedule key; its kind is the schedule. */
NS_KEY_FN(ns_check_schedule)
{
    ns_probe_config *p = &r->s->base.probe;
    int every = ny_get(&r->c, n, "every") != NULL, at = ny_get(&r->c, n, "at") != NULL,
        lc = ny_get(&r->c, n, "log_count") != NULL;
    if (every + at + lc != 1)
        ns_errs_node(r->c.e, n, "%s: give exactly one schedule: every, at or log_count (got %d)",
                     where, every + at + lc);
    else
        p->sched = every ? NS_SCHED_EVERY : at ? NS_SCHED_LIST : NS_SCHED_LOG;
}

NS_KEY_FN(ns_read_eta_relative)
{
    double *lohi = dst, lo, hi;
    yaml_node_t *it[2];
    char w[96];
    if (n->type != YAML_SEQUENCE_NODE || ny_items(&r->c, n, where, it, 2) != 2) {
        ns_errs_node(r->c.e, n, "%s: expected [lo, hi] (multiples of lr), got %s", where,
                     ny_kind(n));
        return;
    }
    snprintf(w, sizeof w, "%s[0]", where);
    int ok = ny_double(&r->c, it[0], w, &lo);
    snprintf(w, sizeof w, "%s[1]", where);
    ok &= ny_double(&r->c, it[1], w, &hi);
    if (!ok) return;
    if (!(lo > 0) || !(hi >= lo) || isinf(hi)) {
        ns_errs_node(r->c.e, n, "%s: need 0 < lo <= hi (finite), got [%g, %g]", where, lo, hi);
        return;
    }
    lohi[0] = lo, lohi[1] = hi;
}

/* probes.ics.layers: all, or 1-based layer numbers, strictly increasing. */
NS_KEY_FN(ns_read_ics_layers)
{
    ns_probe_config *p = &r->s->base.probe;
    if (n->type == YAML_SCALAR_NODE && !strcmp((const char *)n->data.scalar.value, "all")) {
        p->ics_all = 1;
        return;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        ns_errs_node(r->c.e, n, "%s: expected all or a list of layer numbers, got %s", where,
                     ny_kind(n));
        return;
    }
    yaml_node_t *items[NS_SPEC_MAX_LAYERS];
    int k = ny_items(&r->c, n, where, items, NS_SPEC_MAX_LAYERS);
    if (k < 0) return;
    p->ics_all = 0;
    p->ics_nlayers = k;
    for (int i = 0; i < k; i++) {
        char w[64];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        int64_t v;
        if (!ny_int64(&r->c, items[i], w, &v)) continue;
        if (v < 1 || v > 100000)
            ns_errs_node(r->c.e, items[i], "%s: layers are numbered from 1, got %lld", w, (long long)v);
        else if (i > 0 && v <= p->ics_layers[i - 1])
            ns_errs_node(r->c.e, items[i], "%s: layer numbers must be strictly increasing", w);
        p->ics_layers[i] = (int)v;
    }
}

NS_KEY_FN(ns_read_quantiles)
{
    ns_probe_config *p = &r->s->base.probe;
    yaml_node_t *items[NS_SPEC_MAX_QUANTILES];
    int k = ny_items(&r->c, n, where, items, NS_SPEC_MAX_QUANTILES);
    if (k < 0) return;
    p->act_nquantiles = k;
    for (int i = 0; i < k; i++) {
        char w[64];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        double v;
        if (!ny_double(&r->c, items[i], w, &v)) continue;
        if (!(v >= 0 && v <= 1))
            ns_errs_node(r->c.e, items[i], "%s: a quantile must be in [0, 1], got %s", w,
                         ny_kind(items[i]));
        else if (i > 0 && !(v > p->act_quantiles[i - 1]))
            ns_errs_node(r->c.e, items[i], "%s: quantiles must be strictly increasing", w);
        p->act_quantiles[i] = v;
    }
}
