/* identity.c - which run a run is, whatever its index.
 *
 * A run's traces are a function of its settings alone (seed, lr, arch, norm,
 * data, train and probe settings; docs/sweep-format.md, "Run identity"): not
 * of its index, of the other runs, or of the ranks. So `run --extend` finds
 * the runs of an older file in an extended spec by these settings, and the
 * rows it copies are exactly what a fresh run of the extended spec writes.
 *
 * THE table below lists every field of ns_run_config that belongs to a run's
 * identity, with the name the sweep file gives it (for messages) and how to
 * print it. Left out: index (a position, not a setting) and checkpoint_every
 * (checkpoints do not change traces: resume is bitwise). A new field of
 * ns_run_config must get a row here: the size check below fails the build
 * until someone has decided.
 */
#include "sweep_internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* x86_64 / LP64. If this fires, a field was added to ns_run_config (or to
 * ns_probe_config / ns_lr_schedule): give it a row in `fields` (or say why it
 * does not shape a run's traces, like checkpoint_every), then update N. */
_Static_assert(sizeof(ns_run_config) == 3760,
               "ns_run_config changed: update the run identity table in src/sweep/identity.c");

typedef void (*put_fn)(ns_sbuf *b, const void *field);

typedef struct id_field {
    const char *key; /* the setting as the sweep file names it */
    put_fn put;
    size_t off;      /* offsetof(ns_run_config, ...)          */
    int per_run;     /* 1: a value the grid or search sets per run */
} id_field;

/* ------------------------------------------------------------ printers */

/* The shortest of %.15g / %.17g that reads back as the same double. */
static void put_num(ns_sbuf *b, double v)
{
    char t[40];
    snprintf(t, sizeof t, "%.15g", v);
    if (strtod(t, NULL) != v) snprintf(t, sizeof t, "%.17g", v);
    ns_sbuf_printf(b, "%s", t);
}

static void put_f64(ns_sbuf *b, const void *f) { put_num(b, *(const double *)f); }
static void put_int(ns_sbuf *b, const void *f) { ns_sbuf_printf(b, "%d", *(const int *)f); }
static void put_i64(ns_sbuf *b, const void *f) { ns_sbuf_printf(b, "%lld", (long long)*(const int64_t *)f); }
static void put_u64(ns_sbuf *b, const void *f)
{
    ns_sbuf_printf(b, "%llu", (unsigned long long)*(const uint64_t *)f);
}
/* raw: validation refuses control characters in names and data strings */
static void put_str(ns_sbuf *b, const void *f) { ns_sbuf_printf(b, "%s", (const char *)f); }
static void put_bool(ns_sbuf *b, const void *f) { ns_sbuf_printf(b, *(const int *)f ? "true" : "false"); }
static void put_init(ns_sbuf *b, const void *f)
{
    ns_sbuf_printf(b, "%s", *(const int *)f == NS_INIT_HE ? "he" : "glorot");
}
static void put_optim(ns_sbuf *b, const void *f)
{
    ns_sbuf_printf(b, "%s", ns_optim_name((ns_optim_kind) * (const int *)f));
}

static void put_schedule(ns_sbuf *b, const void *f)
{
    const ns_lr_schedule *s = f;
    ns_sbuf_printf(b, "{kind: %s, warmup: %lld, warmup_start: ", ns_lr_kind_name(s->kind),
                   (long long)s->warmup);
    put_num(b, s->warmup_start);
    ns_sbuf_printf(b, ", step_size: %lld, gamma: ", (long long)s->step_size);
    put_num(b, s->gamma);
    ns_sbuf_printf(b, ", min_factor: ");
    put_num(b, s->min_factor);
    ns_sbuf_printf(b, ", total: %lld}", (long long)s->total);
}

/* probes: the schedule key in effect ("every: 20", "at: [0, 5]", ...) */
static void put_probe_schedule(ns_sbuf *b, const void *f)
{
    const ns_probe_config *p = f;
    switch (p->sched) {
    case NS_SCHED_NONE: ns_sbuf_printf(b, "none"); return;
    case NS_SCHED_EVERY: ns_sbuf_printf(b, "every: %lld", (long long)p->every); return;
    case NS_SCHED_LOG: ns_sbuf_printf(b, "log_count: %d", p->log_count); return;
    case NS_SCHED_LIST: break;
    }
    ns_sbuf_printf(b, "at: [");
    for (int i = 0; i < p->nat && i < NS_SPEC_MAX_PROBE_STEPS; i++)
        ns_sbuf_printf(b, "%s%lld", i ? ", " : "", (long long)p->at[i]);
    ns_sbuf_printf(b, "]");
}

static void put_eta(ns_sbuf *b, const void *f)
{
    const ns_probe_config *p = f;
    if (!p->landscape) {
        ns_sbuf_printf(b, "off");
        return;
    }
    ns_sbuf_printf(b, "{relative: [");
    put_num(b, p->eta_rel_lo);
    ns_sbuf_printf(b, ", ");
    put_num(b, p->eta_rel_hi);
    ns_sbuf_printf(b, "], count: %d}", p->eta_count);
}

static void put_ics(ns_sbuf *b, const void *f)
{
    const ns_probe_config *p = f;
    if (!p->ics || p->ics_all) {
        ns_sbuf_printf(b, p->ics ? "{layers: all}" : "off");
        return;
    }
    ns_sbuf_printf(b, "{layers: [");
    for (int i = 0; i < p->ics_nlayers && i < NS_SPEC_MAX_LAYERS; i++)
        ns_sbuf_printf(b, "%s%d", i ? ", " : "", p->ics_layers[i]);
    ns_sbuf_printf(b, "]}");
}

static void put_activations(ns_sbuf *b, const void *f)
{
    const ns_probe_config *p = f;
    if (p->act_units <= 0) {
        ns_sbuf_printf(b, "off");
        return;
    }
    ns_sbuf_printf(b, "{units: %d, quantiles: [", p->act_units);
    for (int i = 0; i < p->act_nquantiles && i < NS_SPEC_MAX_QUANTILES; i++) {
        if (i) ns_sbuf_printf(b, ", ");
        put_num(b, p->act_quantiles[i]);
    }
    ns_sbuf_printf(b, "]}");
}

static void put_hessian(ns_sbuf *b, const void *f)
{
    const ns_probe_config *p = f;
    if (!p->hessian) {
        ns_sbuf_printf(b, "off");
        return;
    }
    ns_sbuf_printf(b, "{iters: %d, tol: ", p->hess_iters);
    put_num(b, p->hess_tol);
    ns_sbuf_printf(b, ", trace_samples: %d, mode: %s}", p->hess_trace_samples,
                   p->hess_mode == NS_MODE_EVAL ? "eval" : "train");
}

static void put_curvature(ns_sbuf *b, const void *f)
{
    static const char *const modes[] = {"train", "eval", "both"};
    const ns_probe_config *p = f;
    if (!p->curv) {
        ns_sbuf_printf(b, "off");
        return;
    }
    ns_sbuf_printf(b, "{mode: %s, hvp: %s, k: %d, iters: %d, tol: ",
                   p->curv_mode >= 0 && p->curv_mode < 3 ? modes[p->curv_mode] : "?",
                   p->curv_hvp == NS_CURV_HVP_FD ? "fd" : "exact", p->curv_k, p->curv_steps);
    put_num(b, p->curv_tol);
    ns_sbuf_printf(b, ", hutchinson: %d, fd_check: %s", p->curv_hutchinson,
                   p->curv_fd_check ? "true" : "false");
    if (p->curv_slq) ns_sbuf_printf(b, ", slq: {n_v: %d, m: %d}", p->curv_slq_nv, p->curv_slq_m);
    if (p->curv_layers) ns_sbuf_printf(b, ", layers: {iters: %d}", p->curv_layer_steps);
    ns_sbuf_printf(b, "}");
}

/* save_weights: the steps whose weights the file stores */
static void put_save(ns_sbuf *b, const void *f)
{
    const ns_run_config *c = f;
    ns_sbuf_printf(b, "[");
    for (int i = 0; i < c->nsave && i < NS_SPEC_MAX_SAVE_STEPS; i++)
        ns_sbuf_printf(b, "%s%lld", i ? ", " : "", (long long)c->save_at[i]);
    ns_sbuf_printf(b, "]");
}

/* ------------------------------------------------------------ the table */

#define AT(f) offsetof(ns_run_config, f)
#define PROBES AT(probe)

/* Sweep-wide settings first: a message about a changed setting names it
 * before it names an axis value that went missing because of it. */
static const id_field fields[] = {
    {"data", put_str, AT(data), 0},
    {"data_seed", put_u64, AT(data_seed), 0},
    {"train.steps", put_i64, AT(steps), 0},
    {"train.optimizer", put_optim, AT(optimizer), 0},
    {"train.beta1", put_f64, AT(beta1), 0},
    {"train.beta2", put_f64, AT(beta2), 0},
    {"train.eps", put_f64, AT(eps), 0},
    {"train.schedule", put_schedule, AT(schedule), 0},
    {"train.log_every", put_i64, AT(log_every), 0},
    {"train.eval_every", put_i64, AT(eval_every), 0},
    {"train.diverge_above", put_f64, AT(diverge_above), 0},
    {"probes (schedule)", put_probe_schedule, PROBES, 0},
    {"probes.eta", put_eta, PROBES, 0},
    {"probes.random_direction", put_bool, AT(probe.random_direction), 0},
    {"probes.ics", put_ics, PROBES, 0},
    {"probes.activations", put_activations, PROBES, 0},
    {"probes.hessian", put_hessian, PROBES, 0},
    {"probes.thm41", put_bool, AT(probe.thm41), 0},
    {"probes.curvature", put_curvature, PROBES, 0},
    {"save_weights.at", put_save, 0, 0},
    {"arch", put_str, AT(arch), 1},
    {"norm", put_str, AT(norm), 1},
    {"lr", put_f64, AT(lr), 1},
    {"batch", put_int, AT(batch), 1},
    {"momentum", put_f64, AT(momentum), 1},
    {"weight_decay", put_f64, AT(weight_decay), 1},
    {"init", put_init, AT(init), 1},
    {"seed", put_u64, AT(seed), 1},
    {"random_sample", put_int, AT(random_sample), 1},
};
#define NFIELDS ((int)(sizeof fields / sizeof fields[0]))

static void put_field(ns_sbuf *b, const ns_run_config *c, int f)
{
    b->len = 0;
    ns_sbuf_printf(b, "%s", ""); /* allocated even for an empty text */
    fields[f].put(b, (const char *)c + fields[f].off);
}

/* Both texts of field f; 1 if they are equal (out of memory: unequal). */
static int field_same(ns_sbuf *x, ns_sbuf *y, const ns_run_config *a, const ns_run_config *b,
                      int f)
{
    put_field(x, a, f);
    put_field(y, b, f);
    return !x->oom && !y->oom && x->p && y->p && strcmp(x->p, y->p) == 0;
}

/* Index of the first field in which a and b differ, or -1. */
static int first_difference(const ns_run_config *a, const ns_run_config *b, int *nsame)
{
    ns_sbuf x = {0}, y = {0};
    int first = -1, same = 0;
    for (int f = 0; f < NFIELDS; f++) {
        if (field_same(&x, &y, a, b, f)) same++;
        else if (first < 0) first = f;
    }
    free(x.p);
    free(y.p);
    if (nsame) *nsame = same;
    return first;
}

int ns_run_same(const ns_run_config *a, const ns_run_config *b, char *key, size_t cap)
{
    int f = first_difference(a, b, NULL);
    if (key && cap) snprintf(key, cap, "%s", f >= 0 ? fields[f].key : "");
    return f < 0;
}

/* ------------------------------------------------------------ matching */

/* FNV-1a over every identity field of c (for sorting; equal runs hash equal). */
static uint64_t identity_hash(const ns_run_config *c, ns_sbuf *b)
{
    uint64_t h = 1469598103934665603ull;
    for (int f = 0; f < NFIELDS; f++) {
        put_field(b, c, f);
        for (size_t i = 0; b->p && i < b->len; i++) {
            h ^= (unsigned char)b->p[i];
            h *= 1099511628211ull;
        }
        h ^= 0x1f; /* field separator */
        h *= 1099511628211ull;
    }
    return h;
}

typedef struct keyed {
    uint64_t hash;
    int run;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->hash != y->hash) return x->hash < y->hash ? -1 : 1;
    return (x->run > y->run) - (x->run < y->run);
}

/* "lr=0.1 arch=mlp:16-3 norm=batch seed=1" (+ "random_sample=k" for a search run). */
static void describe(ns_sbuf *b, const ns_run_config *c)
{
    ns_sbuf_printf(b, "lr=");
    put_num(b, c->lr);
    ns_sbuf_printf(b, " arch=");
    ns_sbuf_printf(b, "%s norm=%s", c->arch, c->norm);
    ns_sbuf_printf(b, " seed=%llu", (unsigned long long)c->seed);
    if (c->random_sample >= 0) ns_sbuf_printf(b, " random_sample=%d", c->random_sample);
}

/* Run r of old has no twin in ext: name the setting in which the nearest run
 * of ext differs - the one with most equal fields and, among those, the one
 * that differs latest in the table (it keeps arch and norm, say, and shows
 * that an override changed the lr list: more telling than another norm). */
static ns_status explain_missing(const ns_spec *old, const char *old_name, int r,
                                 const ns_spec *ext, const char *ext_name)
{
    const ns_run_config *a = &old->runs[r];
    int best = 0, best_same = -1, f = -1;
    for (int j = 0; j < ext->nruns; j++) {
        int same = 0, d = first_difference(a, &ext->runs[j], &same);
        if (same > best_same || (same == best_same && d > f)) best = j, best_same = same, f = d;
    }
    if (f < 0) /* equal to a run of ext that an equal run of old took */
        return ns_error_set(NS_ERR_ARG, "%s: run %d is a second copy of an earlier run", old_name, r);
    ns_sbuf run = {0}, va = {0}, vb = {0};
    describe(&run, a);
    put_field(&va, a, f);
    put_field(&vb, &ext->runs[best], f);
    ns_status st;
    if (!fields[f].per_run)
        st = ns_error_set(NS_ERR_ARG, "%s has %s = %s, %s gives %s: --extend adds runs, it never "
                          "changes a run of the file (its run %d: %s)", old_name, fields[f].key,
                          va.p ? va.p : "?", ext_name, vb.p ? vb.p : "?", r,
                          run.p ? run.p : "?");
    else
        st = ns_error_set(NS_ERR_ARG, "%s drops run %d of %s (%s): its nearest run has %s %s "
                          "instead of %s; --extend adds grid values, it never removes one",
                          ext_name, r, old_name, run.p ? run.p : "?", fields[f].key,
                          vb.p ? vb.p : "?", va.p ? va.p : "?");
    free(run.p);
    free(va.p);
    free(vb.p);
    return st;
}

/* old_of_new[j] = i for the run i of old equal to ext's run j, else -1;
 * *missing = the first run of old with no twin, or -1. */
static ns_status match(const ns_spec *old, const ns_spec *ext, const keyed *k, int *old_of_new,
                       int *missing)
{
    ns_sbuf b = {0};
    *missing = -1;
    for (int j = 0; j < ext->nruns; j++) old_of_new[j] = -1;
    for (int i = 0; i < old->nruns && *missing < 0; i++) {
        keyed want = {identity_hash(&old->runs[i], &b), -1};
        size_t lo = 0, hi = (size_t)ext->nruns; /* first entry with hash >= want */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (k[mid].hash < want.hash) lo = mid + 1;
            else hi = mid;
        }
        int found = 0;
        for (size_t m = lo; m < (size_t)ext->nruns && k[m].hash == want.hash && !found; m++)
            if (old_of_new[k[m].run] < 0 && first_difference(&old->runs[i], &ext->runs[k[m].run], NULL) < 0) {
                old_of_new[k[m].run] = i;
                found = 1;
            }
        if (!found) *missing = i;
    }
    int oom = b.oom;
    free(b.p);
    NS_CHECK(!oom, NS_ERR_NOMEM, "out of memory matching the runs of two sweeps");
    return NS_OK;
}

ns_status ns_spec_match_runs(const ns_spec *old, const char *old_name, const ns_spec *ext,
                             const char *ext_name, int *old_of_new)
{
    keyed *k = malloc(sizeof *k * (size_t)(ext->nruns > 0 ? ext->nruns : 1));
    NS_CHECK(k, NS_ERR_NOMEM, "out of memory matching the runs of two sweeps");
    ns_sbuf b = {0};
    for (int j = 0; j < ext->nruns; j++) k[j] = (keyed){identity_hash(&ext->runs[j], &b), j};
    free(b.p);
    qsort(k, (size_t)ext->nruns, sizeof *k, keyed_cmp);
    int missing = -1;
    ns_status st = match(old, ext, k, old_of_new, &missing);
    free(k);
    if (st == NS_OK && missing >= 0) st = explain_missing(old, old_name, missing, ext, ext_name);
    return st;
}
