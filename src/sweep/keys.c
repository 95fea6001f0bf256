/* keys.c - THE table of sweep-file keys, and the reader it drives.
 *
 * One row per key (docs/sweep-format.md describes the same keys; a test
 * checks that every row is documented). A row says where the key lives
 * (section), what it holds (kind, range), its default (as YAML text, read by
 * the same reader as a value in a file, so a default obeys the same rules)
 * and where the value goes (an offset into the spec, its private part, or
 * the list item being read). From the rows come: the allowed keys of each
 * mapping, "unknown key" with "did you mean", "missing key" messages, the
 * defaults, and the reading of every plain value. Values that need more
 * (axes, lists, pairs) have a custom reader in read_values.c; checks that
 * look across sections are in validate.c, after everything is read, so the
 * order of the sections in a file does not matter.
 *
 * To add a key: add its row here (and its field, and its line in the docs).
 */
#include "sweep_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC(f) .dst = NK_SPEC, .off = offsetof(ns_spec, f)
#define BASE(f) SPEC(base.f)
#define PROBE(f) SPEC(base.probe.f)
#define PRIV(f) .dst = NK_PRIV, .off = offsetof(struct ns_spec_priv, f)
#define ITEM(type, f) .dst = NK_ITEM, .off = offsetof(type, f)
#define AXIS(a) .lo = (a)
#define RANGE(a, b) .lo = (a), .hi = (b)
#define LIMIT .limit = NS_SPEC_MAX_STEPS
#define AXIS_LIST(sec, name, a) {sec, name, NK_AXIS, 0, AXIS(a), ITEM(ns_override, ax[a])}
#define SEARCH_AXIS(name, a)                                                                  \
    {"search", name, NK_SECTION, 0, AXIS(a), .choices = "search.*", PRIV(search.ax[a]),       \
     .read = ns_check_dist}

/* The row order is the order of the "expected one of" lists and of the
 * missing-key messages of a mapping. */
static const ns_key table[] = {
    /* ---- top level */
    {"", "name", NK_TEXT, 0, .cap = 128, SPEC(name), .hint = "the file name without .yaml"},
    {"", "description", NK_TEXT, NK_FREE_TEXT, .cap = 4096},
    {"", "data", NK_TEXT, NK_REQUIRED, .cap = 256, SPEC(data), .hint = "e.g. data: fashion-mnist"},
    {"", "data_seed", NK_INT, 0, RANGE(0, INT64_MAX), .def = "0", BASE(data_seed)},
    {"", "train", NK_SECTION, NK_REQUIRED, .hint = "at least train.steps is needed"},
    {"", "grid", NK_SECTION, NK_REQUIRED,
     .hint = "at least grid.arch and grid.norm are needed"},
    {"", "search", NK_SECTION, 0, .read = ns_check_search},
    {"", "random", NK_SECTION, NK_DEPRECATED, .read = ns_check_random},
    {"", "overrides", NK_CUSTOM, 0, .read = ns_read_overrides},
    {"", "probes", NK_SECTION, 0, .read = ns_check_schedule},
    {"", "checkpoint", NK_SECTION, 0, .hint = NULL},

    /* ---- train: fixed settings (batch .. init may be grid axes instead) */
    {"train", "steps", NK_INT, NK_REQUIRED, RANGE(1, INT64_MAX), LIMIT, BASE(steps),
     .hint = "number of optimizer steps"},
    {"train", "batch", NK_AXIS1, 0, AXIS(NS_AXIS_BATCH), .def = "128", BASE(batch)},
    {"train", "optimizer", NK_ENUM, 0, .choices = "sgd", .def = "sgd"},
    {"train", "momentum", NK_AXIS1, 0, AXIS(NS_AXIS_MOMENTUM), .def = "0", BASE(momentum)},
    {"train", "weight_decay", NK_AXIS1, 0, AXIS(NS_AXIS_WEIGHT_DECAY), .def = "0",
     BASE(weight_decay)},
    {"train", "init", NK_AXIS1, 0, AXIS(NS_AXIS_INIT), .def = "glorot", BASE(init)},
    {"train", "eval_every", NK_INT, 0, RANGE(0, INT64_MAX), LIMIT, .def = "0", BASE(eval_every)},
    {"train", "log_every", NK_INT, 0, RANGE(1, INT64_MAX), LIMIT, .def = "1", BASE(log_every)},
    {"train", "diverge_above", NK_POSITIVE, NK_INF_OK, .def = ".inf", BASE(diverge_above)},
    {"train", "lr", NK_MISPLACED, 0, .choices = "grid.lr", .hint = "learning rates are a grid axis"},
    {"train", "seed", NK_MISPLACED, 0, .choices = "grid.seed", .hint = "seeds are a grid axis"},

    /* ---- grid: the axes */
    {"grid", "arch", NK_CUSTOM, NK_REQUIRED, AXIS(NS_AXIS_ARCH), .read = ns_read_arch},
    {"grid", "norm", NK_CUSTOM, NK_REQUIRED, AXIS(NS_AXIS_NORM), .read = ns_read_norm},
    {"grid", "lr", NK_AXIS, NK_CHECKED_LATER, AXIS(NS_AXIS_LR), PRIV(grid[NS_AXIS_LR]),
     .hint = "or search.lr drawing learning rates"},
    {"grid", "seed", NK_AXIS, 0, AXIS(NS_AXIS_SEED), PRIV(grid[NS_AXIS_SEED])},
    {"grid", "batch", NK_AXIS, 0, AXIS(NS_AXIS_BATCH), PRIV(grid[NS_AXIS_BATCH])},
    {"grid", "momentum", NK_AXIS, 0, AXIS(NS_AXIS_MOMENTUM), PRIV(grid[NS_AXIS_MOMENTUM])},
    {"grid", "weight_decay", NK_AXIS, 0, AXIS(NS_AXIS_WEIGHT_DECAY),
     PRIV(grid[NS_AXIS_WEIGHT_DECAY])},
    {"grid", "init", NK_AXIS, 0, AXIS(NS_AXIS_INIT), PRIV(grid[NS_AXIS_INIT])},
    /* the mapping forms of two axes: {log_range: [lo, hi], count: n}, {count: n, start: s} */
    {"grid.lr", "log_range", NK_CUSTOM, NK_REQUIRED, ITEM(ns_axis_form, lo), .hint = "[lo, hi]",
     .read = ns_read_lr_range},
    {"grid.lr", "count", NK_INT, NK_REQUIRED, RANGE(1, NS_SPEC_MAX_AXIS),
     ITEM(ns_axis_form, count)},
    {"grid.seed", "count", NK_INT, NK_REQUIRED, RANGE(1, NS_SPEC_MAX_AXIS),
     ITEM(ns_axis_form, count)},
    {"grid.seed", "start", NK_AXIS1, 0, AXIS(NS_AXIS_SEED), ITEM(ns_axis_form, start)},

    /* ---- search: random search (W&B-style count, or per_grid_point draws) */
    {"search", "count", NK_INT32, 0, RANGE(1, NS_SPEC_MAX_RUNS), PRIV(search.count)},
    {"search", "per_grid_point", NK_INT32, 0, RANGE(1, NS_SPEC_MAX_AXIS),
     PRIV(search.per_grid_point)},
    {"search", "seed", NK_INT, 0, RANGE(0, INT64_MAX), .def = "0", PRIV(search.seed)},
    SEARCH_AXIS("lr", NS_AXIS_LR),
    SEARCH_AXIS("batch", NS_AXIS_BATCH),
    SEARCH_AXIS("momentum", NS_AXIS_MOMENTUM),
    SEARCH_AXIS("weight_decay", NS_AXIS_WEIGHT_DECAY),
    SEARCH_AXIS("width", NS_SEARCH_WIDTH),
    /* the distribution of each sampled axis: exactly one of these */
    {"search.*", "uniform", NK_CUSTOM, 0, ITEM(ns_search_axis, lo), .read = ns_read_dist_range},
    {"search.*", "log_uniform", NK_CUSTOM, 0, ITEM(ns_search_axis, lo),
     .read = ns_read_dist_range},
    {"search.*", "choice", NK_CUSTOM, 0, ITEM(ns_search_axis, choice),
     .read = ns_read_dist_choice},

    /* ---- random (deprecated): its count is search.per_grid_point, lr log-uniform */
    {"random", "count", NK_INT32, NK_REQUIRED, RANGE(1, NS_SPEC_MAX_AXIS),
     PRIV(search.per_grid_point)},
    {"random", "seed", NK_INT, 0, RANGE(0, INT64_MAX), PRIV(search.seed)},
    {"random", "lr", NK_SECTION, NK_REQUIRED, .hint = "{log_uniform: [lo, hi]}"},
    {"random.lr", "log_uniform", NK_CUSTOM, NK_REQUIRED, PRIV(search.ax[NS_AXIS_LR]),
     .hint = "[lo, hi]", .read = ns_read_random_lr},

    /* ---- overrides: list items, read into one ns_override each */
    {"overrides[]", "match", NK_SECTION, NK_REQUIRED, .hint = "e.g. match: {arch: \"dln:*\"}",
     .read = ns_check_match},
    AXIS_LIST("overrides[]", "lr", NS_AXIS_LR),
    AXIS_LIST("overrides[]", "seed", NS_AXIS_SEED),
    AXIS_LIST("overrides[]", "batch", NS_AXIS_BATCH),
    AXIS_LIST("overrides[]", "momentum", NS_AXIS_MOMENTUM),
    AXIS_LIST("overrides[]", "weight_decay", NS_AXIS_WEIGHT_DECAY),
    AXIS_LIST("overrides[]", "init", NS_AXIS_INIT),
    {"overrides[]", "random_lr", NK_CUSTOM, 0, ITEM(ns_override, random_lo),
     .read = ns_read_override_range},
    {"overrides[].match", "arch", NK_TEXT, 0, .cap = 128, ITEM(ns_override, match_arch)},
    {"overrides[].match", "norm", NK_TEXT, 0, .cap = 64, ITEM(ns_override, match_norm)},

    /* ---- probes: one schedule key, then the measurements (each off unless given) */
    {"probes", "every", NK_INT, 0, RANGE(1, INT64_MAX), LIMIT, PROBE(every)},
    {"probes", "at", NK_CUSTOM, 0, .read = ns_read_probe_at},
    {"probes", "log_count", NK_INT32, 0, RANGE(1, NS_SPEC_MAX_PROBE_COUNT), PROBE(log_count)},
    {"probes", "eta", NK_SECTION, NK_NULL_OK, .on = offsetof(ns_spec, base.probe.landscape)},
    {"probes", "random_direction", NK_BOOL, 0, .def = "false", PROBE(random_direction)},
    {"probes", "ics", NK_SECTION, NK_NULL_OK, .on = offsetof(ns_spec, base.probe.ics)},
    {"probes", "activations", NK_SECTION, NK_NULL_OK, .hint = NULL},
    {"probes", "hessian", NK_SECTION, NK_NULL_OK, .on = offsetof(ns_spec, base.probe.hessian)},
    {"probes", "thm41", NK_BOOL, 0, .def = "false", PROBE(thm41)},
    {"probes", "curvature", NK_SECTION, NK_NULL_OK, .on = offsetof(ns_spec, base.probe.curv)},
    {"probes.eta", "relative", NK_CUSTOM, 0, .def = "[0.5, 4.0]", PROBE(eta_rel_lo),
     .read = ns_read_eta_relative},
    {"probes.eta", "count", NK_INT32, 0, RANGE(1, 64), .def = "8", PROBE(eta_count)},
    {"probes.ics", "layers", NK_CUSTOM, 0, .def = "all", .read = ns_read_ics_layers},
    {"probes.activations", "units", NK_INT32, NK_DEFAULT_IF_SET, RANGE(1, 4096), .def = "16",
     PROBE(act_units)},
    {"probes.activations", "quantiles", NK_CUSTOM, 0, .def = "[0.025, 0.16, 0.5, 0.84, 0.975]",
     .read = ns_read_quantiles},
    {"probes.hessian", "iters", NK_INT32, 0, RANGE(1, 10000), .def = "20", PROBE(hess_iters)},
    {"probes.hessian", "tol", NK_POSITIVE, 0, .def = "1e-3", PROBE(hess_tol)},
    {"probes.hessian", "trace_samples", NK_INT32, 0, RANGE(0, 10000), .def = "0",
     PROBE(hess_trace_samples)},
    {"probes.hessian", "mode", NK_ENUM, 0, .choices = "train|eval", .def = "train",
     PROBE(hess_mode)},
    /* exact curvature: Lanczos on Hessian-vector products (docs/measurements.md) */
    {"probes.curvature", "mode", NK_ENUM, 0, .choices = "train|eval|both", .def = "train",
     PROBE(curv_mode)},
    {"probes.curvature", "hvp", NK_ENUM, 0, .choices = "exact|fd", .def = "exact",
     PROBE(curv_hvp)},
    {"probes.curvature", "k", NK_INT32, 0, RANGE(1, NS_SPEC_MAX_CURV_K), .def = "3",
     PROBE(curv_k)},
    {"probes.curvature", "iters", NK_INT32, 0, RANGE(2, NS_SPEC_MAX_LANCZOS), .def = "20",
     PROBE(curv_steps)},
    {"probes.curvature", "tol", NK_POSITIVE, 0, .def = "1e-3", PROBE(curv_tol)},
    {"probes.curvature", "slq", NK_SECTION, NK_NULL_OK,
     .on = offsetof(ns_spec, base.probe.curv_slq)},
    {"probes.curvature", "hutchinson", NK_INT32, 0, RANGE(0, 10000), .def = "0",
     PROBE(curv_hutchinson)},
    {"probes.curvature", "layers", NK_SECTION, NK_NULL_OK,
     .on = offsetof(ns_spec, base.probe.curv_layers)},
    {"probes.curvature", "fd_check", NK_BOOL, 0, .def = "false", PROBE(curv_fd_check)},
    {"probes.curvature.slq", "n_v", NK_INT32, 0, RANGE(1, 256), .def = "2", PROBE(curv_slq_nv)},
    {"probes.curvature.slq", "m", NK_INT32, 0, RANGE(2, NS_SPEC_MAX_LANCZOS), .def = "30",
     PROBE(curv_slq_m)},
    {"probes.curvature.layers", "iters", NK_INT32, 0, RANGE(1, NS_SPEC_MAX_LANCZOS), .def = "10",
     PROBE(curv_layer_steps)},

    /* ---- checkpoint */
    {"checkpoint", "every", NK_INT, 0, RANGE(0, INT64_MAX), LIMIT, .def = "0", BASE(checkpoint_every)},
};
#define NKEYS ((int)(sizeof table / sizeof table[0]))

/* hess_mode stores the index of its choice: keep "train|eval" in ns_mode order */
_Static_assert(NS_MODE_TRAIN == 0 && NS_MODE_EVAL == 1, "probes.hessian.mode choices");
_Static_assert((int)NS_CURV_MODE_TRAIN == (int)NS_MODE_TRAIN && (int)NS_CURV_MODE_EVAL == (int)NS_MODE_EVAL &&
                   NS_CURV_MODE_BOTH == 2 && NS_CURV_HVP_FD == 1,
               "probes.curvature.mode / hvp choices");

const ns_key *ns_key_find(const char *section, const char *key)
{
    for (int i = 0; i < NKEYS; i++)
        if (!strcmp(table[i].section, section) && !strcmp(table[i].key, key)) return &table[i];
    return NULL;
}

const ns_key *ns_keys_all(int *n)
{
    *n = NKEYS;
    return table;
}

/* "where.key" (or "key" at the top level). */
static void key_path(char *buf, size_t cap, const char *where, const char *key)
{
    snprintf(buf, cap, "%s%s%s", where, *where ? "." : "", key);
}

static void *destination(const ns_reader *r, const ns_key *k)
{
    switch (k->dst) {
    case NK_SPEC: return (char *)r->s + k->off;
    case NK_PRIV: return (char *)r->s->priv + k->off;
    case NK_ITEM: return r->item ? (char *)r->item + k->off : NULL;
    case NK_NOWHERE: break;
    }
    return NULL;
}

/* ------------------------------------------------------------ keys of a mapping */
/* "did you mean": a near key of the same section, else a unique exact key
 * elsewhere (train.lr is a grid axis). */
static void unknown_key(const ny_ctx *c, const yaml_node_t *k, const char *section,
                        const char *label)
{
    const char *name = (const char *)k->data.scalar.value, *near = NULL;
    int best = 3;
    ns_sbuf list = {0};
    for (int i = 0; i < NKEYS; i++) {
        if (strcmp(table[i].section, section) || table[i].kind == NK_MISPLACED ||
            (table[i].flags & NK_DEPRECATED))
            continue;
        ns_sbuf_printf(&list, "%s%s", list.len ? ", " : "", table[i].key);
        int d = ns_edit_distance(table[i].key, name);
        if (d < best) best = d, near = table[i].key;
    }
    /* no near key here: the same key in exactly one other plain section */
    const ns_key *elsewhere = NULL;
    int nelsewhere = 0;
    for (int i = 0; !near && i < NKEYS; i++)
        if (strcmp(table[i].section, section) && !strcmp(table[i].key, name) &&
            !strpbrk(table[i].section, "[*") && table[i].kind != NK_MISPLACED &&
            !(table[i].flags & NK_DEPRECATED))
            elsewhere = &table[i], nelsewhere++;
    if (near)
        ns_errs_node(c->e, k, "%s: unknown key '%s' (did you mean '%s'?)", label, name, near);
    else if (nelsewhere == 1)
        ns_errs_node(c->e, k, "%s: unknown key '%s' (did you mean '%s%s%s'?)", label, name,
                     elsewhere->section, *elsewhere->section ? "." : "", name);
    else
        ns_errs_node(c->e, k, "%s: unknown key '%s' (expected one of: %s)", label, name,
                     list.p ? list.p : "");
    free(list.p);
}

static void misplaced_key(const ny_ctx *c, const yaml_node_t *k, const ns_key *row,
                          const char *label)
{
    ns_errs_node(c->e, k, "%s: unknown key '%s' (did you mean '%s'? %s)", label, row->key,
                 row->choices, row->hint);
}

/* Unknown keys (with "did you mean") and duplicate keys of mapping m. */
static void check_keys(const ny_ctx *c, const yaml_node_t *m, const char *section,
                       const char *label)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ny_node(c, p->key);
        if (!k || k->type != YAML_SCALAR_NODE) {
            ns_errs_node(c->e, k ? k : m, "%s: keys must be plain names, got %s", label,
                         ny_kind(k));
            continue;
        }
        const char *name = (const char *)k->data.scalar.value;
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = ny_node(c, q->key);
            if (k2 && k2->type == YAML_SCALAR_NODE &&
                !strcmp((const char *)k2->data.scalar.value, name)) {
                ns_errs_node(c->e, k, "%s: duplicate key '%s' (first at line %ld)", label, name,
                             ny_line(k2));
                break;
            }
        }
        const ns_key *row = ns_key_find(section, name);
        if (!row) unknown_key(c, k, section, label);
        else if (row->kind == NK_MISPLACED) misplaced_key(c, k, row, label);
    }
}

static void missing_key(const ny_ctx *c, const yaml_node_t *m, const ns_key *k, const char *where)
{
    const char *h = k->hint ? k->hint : "";
    if (!*where)
        ns_errs_node(c->e, m, "missing %s '%s'%s%s%s", k->kind == NK_SECTION ? "section" : "key",
                     k->key, *h ? " (" : "", h, *h ? ")" : "");
    else
        ns_errs_node(c->e, m, "%s: missing key '%s'%s%s%s", where, k->key, *h ? " (" : "", h,
                     *h ? ")" : "");
}

/* ------------------------------------------------------------ one value */
static void read_int(ns_reader *r, const ns_key *k, const yaml_node_t *n, const char *w, void *dst)
{
    int64_t v;
    if (!ny_int64(&r->c, n, w, &v)) return;
    if (v < k->lo || v > k->hi) {
        if (k->hi == INT64_MAX)
            ns_errs_node(r->c.e, n, "%s: must be >= %lld, got %lld", w, (long long)k->lo,
                         (long long)v);
        else
            ns_errs_node(r->c.e, n, "%s: must be in %lld..%lld, got %lld", w, (long long)k->lo,
                         (long long)k->hi, (long long)v);
        return;
    }
    if (k->limit && v > k->limit) {
        ns_errs_node(r->c.e, n, "%s: %lld is over the limit of %lld (see 'Limits' in "
                     "docs/sweep-format.md)", w, (long long)v, (long long)k->limit);
        return;
    }
    if (!dst) return;
    if (k->kind == NK_INT32) *(int *)dst = (int)v;
    else *(int64_t *)dst = v;
}

static void read_positive(ns_reader *r, const ns_key *k, const yaml_node_t *n, const char *w,
                          double *dst)
{
    double v;
    int inf_ok = (k->flags & NK_INF_OK) != 0;
    if (!ny_double(&r->c, n, w, &v)) return;
    if (!(v > 0) || (isinf(v) && !inf_ok)) {
        ns_errs_node(r->c.e, n, "%s: must be a %snumber > 0, got %s", w, inf_ok ? "" : "finite ",
                     ny_kind(n));
        return;
    }
    if (dst) *dst = v;
}

/* choices "a|b|c": index of the value, or an error naming them. */
static void read_enum(ns_reader *r, const ns_key *k, const yaml_node_t *n, const char *w, int *dst)
{
    char text[64];
    if (!ny_string(&r->c, n, w, text, sizeof text)) return;
    int idx = 0, nchoices = 1;
    for (const char *p = k->choices; *p; p++) nchoices += *p == '|';
    for (const char *p = k->choices; p; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (strlen(text) == len && !strncmp(text, p, len)) {
            if (dst) *dst = idx;
            return;
        }
        p = bar ? bar + 1 : NULL;
    }
    if (nchoices == 1) {
        ns_errs_node(r->c.e, n, "%s: only '%s' is supported, got %s", w, k->choices, ny_kind(n));
        return;
    }
    ns_sbuf b = {0};
    idx = 0;
    for (const char *p = k->choices; p; idx++) {
        const char *bar = strchr(p, '|');
        int len = bar ? (int)(bar - p) : (int)strlen(p);
        ns_sbuf_printf(&b, "%s%.*s", idx == 0 ? "" : idx == nchoices - 1 ? " or " : ", ", len, p);
        p = bar ? bar + 1 : NULL;
    }
    ns_errs_node(r->c.e, n, "%s: expected %s, got %s", w, b.p ? b.p : "", ny_kind(n));
    free(b.p);
}

/* Names end up in tables and messages: no control characters in them
 * (free text, e.g. a description, may hold newlines). */
static void read_text(ns_reader *r, const ns_key *k, const yaml_node_t *n, const char *w,
                      char *dst)
{
    char *buf = dst ? dst : malloc(k->cap);
    if (buf && ny_string(&r->c, n, w, buf, k->cap) && !(k->flags & NK_FREE_TEXT))
        for (const unsigned char *p = (const unsigned char *)buf; *p; p++)
            if (*p < 0x20 || *p == 0x7F) {
                ns_errs_node(r->c.e, n, "%s: control character \\x%02x in %s is not allowed", w,
                             *p, ny_kind(n));
                buf[0] = '\0';
                break;
            }
    if (!dst) free(buf);
}

/* One value of an axis into the field type of that axis. */
static void read_axis1(ns_reader *r, const ns_key *k, const yaml_node_t *n, const char *w,
                       void *dst)
{
    double v = 0;
    int64_t iv = 0;
    int a = (int)k->lo;
    int is_batch_ref = a == NS_AXIS_BATCH && !r->defaults && dst;
    if (!ns_axis_value(r, n, w, a, &v, &iv)) return;
    if (!dst) return;
    if (a == NS_AXIS_BATCH || a == NS_AXIS_INIT) *(int *)dst = (int)iv;
    else if (a == NS_AXIS_SEED) *(int64_t *)dst = iv;
    else *(double *)dst = v;
    if (is_batch_ref && r->nbatch < NS_READER_MAX_BATCH) {
        ns_batch_ref *b = &r->batch[r->nbatch++];
        *b = (ns_batch_ref){n, NULL, 0, (int *)dst, ""};
        snprintf(b->where, sizeof b->where, "%.47s", w);
    }
}

static void read_section_value(ns_reader *r, const ns_key *k, const yaml_node_t *n,
                               const char *w, void *dst);

static void read_value(ns_reader *r, const ns_key *k, const yaml_node_t *n, const char *w)
{
    void *dst = destination(r, k);
    switch (k->kind) {
    case NK_SECTION: read_section_value(r, k, n, w, dst); break;
    case NK_INT:
    case NK_INT32: read_int(r, k, n, w, dst); break;
    case NK_POSITIVE: read_positive(r, k, n, w, dst); break;
    case NK_BOOL: {
        int v;
        if (ny_bool(&r->c, n, w, &v) && dst) *(int *)dst = v;
        break;
    }
    case NK_TEXT: read_text(r, k, n, w, dst); break;
    case NK_ENUM: read_enum(r, k, n, w, dst); break;
    case NK_AXIS1: read_axis1(r, k, n, w, dst); break;
    case NK_AXIS: ns_numeric_axis(r, n, w, (int)k->lo, dst); break;
    case NK_CUSTOM: k->read(r, k, n, w, dst); break;
    case NK_MISPLACED: break; /* reported with the keys */
    }
}

static void apply_default(ns_reader *r, const ns_key *k, const char *where);

/* A nested mapping: "eta:" alone (NK_NULL_OK) means on, with defaults. */
static void read_section_value(ns_reader *r, const ns_key *k, const yaml_node_t *n,
                               const char *w, void *dst)
{
    char sub[64];
    if (k->choices) snprintf(sub, sizeof sub, "%s", k->choices);
    else snprintf(sub, sizeof sub, "%s%s%s", k->section, *k->section ? "." : "", k->key);
    if (k->on) *(int *)((char *)r->s + k->on) = 1;
    if ((k->flags & NK_NULL_OK) && ny_is_null(n)) {
        for (int i = 0; i < NKEYS; i++)
            if (!strcmp(table[i].section, sub) && (table[i].flags & NK_DEFAULT_IF_SET))
                apply_default(r, &table[i], w);
        return;
    }
    if (!ny_expect_map(&r->c, n, w)) return;
    const ns_key *parent = r->parent;
    r->parent = k;
    ns_read_section(r, sub, n, w, dst ? dst : r->item);
    r->parent = parent;
    if (k->read) k->read(r, k, n, w, dst);
}

void ns_read_section(ns_reader *r, const char *section, const yaml_node_t *m, const char *where,
                     void *item)
{
    void *saved = r->item;
    r->item = item;
    check_keys(&r->c, m, section, *where ? where : "sweep file");
    for (int i = 0; i < NKEYS; i++) {
        const ns_key *k = &table[i];
        if (strcmp(k->section, section) || k->kind == NK_MISPLACED) continue;
        char w[160];
        key_path(w, sizeof w, where, k->key);
        if (k->flags & NK_DEFAULT_IF_SET) apply_default(r, k, w);
        yaml_node_t *v = ny_get(&r->c, m, k->key);
        if (v) read_value(r, k, v, w);
        else if (k->flags & NK_REQUIRED) missing_key(&r->c, m, k, where);
    }
    r->item = saved;
}

/* ------------------------------------------------------------ defaults */
/* The default text is read like a value in a file, from its own small YAML
 * document; a default that does not read cleanly is a bug in the table. */
static void apply_default(ns_reader *r, const ns_key *k, const char *where)
{
    if (!k->def || (k->dst == NK_ITEM && !r->item)) return;
    yaml_parser_t p;
    yaml_document_t doc;
    int ok = yaml_parser_initialize(&p);
    NS_ASSERT(ok);
    yaml_parser_set_input_string(&p, (const unsigned char *)k->def, strlen(k->def));
    ok = yaml_parser_load(&p, &doc);
    NS_ASSERT(ok);
    ns_errs scratch = {.file = "<default>"};
    ny_ctx saved = r->c;
    r->c.doc = &doc;
    r->c.e = &scratch;
    r->defaults = 1;
    read_value(r, k, yaml_document_get_root_node(&doc), where);
    r->defaults = 0;
    r->c = saved;
    NS_ASSERT(scratch.n == 0 && !scratch.oom);
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
}

void ns_keys_defaults(ns_reader *r)
{
    for (int i = 0; i < NKEYS; i++) {
        const ns_key *k = &table[i];
        char w[160];
        key_path(w, sizeof w, k->section, k->key);
        if (k->dst != NK_ITEM && !(k->flags & NK_DEFAULT_IF_SET)) apply_default(r, k, w);
    }
}
