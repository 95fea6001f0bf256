/* spec.c - sweep file (YAML) -> validated ns_spec.
 *
 * Reads the whole file with libyaml's document API (every node keeps its
 * line/column), walks the known sections, and reports EVERY problem it finds
 * as "file:line:col: section.key: message" before giving up: a user fixing a
 * sweep file sees all mistakes in one go. Then expand.c turns the axes into
 * runs. The schema is documented in docs/sweep-format.md; keep them in step.
 */
#include "sweep_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parsing state shared by the section readers. */
typedef struct pstate {
    ny_ctx c;
    ns_spec *s;
    int data_ok;  /* data set known: batch and arch checks possible       */
    int names_bad; /* an arch/norm value was rejected: overrides unchecked  */
} pstate;

static const char *const axis_names[NS_AXIS_COUNT] = {"arch", "norm", "lr", "batch",
                                                      "momentum", "weight_decay", "init", "seed"};
const char *ns_spec_axis_name(int axis)
{
    return axis >= 0 && axis < NS_AXIS_COUNT ? axis_names[axis] : "?";
}

/* ------------------------------------------------------------ one value of a numeric axis */
/* Reads one value of axis `a` (lr, batch, momentum, weight_decay, init, seed)
 * into v / iv, checking its range. Returns 1 if valid. */
static int axis_value(pstate *ps, const yaml_node_t *n, const char *where, int a, double *v,
                      int64_t *iv)
{
    const ny_ctx *c = &ps->c;
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
    case NS_AXIS_BATCH:
        if (n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
            !strcmp((const char *)n->data.scalar.value, "full")) {
            if (!ps->data_ok) return 0; /* the data error is already reported */
            *iv = ps->s->n_train;
        } else if (!ny_int64(c, n, where, iv)) {
            return 0;
        }
        if (*iv < 1) {
            ns_errs_node(e, n, "%s: batch must be >= 1, got %s", where, ny_kind(n));
            return 0;
        }
        if (ps->data_ok && *iv > ps->s->n_train) {
            ns_errs_node(e, n,
                         "%s: batch %lld is larger than the training set (%lld samples in '%s')",
                         where, (long long)*iv, (long long)ps->s->n_train, ps->s->data);
            return 0;
        }
        if (*iv > 1 << 30) {
            ns_errs_node(e, n, "%s: batch %lld is too large", where, (long long)*iv);
            return 0;
        }
        return 1;
    }
    NS_ASSERT(0);
    return 0;
}

static int same_value(const ns_numaxis *ax, int i, int j)
{
    return ax->v[i] == ax->v[j] && ax->iv[i] == ax->iv[j];
}

/* [lo, hi]: two learning rates, lo <= hi. */
static int read_lo_hi(pstate *ps, const yaml_node_t *n, const char *where, double *lo, double *hi)
{
    yaml_node_t *it[2];
    if (!n || n->type != YAML_SEQUENCE_NODE || ny_items(&ps->c, n, where, it, 2) != 2) {
        ns_errs_node(ps->c.e, n, "%s: expected [lo, hi], got %s", where, ny_kind(n));
        return 0;
    }
    int64_t dummy;
    int ok = axis_value(ps, it[0], where, NS_AXIS_LR, lo, &dummy);
    ok &= axis_value(ps, it[1], where, NS_AXIS_LR, hi, &dummy);
    if (ok && *lo > *hi) {
        ns_errs_node(ps->c.e, n, "%s: lo (%g) must be <= hi (%g)", where, *lo, *hi);
        ok = 0;
    }
    return ok;
}

/* The required "count" key of an axis mapping: 1..NS_SPEC_MAX_AXIS. */
static int axis_count(pstate *ps, const yaml_node_t *n, const char *where, int64_t *count)
{
    const ny_ctx *c = &ps->c;
    char w[128];
    snprintf(w, sizeof w, "%s.count", where);
    yaml_node_t *cn = ny_get(c, n, "count");
    if (!cn) {
        ns_errs_node(c->e, n, "%s: missing key 'count'", where);
        return 0;
    }
    if (!ny_int64(c, cn, w, count)) return 0;
    if (*count < 1 || *count > NS_SPEC_MAX_AXIS) {
        ns_errs_node(c->e, cn, "%s: must be in 1..%d, got %lld", w, NS_SPEC_MAX_AXIS,
                     (long long)*count);
        return 0;
    }
    return 1;
}

/* lr: {log_range: [lo, hi], count: n} -> n log-spaced values, ends exact. */
static int lr_log_range(pstate *ps, const yaml_node_t *n, const char *where, ns_numaxis *ax)
{
    static const char *const keys[] = {"log_range", "count", NULL};
    const ny_ctx *c = &ps->c;
    ny_check_keys(c, n, where, keys);
    char w[128];
    snprintf(w, sizeof w, "%s.log_range", where);
    yaml_node_t *r = ny_get(c, n, "log_range");
    int ok = 1;
    double lo = 0, hi = 0;
    int64_t count = 0;
    if (!r) {
        ns_errs_node(c->e, n, "%s: missing key 'log_range' ([lo, hi])", where);
        ok = 0;
    } else {
        ok = read_lo_hi(ps, r, w, &lo, &hi);
    }
    ok &= axis_count(ps, n, where, &count);
    if (!ok) return 0;
    /* Rounded to 15 significant digits: log_range [1e-3, 1] count 4 gives
     * exactly the doubles of 0.001, 0.01, 0.1, 1 - what a user would type -
     * not exp(log()) neighbours one ulp away. */
    ax->n = (int)count;
    for (int k = 0; k < ax->n; k++) {
        double v = count == 1 ? lo : exp(log(lo) + (log(hi) - log(lo)) * k / (double)(count - 1));
        char txt[32];
        snprintf(txt, sizeof txt, "%.15g", v);
        ax->v[k] = strtod(txt, NULL);
    }
    ax->v[0] = lo;
    ax->v[ax->n - 1] = count == 1 ? lo : hi;
    return 1;
}

/* seed: {count: n, start: s} -> s, s+1, ..., s+n-1 */
static int seed_count(pstate *ps, const yaml_node_t *n, const char *where, ns_numaxis *ax)
{
    static const char *const keys[] = {"count", "start", NULL};
    const ny_ctx *c = &ps->c;
    ny_check_keys(c, n, where, keys);
    char w[128];
    int64_t count = 0, start = 0;
    yaml_node_t *sn = ny_get(c, n, "start");
    int ok = axis_count(ps, n, where, &count);
    snprintf(w, sizeof w, "%s.start", where);
    if (sn && !axis_value(ps, sn, w, NS_AXIS_SEED, &(double){0}, &start)) ok = 0;
    if (!ok) return 0;
    ax->n = (int)count;
    for (int k = 0; k < ax->n; k++) ax->iv[k] = start + k;
    return 1;
}

/* A numeric axis: a list (or one scalar), or the mapping forms of lr / seed. */
static int numeric_axis(pstate *ps, const yaml_node_t *n, const char *where, int a,
                        ns_numaxis *ax)
{
    memset(ax, 0, sizeof *ax);
    if (n && n->type == YAML_MAPPING_NODE && a == NS_AXIS_LR) return lr_log_range(ps, n, where, ax);
    if (n && n->type == YAML_MAPPING_NODE && a == NS_AXIS_SEED) return seed_count(ps, n, where, ax);
    yaml_node_t *items[NS_SPEC_MAX_AXIS];
    int k = ny_items(&ps->c, n, where, items, NS_SPEC_MAX_AXIS);
    if (k < 0) return 0;
    int ok = 1;
    for (int i = 0; i < k; i++) {
        char w[128];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        int good = axis_value(ps, items[i], w, a, &ax->v[i], &ax->iv[i]);
        for (int j = 0; good && j < i; j++)
            if (same_value(ax, i, j)) {
                ns_errs_node(ps->c.e, items[i], "%s: duplicate value (same as item %d)", w, j);
                good = 0;
            }
        ok &= good;
    }
    ax->n = ok ? k : 0;
    return ok;
}

/* ------------------------------------------------------------ small typed fields */
/* Integer key in [lo, hi] of mapping m (keeps *out if absent). */
static void get_int(pstate *ps, const yaml_node_t *m, const char *sec, const char *key,
                    int64_t lo, int64_t hi, int64_t *out)
{
    yaml_node_t *n = ny_get(&ps->c, m, key);
    if (!n) return;
    char w[128];
    snprintf(w, sizeof w, "%s%s%s", sec, *sec ? "." : "", key);
    int64_t v;
    if (!ny_int64(&ps->c, n, w, &v)) return;
    if (v < lo || v > hi) {
        if (hi == INT64_MAX)
            ns_errs_node(ps->c.e, n, "%s: must be >= %lld, got %lld", w, (long long)lo,
                         (long long)v);
        else
            ns_errs_node(ps->c.e, n, "%s: must be in %lld..%lld, got %lld", w, (long long)lo,
                         (long long)hi, (long long)v);
        return;
    }
    *out = v;
}

static void get_int32(pstate *ps, const yaml_node_t *m, const char *sec, const char *key,
                      int lo, int hi, int *out)
{
    int64_t v = *out;
    get_int(ps, m, sec, key, lo, hi, &v);
    *out = (int)v;
}

/* Positive number key (or +inf if allow_inf). */
static void get_positive(pstate *ps, const yaml_node_t *m, const char *sec, const char *key,
                         int allow_inf, double *out)
{
    yaml_node_t *n = ny_get(&ps->c, m, key);
    if (!n) return;
    char w[128];
    snprintf(w, sizeof w, "%s.%s", sec, key);
    double v;
    if (!ny_double(&ps->c, n, w, &v)) return;
    if (!(v > 0) || (isinf(v) && !allow_inf)) {
        ns_errs_node(ps->c.e, n, "%s: must be a %snumber > 0, got %s", w,
                     allow_inf ? "" : "finite ", ny_kind(n));
        return;
    }
    *out = v;
}

static void get_bool(pstate *ps, const yaml_node_t *m, const char *sec, const char *key, int *out)
{
    yaml_node_t *n = ny_get(&ps->c, m, key);
    char w[128];
    snprintf(w, sizeof w, "%s.%s", sec, key);
    if (n) ny_bool(&ps->c, n, w, out);
}

/* A train.* scalar that is also a grid axis. */
static void get_axis_scalar(pstate *ps, const yaml_node_t *m, const char *key, int a, double *v,
                            int64_t *iv)
{
    yaml_node_t *n = ny_get(&ps->c, m, key);
    if (!n) return;
    char w[128];
    snprintf(w, sizeof w, "train.%s", key);
    double dv = 0;
    int64_t div = 0;
    if (axis_value(ps, n, w, a, &dv, &div)) *v = dv, *iv = div;
}

/* ------------------------------------------------------------ sections */
static void read_train(pstate *ps, const yaml_node_t *m, const yaml_node_t *root)
{
    static const char *const keys[] = {"steps",    "batch",      "optimizer",   "momentum",
                                       "weight_decay", "init",   "eval_every",  "log_every",
                                       "diverge_above", NULL};
    ns_run_config *b = &ps->s->base;
    if (!m) {
        ns_errs_at(ps->c.e, ny_line(root), ny_col(root),
                   "missing section 'train' (at least train.steps is needed)");
        return;
    }
    if (!ny_expect_map(&ps->c, m, "train")) return;
    ny_check_keys(&ps->c, m, "train", keys);
    if (!ny_get(&ps->c, m, "steps"))
        ns_errs_node(ps->c.e, m, "train: missing key 'steps' (number of optimizer steps)");
    get_int(ps, m, "train", "steps", 1, INT64_MAX, &b->steps);
    double dv;
    int64_t iv = b->batch;
    get_axis_scalar(ps, m, "batch", NS_AXIS_BATCH, &dv, &iv);
    b->batch = (int)iv;
    get_axis_scalar(ps, m, "momentum", NS_AXIS_MOMENTUM, &b->momentum, &iv);
    get_axis_scalar(ps, m, "weight_decay", NS_AXIS_WEIGHT_DECAY, &b->weight_decay, &iv);
    iv = b->init;
    get_axis_scalar(ps, m, "init", NS_AXIS_INIT, &dv, &iv);
    b->init = (int)iv;
    yaml_node_t *opt = ny_get(&ps->c, m, "optimizer");
    char name[16];
    if (opt && ny_string(&ps->c, opt, "train.optimizer", name, sizeof name) && strcmp(name, "sgd"))
        ns_errs_node(ps->c.e, opt, "train.optimizer: only 'sgd' is supported, got %s",
                     ny_kind(opt));
    get_int(ps, m, "train", "eval_every", 0, INT64_MAX, &b->eval_every);
    get_int(ps, m, "train", "log_every", 1, INT64_MAX, &b->log_every);
    get_positive(ps, m, "train", "diverge_above", 1, &b->diverge_above);
}

/* probes.at: explicit list of steps, strictly increasing, < steps. */
static void read_probe_at(pstate *ps, const yaml_node_t *n, ns_probe_config *p)
{
    yaml_node_t *items[NS_SPEC_MAX_PROBE_STEPS];
    int k = ny_items(&ps->c, n, "probes.at", items, NS_SPEC_MAX_PROBE_STEPS);
    if (k < 0) return;
    p->nat = k;
    for (int i = 0; i < k; i++) {
        char w[64];
        snprintf(w, sizeof w, "probes.at[%d]", i);
        int64_t t;
        if (!ny_int64(&ps->c, items[i], w, &t)) continue;
        if (t < 0 || (ps->s->base.steps > 0 && t >= ps->s->base.steps))
            ns_errs_node(ps->c.e, items[i], "%s: step %lld is outside [0, train.steps = %lld)", w,
                         (long long)t, (long long)ps->s->base.steps);
        else if (i > 0 && t <= p->at[i - 1])
            ns_errs_node(ps->c.e, items[i], "%s: steps must be strictly increasing (%lld after %lld)",
                         w, (long long)t, (long long)p->at[i - 1]);
        p->at[i] = t;
    }
}

static void read_eta(pstate *ps, const yaml_node_t *n, ns_probe_config *p)
{
    static const char *const keys[] = {"relative", "count", NULL};
    p->landscape = 1;
    if (ny_is_null(n)) return;
    if (!ny_expect_map(&ps->c, n, "probes.eta")) return;
    ny_check_keys(&ps->c, n, "probes.eta", keys);
    get_int32(ps, n, "probes.eta", "count", 1, 64, &p->eta_count);
    yaml_node_t *r = ny_get(&ps->c, n, "relative"), *it[2];
    if (!r) return;
    if (r->type != YAML_SEQUENCE_NODE || ny_items(&ps->c, r, "probes.eta.relative", it, 2) != 2) {
        ns_errs_node(ps->c.e, r, "probes.eta.relative: expected [lo, hi] (multiples of lr), got %s",
                     ny_kind(r));
        return;
    }
    double lo, hi;
    int ok = ny_double(&ps->c, it[0], "probes.eta.relative[0]", &lo);
    ok &= ny_double(&ps->c, it[1], "probes.eta.relative[1]", &hi);
    if (!ok) return;
    if (!(lo > 0) || !(hi >= lo) || isinf(hi)) {
        ns_errs_node(ps->c.e, r, "probes.eta.relative: need 0 < lo <= hi (finite), got [%g, %g]",
                     lo, hi);
        return;
    }
    p->eta_rel_lo = lo, p->eta_rel_hi = hi;
}

static void read_ics(pstate *ps, const yaml_node_t *n, ns_probe_config *p)
{
    static const char *const keys[] = {"layers", NULL};
    p->ics = 1;
    if (ny_is_null(n)) return;
    if (!ny_expect_map(&ps->c, n, "probes.ics")) return;
    ny_check_keys(&ps->c, n, "probes.ics", keys);
    yaml_node_t *l = ny_get(&ps->c, n, "layers");
    if (!l) return;
    if (l->type == YAML_SCALAR_NODE && !strcmp((const char *)l->data.scalar.value, "all")) return;
    if (l->type != YAML_SEQUENCE_NODE) {
        ns_errs_node(ps->c.e, l, "probes.ics.layers: expected all or a list of layer numbers, got %s",
                     ny_kind(l));
        return;
    }
    yaml_node_t *items[NS_SPEC_MAX_LAYERS];
    int k = ny_items(&ps->c, l, "probes.ics.layers", items, NS_SPEC_MAX_LAYERS);
    if (k < 0) return;
    p->ics_all = 0;
    p->ics_nlayers = k;
    for (int i = 0; i < k; i++) {
        char w[64];
        snprintf(w, sizeof w, "probes.ics.layers[%d]", i);
        int64_t v;
        if (!ny_int64(&ps->c, items[i], w, &v)) continue;
        if (v < 1 || v > 100000)
            ns_errs_node(ps->c.e, items[i], "%s: layers are numbered from 1, got %lld", w, (long long)v);
        else if (i > 0 && v <= p->ics_layers[i - 1])
            ns_errs_node(ps->c.e, items[i], "%s: layer numbers must be strictly increasing", w);
        p->ics_layers[i] = (int)v;
    }
}

static void read_activations(pstate *ps, const yaml_node_t *n, ns_probe_config *p)
{
    static const char *const keys[] = {"units", "quantiles", NULL};
    if (ny_is_null(n)) return;
    if (!ny_expect_map(&ps->c, n, "probes.activations")) return;
    ny_check_keys(&ps->c, n, "probes.activations", keys);
    get_int32(ps, n, "probes.activations", "units", 1, 4096, &p->act_units);
    yaml_node_t *q = ny_get(&ps->c, n, "quantiles");
    if (!q) return;
    yaml_node_t *items[NS_SPEC_MAX_QUANTILES];
    int k = ny_items(&ps->c, q, "probes.activations.quantiles", items, NS_SPEC_MAX_QUANTILES);
    if (k < 0) return;
    p->act_nquantiles = k;
    for (int i = 0; i < k; i++) {
        char w[64];
        snprintf(w, sizeof w, "probes.activations.quantiles[%d]", i);
        double v;
        if (!ny_double(&ps->c, items[i], w, &v)) continue;
        if (!(v >= 0 && v <= 1))
            ns_errs_node(ps->c.e, items[i], "%s: a quantile must be in [0, 1], got %s", w,
                         ny_kind(items[i]));
        else if (i > 0 && !(v > p->act_quantiles[i - 1]))
            ns_errs_node(ps->c.e, items[i], "%s: quantiles must be strictly increasing", w);
        p->act_quantiles[i] = v;
    }
}

static void read_hessian(pstate *ps, const yaml_node_t *n, ns_probe_config *p)
{
    static const char *const keys[] = {"iters", "tol", "trace_samples", "mode", NULL};
    p->hessian = 1;
    if (ny_is_null(n)) return;
    if (!ny_expect_map(&ps->c, n, "probes.hessian")) return;
    ny_check_keys(&ps->c, n, "probes.hessian", keys);
    get_int32(ps, n, "probes.hessian", "iters", 1, 10000, &p->hess_iters);
    get_positive(ps, n, "probes.hessian", "tol", 0, &p->hess_tol);
    get_int32(ps, n, "probes.hessian", "trace_samples", 0, 10000, &p->hess_trace_samples);
    yaml_node_t *m = ny_get(&ps->c, n, "mode");
    char mode[16];
    if (!m || !ny_string(&ps->c, m, "probes.hessian.mode", mode, sizeof mode)) return;
    if (!strcmp(mode, "train"))
        p->hess_mode = NS_MODE_TRAIN;
    else if (!strcmp(mode, "eval"))
        p->hess_mode = NS_MODE_EVAL;
    else
        ns_errs_node(ps->c.e, m, "probes.hessian.mode: expected train or eval, got %s", ny_kind(m));
}

static void read_probes(pstate *ps, const yaml_node_t *n)
{
    static const char *const keys[] = {"every", "at", "log_count", "eta", "random_direction",
                                       "ics", "activations", "hessian", "thm41", NULL};
    ns_probe_config *p = &ps->s->base.probe;
    if (!n) return;
    if (!ny_expect_map(&ps->c, n, "probes")) return;
    ny_check_keys(&ps->c, n, "probes", keys);
    yaml_node_t *every = ny_get(&ps->c, n, "every"), *at = ny_get(&ps->c, n, "at"),
                *lc = ny_get(&ps->c, n, "log_count");
    if (!!every + !!at + !!lc != 1) {
        ns_errs_node(ps->c.e, n, "probes: give exactly one schedule: every, at or log_count (got %d)",
                     !!every + !!at + !!lc);
    } else if (every) {
        p->sched = NS_SCHED_EVERY;
        get_int(ps, n, "probes", "every", 1, INT64_MAX, &p->every);
    } else if (at) {
        p->sched = NS_SCHED_LIST;
        read_probe_at(ps, at, p);
    } else {
        p->sched = NS_SCHED_LOG;
        int64_t steps = ps->s->base.steps > 0 ? ps->s->base.steps : INT64_MAX;
        int64_t v = 0;
        get_int(ps, n, "probes", "log_count", 1, steps < 100000 ? steps : 100000, &v);
        p->log_count = (int)v;
    }
    yaml_node_t *x;
    if ((x = ny_get(&ps->c, n, "eta"))) read_eta(ps, x, p);
    get_bool(ps, n, "probes", "random_direction", &p->random_direction);
    if (p->random_direction && !p->landscape)
        ns_errs_node(ps->c.e, ny_get(&ps->c, n, "random_direction"),
                     "probes.random_direction: needs probes.eta (the step sizes to evaluate)");
    if ((x = ny_get(&ps->c, n, "ics"))) read_ics(ps, x, p);
    if ((x = ny_get(&ps->c, n, "activations"))) {
        p->act_units = 16;
        read_activations(ps, x, p);
    }
    if ((x = ny_get(&ps->c, n, "hessian"))) read_hessian(ps, x, p);
    get_bool(ps, n, "probes", "thm41", &p->thm41);
}

/* grid.arch / grid.norm: lists of strings checked by their modules. */
static void read_names(pstate *ps, const yaml_node_t *n, int a)
{
    struct ns_spec_priv *pv = ps->s->priv;
    const char *where = a == NS_AXIS_ARCH ? "grid.arch" : "grid.norm";
    yaml_node_t *items[NS_SPEC_MAX_AXIS];
    int k = ny_items(&ps->c, n, where, items, NS_SPEC_MAX_AXIS);
    if (k < 0) return;
    int *count = a == NS_AXIS_ARCH ? &pv->narch : &pv->nnorm;
    for (int i = 0; i < k; i++) {
        char w[64], *dst = a == NS_AXIS_ARCH ? pv->arch[*count] : pv->norm[*count];
        size_t cap = a == NS_AXIS_ARCH ? sizeof pv->arch[0] : sizeof pv->norm[0];
        snprintf(w, sizeof w, "%s[%d]", where, i);
        ps->names_bad++; /* until this value passes every check */
        if (!ny_string(&ps->c, items[i], w, dst, cap)) continue;
        int dup = -1;
        for (int j = 0; j < *count; j++)
            if (!strcmp(a == NS_AXIS_ARCH ? pv->arch[j] : pv->norm[j], dst)) dup = j;
        if (dup >= 0) {
            ns_errs_node(ps->c.e, items[i], "%s: duplicate value '%s'", w, dst);
            continue;
        }
        if (a == NS_AXIS_NORM) {
            if (ns_ref_norm(dst) != NS_OK) {
                ns_errs_node(ps->c.e, items[i], "%s: %s", w, ns_error_msg());
                continue;
            }
        } else if (ps->data_ok) {
            int nout = ps->s->nclasses > 0 ? ps->s->nclasses : ps->s->target_dim;
            if (ns_ref_arch(dst, ps->s->in_shape, nout, &pv->arch_flops[*count],
                            &pv->arch_layers[*count]) != NS_OK) {
                ns_errs_node(ps->c.e, items[i], "%s: %s", w, ns_error_msg());
                continue;
            }
        }
        (*count)++;
        ps->names_bad--;
    }
}

static void read_grid(pstate *ps, const yaml_node_t *n, const yaml_node_t *root,
                      const yaml_node_t *train, int have_random)
{
    static const char *const keys[] = {"arch", "norm", "lr", "seed", "batch",
                                       "momentum", "weight_decay", "init", NULL};
    struct ns_spec_priv *pv = ps->s->priv;
    if (!n) {
        ns_errs_at(ps->c.e, ny_line(root), ny_col(root),
                   "missing section 'grid' (at least grid.arch and grid.norm are needed)");
        return;
    }
    if (!ny_expect_map(&ps->c, n, "grid")) return;
    pv->grid_line = ny_line(n), pv->grid_col = ny_col(n);
    ny_check_keys(&ps->c, n, "grid", keys);
    for (int a = 0; a < NS_AXIS_COUNT; a++) {
        yaml_node_t *x = ny_get(&ps->c, n, axis_names[a]);
        if (!x) {
            if (a == NS_AXIS_ARCH || a == NS_AXIS_NORM || (a == NS_AXIS_LR && !have_random))
                ns_errs_node(ps->c.e, n, "grid: missing key '%s'%s", axis_names[a],
                             a == NS_AXIS_LR ? " (or a 'random' section drawing learning rates)"
                                             : "");
            continue;
        }
        if (a == NS_AXIS_ARCH || a == NS_AXIS_NORM) {
            read_names(ps, x, a);
            continue;
        }
        yaml_node_t *tk = train ? ny_get(&ps->c, train, axis_names[a]) : NULL;
        if (tk) {
            ns_errs_node(ps->c.e, x, "grid.%s: also set in train.%s (line %d); keep one", axis_names[a],
                         axis_names[a], ny_line(tk));
            continue;
        }
        char w[64];
        snprintf(w, sizeof w, "grid.%s", axis_names[a]);
        numeric_axis(ps, x, w, a, &pv->grid[a]);
    }
}

static void read_random(pstate *ps, const yaml_node_t *n)
{
    static const char *const keys[] = {"count", "seed", "lr", NULL};
    static const char *const lr_keys[] = {"log_uniform", NULL};
    ns_spec *s = ps->s;
    if (!ny_expect_map(&ps->c, n, "random")) return;
    ny_check_keys(&ps->c, n, "random", keys);
    if (!ny_get(&ps->c, n, "count")) ns_errs_node(ps->c.e, n, "random: missing key 'count'");
    get_int32(ps, n, "random", "count", 1, NS_SPEC_MAX_AXIS, &s->random_count);
    int64_t seed = 0;
    get_int(ps, n, "random", "seed", 0, INT64_MAX, &seed);
    s->random_seed = (uint64_t)seed;
    yaml_node_t *lr = ny_get(&ps->c, n, "lr");
    if (!lr) {
        ns_errs_node(ps->c.e, n, "random: missing key 'lr' ({log_uniform: [lo, hi]})");
        return;
    }
    if (!ny_expect_map(&ps->c, lr, "random.lr")) return;
    ny_check_keys(&ps->c, lr, "random.lr", lr_keys);
    yaml_node_t *lu = ny_get(&ps->c, lr, "log_uniform");
    if (!lu) {
        ns_errs_node(ps->c.e, lr, "random.lr: missing key 'log_uniform' ([lo, hi])");
        return;
    }
    read_lo_hi(ps, lu, "random.lr.log_uniform", &s->random_lr_lo, &s->random_lr_hi);
}

/* overrides: - {match: {arch: "dln:*", norm: ...}, lr: [...], random_lr: [lo, hi], ...} */
static void read_overrides(pstate *ps, const yaml_node_t *n, int have_random)
{
    static const char *const keys[] = {"match", "lr", "seed", "batch", "momentum",
                                       "weight_decay", "init", "random_lr", NULL};
    static const char *const match_keys[] = {"arch", "norm", NULL};
    struct ns_spec_priv *pv = ps->s->priv;
    if (n->type != YAML_SEQUENCE_NODE) {
        ns_errs_node(ps->c.e, n, "overrides: expected a list of '- match: ...' items, got %s",
                     ny_kind(n));
        return;
    }
    yaml_node_t *items[NS_SPEC_MAX_OVERRIDES];
    int k = ny_items(&ps->c, n, "overrides", items, NS_SPEC_MAX_OVERRIDES);
    for (int i = 0; i < k; i++) {
        char w[64], w2[96];
        snprintf(w, sizeof w, "overrides[%d]", i);
        ns_override *o = &pv->ov[pv->noverrides++];
        memset(o, 0, sizeof *o);
        o->line = ny_line(items[i]), o->col = ny_col(items[i]);
        if (!ny_expect_map(&ps->c, items[i], w)) continue;
        ny_check_keys(&ps->c, items[i], w, keys);
        yaml_node_t *m = ny_get(&ps->c, items[i], "match");
        snprintf(w2, sizeof w2, "%s.match", w);
        if (!m) {
            ns_errs_node(ps->c.e, items[i], "%s: missing key 'match' (e.g. match: {arch: \"dln:*\"})", w);
        } else if (ny_expect_map(&ps->c, m, w2)) {
            ny_check_keys(&ps->c, m, w2, match_keys);
            yaml_node_t *ma = ny_get(&ps->c, m, "arch"), *mn = ny_get(&ps->c, m, "norm");
            if (!ma && !mn) ns_errs_node(ps->c.e, m, "%s: give arch and/or norm patterns", w2);
            snprintf(w2, sizeof w2, "%s.match.arch", w);
            if (ma) ny_string(&ps->c, ma, w2, o->match_arch, sizeof o->match_arch);
            snprintf(w2, sizeof w2, "%s.match.norm", w);
            if (mn) ny_string(&ps->c, mn, w2, o->match_norm, sizeof o->match_norm);
        }
        int nset = 0;
        for (int a = NS_AXIS_LR; a < NS_AXIS_COUNT; a++) {
            yaml_node_t *x = ny_get(&ps->c, items[i], axis_names[a]);
            if (!x) continue;
            nset++;
            snprintf(w2, sizeof w2, "%s.%s", w, axis_names[a]);
            numeric_axis(ps, x, w2, a, &o->ax[a]);
        }
        yaml_node_t *rl = ny_get(&ps->c, items[i], "random_lr");
        if (rl) {
            nset++;
            snprintf(w2, sizeof w2, "%s.random_lr", w);
            if (!have_random)
                ns_errs_node(ps->c.e, rl, "%s: there is no 'random' section to override", w2);
            else
                o->has_random_lr = read_lo_hi(ps, rl, w2, &o->random_lo, &o->random_hi);
        }
        if (!nset) ns_errs_node(ps->c.e, items[i], "%s: sets nothing (give lr, seed, batch, ...)", w);
    }
}

/* ICS layer numbers must exist in every arch of the sweep (layer counts are
 * known only once the data set is: without it the data error stands alone). */
static void check_ics_layers(pstate *ps, const yaml_node_t *probes)
{
    const ns_probe_config *p = &ps->s->base.probe;
    struct ns_spec_priv *pv = ps->s->priv;
    if (!ps->data_ok || !p->ics || p->ics_all || p->ics_nlayers == 0) return;
    int maxl = p->ics_layers[p->ics_nlayers - 1];
    yaml_node_t *n = ny_get(&ps->c, ny_get(&ps->c, probes, "ics"), "layers");
    for (int i = 0; i < pv->narch; i++)
        if (maxl > pv->arch_layers[i])
            ns_errs_node(ps->c.e, n,
                         "probes.ics.layers: layer %d does not exist in '%s' (it has %d measured "
                         "layer%s)", maxl, pv->arch[i], pv->arch_layers[i],
                         pv->arch_layers[i] == 1 ? "" : "s");
}

static void set_defaults(ns_spec *s)
{
    ns_run_config *b = &s->base;
    memset(b, 0, sizeof *b);
    b->index = -1;
    b->random_sample = -1;
    b->batch = 128;
    b->init = NS_INIT_GLOROT;
    b->log_every = 1;
    b->diverge_above = HUGE_VAL;
    ns_probe_config *p = &b->probe;
    p->eta_rel_lo = 0.5, p->eta_rel_hi = 4.0, p->eta_count = 8;
    p->ics_all = 1;
    static const double q[5] = {0.025, 0.16, 0.5, 0.84, 0.975};
    p->act_nquantiles = 5;
    memcpy(p->act_quantiles, q, sizeof q);
    p->hess_iters = 20, p->hess_tol = 1e-3, p->hess_mode = NS_MODE_TRAIN;
}

static void read_root(pstate *ps, const yaml_node_t *root)
{
    static const char *const keys[] = {"name",   "description", "data",     "data_seed",
                                       "train",  "grid",        "random",   "overrides",
                                       "probes", "checkpoint",  NULL};
    ns_spec *s = ps->s;
    const ny_ctx *c = &ps->c;
    if (!ny_expect_map(c, root, "sweep file")) return;
    ny_check_keys(c, root, "sweep file", keys);
    yaml_node_t *x;
    if ((x = ny_get(c, root, "name"))) ny_string(c, x, "name", s->name, sizeof s->name);
    if ((x = ny_get(c, root, "description"))) {
        char tmp[4096];
        ny_string(c, x, "description", tmp, sizeof tmp);
    }
    /* data first: batch sizes and architectures are checked against it */
    if (!(x = ny_get(c, root, "data"))) {
        ns_errs_at(c->e, ny_line(root), ny_col(root), "missing key 'data' (e.g. data: fashion-mnist)");
    } else if (ny_string(c, x, "data", s->data, sizeof s->data)) {
        ns_ref_data d;
        if (ns_ref_data_info(s->data, &d) != NS_OK) {
            ns_errs_node(c->e, x, "data: %s", ns_error_msg());
        } else if (d.n_train < 1) {
            ns_errs_node(c->e, x, "data: '%s' has no training samples", s->data);
        } else {
            ps->data_ok = 1;
            s->in_shape = d.shape;
            s->nclasses = d.nclasses, s->target_dim = d.target_dim;
            s->n_train = d.n_train, s->n_test = d.n_test;
        }
    }
    int64_t dseed = 0;
    get_int(ps, root, "", "data_seed", 0, INT64_MAX, &dseed);
    s->base.data_seed = (uint64_t)dseed;
    snprintf(s->base.data, sizeof s->base.data, "%s", s->data);
    yaml_node_t *train = ny_get(c, root, "train");
    read_train(ps, train, root);
    if (train && train->type != YAML_MAPPING_NODE) train = NULL;
    yaml_node_t *random = ny_get(c, root, "random");
    if (random) read_random(ps, random);
    read_grid(ps, ny_get(c, root, "grid"), root, train, random != NULL);
    if ((x = ny_get(c, root, "overrides"))) read_overrides(ps, x, random != NULL);
    if (!ps->data_ok || ps->names_bad) ps->names_bad = 1;
    else ns_spec_check_overrides(s, c->e);
    yaml_node_t *probes = ny_get(c, root, "probes");
    read_probes(ps, probes);
    check_ics_layers(ps, probes);
    if ((x = ny_get(c, root, "checkpoint"))) {
        static const char *const ck[] = {"every", NULL};
        if (ny_expect_map(c, x, "checkpoint")) {
            ny_check_keys(c, x, "checkpoint", ck);
            get_int(ps, x, "checkpoint", "every", 0, INT64_MAX, &s->base.checkpoint_every);
        }
    }
}

/* ------------------------------------------------------------ entry points */
static const char *base_name(const char *path, char *buf, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, cap, "%s", b);
    char *dot = strrchr(buf, '.');
    if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"))) *dot = '\0';
    return buf;
}

static void yaml_syntax_error(ns_errs *e, const yaml_parser_t *p)
{
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    if (p->context)
        ns_errs_at(e, (int)m->line + 1, (int)m->column + 1,
                   "YAML syntax error: %s %s (started at line %d, column %d)",
                   p->problem ? p->problem : "unknown problem", p->context,
                   (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    else
        ns_errs_at(e, (int)m->line + 1, (int)m->column + 1, "YAML syntax error: %s",
                   p->problem ? p->problem : "unknown problem");
}

/* Messages are collected section by section; show them in file order. */
typedef struct msg_ref {
    const char *text;
    size_t len;
    long line, col;
    int seq;
} msg_ref;

static int msg_cmp(const void *a, const void *b)
{
    const msg_ref *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return x->seq - y->seq;
}

static void sort_messages(ns_errs *e)
{
    msg_ref *m = calloc((size_t)e->n, sizeof *m);
    char *sorted = malloc(e->b.len + 1);
    if (!m || !sorted) { /* keep them unsorted */
        free(m);
        free(sorted);
        return;
    }
    size_t flen = strlen(e->file);
    const char *p = e->b.p;
    int k = 0;
    for (; k < e->n && *p; k++) {
        const char *nl = strchr(p, '\n');
        char *end;
        m[k].text = p;
        m[k].len = (size_t)(nl - p) + 1;
        m[k].line = strtol(p + flen + 1, &end, 10);
        m[k].col = strtol(end + 1, NULL, 10);
        m[k].seq = k;
        p = nl + 1;
    }
    qsort(m, (size_t)k, sizeof *m, msg_cmp);
    size_t at = 0;
    for (int i = 0; i < k; i++) memcpy(sorted + at, m[i].text, m[i].len), at += m[i].len;
    sorted[at] = '\0';
    free(e->b.p);
    free(m);
    e->b.p = sorted;
}

static ns_status finish(ns_errs *e, ns_spec *s, ns_spec **out, char **errors)
{
    if (e->b.oom) {
        free(e->b.p);
        ns_spec_free(s);
        if (errors) *errors = NULL;
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory while reading the sweep file", e->file);
    }
    if (e->n == 0) {
        free(e->b.p);
        *out = s;
        if (errors) *errors = NULL;
        return NS_OK;
    }
    ns_spec_free(s);
    sort_messages(e);
    size_t first = strcspn(e->b.p, "\n");
    ns_error_set(NS_ERR_ARG, "%.*s%s", (int)first, e->b.p,
                 e->n > 1 ? " (and more errors)" : "");
    if (errors) *errors = e->b.p;
    else free(e->b.p);
    return NS_ERR_ARG;
}

ns_status ns_spec_parse(const char *text, const char *name, ns_spec **out, char **errors)
{
    *out = NULL;
    if (errors) *errors = NULL;
    if (!name) name = "<string>";
    ns_errs e = {.file = name};
    ns_spec *s = calloc(1, sizeof *s);
    if (s) s->priv = calloc(1, sizeof *s->priv);
    if (s) s->path = strdup(name), s->text = strdup(text);
    if (!s || !s->priv || !s->path || !s->text) {
        ns_spec_free(s);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory", name);
    }
    set_defaults(s);
    char nb[128];
    snprintf(s->name, sizeof s->name, "%s", base_name(name, nb, sizeof nb));

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        ns_spec_free(s);
        return ns_error_set(NS_ERR_NOMEM, "%s: cannot initialize the YAML parser", name);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_syntax_error(&e, &parser);
        yaml_parser_delete(&parser);
        return finish(&e, s, out, errors);
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        ns_errs_at(&e, 1, 1, "the sweep file is empty");
    } else {
        /* a second document ("---") would be silently ignored: refuse it */
        yaml_document_t doc2;
        if (!yaml_parser_load(&parser, &doc2)) {
            yaml_syntax_error(&e, &parser);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
            if (r2) ns_errs_node(&e, r2, "only one YAML document per sweep file (found a second one)");
            yaml_document_delete(&doc2);
        }
        pstate ps = {.c = {.doc = &doc, .e = &e}, .s = s};
        read_root(&ps, root);
        if (e.n == 0 && ns_spec_expand(s, &e) == NS_ERR_NOMEM) e.b.oom = 1;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (e.n == 0 && ns_spec_build_canonical(s) != NS_OK) e.b.oom = 1;
    return finish(&e, s, out, errors);
}

ns_status ns_spec_load(const char *path, ns_spec **out, char **errors)
{
    *out = NULL;
    if (errors) *errors = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ns_error_set(NS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    while (text) {
        len += fread(text + len, 1, cap - 1 - len, f);
        if (len < cap - 1) break;
        char *t = realloc(text, cap * 2);
        if (!t) free(text);
        text = t, cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!text) return ns_error_set(NS_ERR_NOMEM, "%s: out of memory reading the file", path);
    text[len] = '\0';
    if (err) {
        free(text);
        return ns_error_set(NS_ERR_IO, "%s: read error", path);
    }
    if (strlen(text) != len) {
        size_t at = strlen(text);
        free(text);
        return ns_error_set(NS_ERR_ARG, "%s: byte offset %zu: NUL byte (not a text file?)", path, at);
    }
    ns_status st = ns_spec_parse(text, path, out, errors);
    free(text);
    return st;
}

void ns_spec_free(ns_spec *s)
{
    if (!s) return;
    if (s->priv) free(s->priv->canonical);
    free(s->priv);
    free(s->path);
    free(s->text);
    free(s->runs);
    free(s->train_flops);
    free(s->measured_layers);
    free(s);
}
