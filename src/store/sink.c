/* sink.c - the per-run sink: one run's records into its rows of the results
 * file. Which variables it writes, from which record field, over which dims:
 * all from the schema table (schema.c). A run writes exactly the variables
 * the file has, each over the run's own extents (a run with fewer layers
 * than the sweep's largest leaves the rest of its row at the fill value).
 * Independent I/O only: any rank, any time. */
#include "results_internal.h"

#include "normsweep/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ buffered traces */

/* Per-step records of a run (every schema variable of one source, e.g. the
 * logged steps), kept in memory and written to their (run, i) rows in one box
 * per variable when the run syncs: column-major, one column per variable. */
enum { TRACE_MAXVARS = 8 };
typedef struct trace_buf {
    const ns_var_def *vars[TRACE_MAXVARS];
    int nvars;
    int64_t n;      /* rows (log or eval indices)        */
    double *col;    /* [nvars][n]                        */
    int64_t lo, hi; /* rows recorded but not written yet */
} trace_buf;

static ns_status trace_alloc(trace_buf *t, const ns_results *r, ns_src src, ns_dim_id dim)
{
    memset(t, 0, sizeof *t);
    t->lo = t->hi = -1;
    for (int i = 0; i < ns_schema_nvars; i++) {
        const ns_var_def *v = &ns_schema_vars[i];
        if (v->src != src || !ns_schema_has_var(&r->sw, v)) continue;
        NS_CHECK(t->nvars < TRACE_MAXVARS && v->field == NS_F_F64, NS_ERR_INTERNAL,
                 "results: trace variable '%s' is not a double or one too many", v->name);
        t->vars[t->nvars++] = v;
    }
    t->n = r->sw.size[dim] > 0 ? (int64_t)r->sw.size[dim] : 1;
    t->col = malloc((size_t)t->n * (size_t)(t->nvars > 0 ? t->nvars : 1) * sizeof(double));
    NS_CHECK(t->col, NS_ERR_NOMEM, "out of memory for a run's traces");
    return NS_OK;
}

static void trace_record(trace_buf *t, int64_t i, const void *rec)
{
    if (i < 0 || i >= t->n) return;
    for (int v = 0; v < t->nvars; v++)
        memcpy(&t->col[v * t->n + i], (const char *)rec + t->vars[v]->off, sizeof(double));
    if (t->lo < 0) t->lo = i;
    t->hi = i + 1;
}

static ns_status trace_flush(trace_buf *t, ns_h5 *h, int run)
{
    if (t->lo < 0 || t->hi <= t->lo) return NS_OK;
    size_t start[2] = {(size_t)run, (size_t)t->lo}, count[2] = {1, (size_t)(t->hi - t->lo)};
    for (int v = 0; v < t->nvars; v++)
        NS_TRY(ns_h5_write_box(h, t->vars[v]->name, start, count, t->col + v * t->n + t->lo));
    t->lo = t->hi = -1;
    return NS_OK;
}

/* ------------------------------------------------------------ the sink */

typedef struct sink_ctx {
    ns_results *r;
    int run, rank;
    ns_run_dims d;          /* this run's dims                      */
    size_t ext[NS_D_COUNT]; /* this run's extent along each dim     */
    trace_buf steps, evals; /* logged steps, evaluations            */
} sink_ctx;

/* The box of v for this run: start (run, lead, 0...), count (1, 1 if lead >= 0,
 * then this run's extents). Returns the number of cells. */
static size_t run_box(const sink_ctx *s, const ns_var_def *v, int64_t lead, size_t *start,
                      size_t *count)
{
    ns_dim_id ids[NS_H5_MAX_DIMS];
    int nd = ns_schema_var_dims(v, ids), k0 = 1;
    start[0] = (size_t)s->run;
    count[0] = 1;
    if (lead >= 0) {
        start[1] = (size_t)lead;
        count[1] = 1;
        k0 = 2;
    }
    size_t cells = 1;
    for (int k = k0; k < nd; k++) {
        start[k] = 0;
        count[k] = s->ext[ids[k]];
        cells *= count[k];
    }
    return cells;
}

/* Write variable v for this run (at index `lead` of its second dim, or all of
 * it if lead < 0) from the record rec, as its schema field says. */
static ns_status write_field(sink_ctx *s, const ns_var_def *v, int64_t lead, const void *rec)
{
    size_t start[NS_H5_MAX_DIMS], count[NS_H5_MAX_DIMS];
    size_t cells = run_box(s, v, lead, start, count);
    const void *field = (const char *)rec + v->off;
    if (cells == 0) return NS_OK;
    if (v->field == NS_F_F64S) {
        const double *p = *(const double *const *)field;
        return p ? ns_h5_write_box(s->r->h, v->name, start, count, p) : NS_OK;
    }
    size_t esz = ns_h5_type_size(v->type, v->str_len);
    unsigned char *buf = calloc(cells, esz);
    NS_CHECK(buf, NS_ERR_NOMEM, "out of memory writing '%s' of run %d", v->name, s->run);
    ns_status st = NS_OK;
    if (v->field == NS_F_INTS) {
        const int *p = *(const int *const *)field;
        for (size_t i = 0; p && i < cells; i++) ((int32_t *)(void *)buf)[i] = p[i];
        if (!p) cells = 0;
    } else if (v->field == NS_F_STRS) {
        const char *const *p = *(const char *const *const *)field;
        ns_var_def one = *v;
        one.field = NS_F_CHARS;
        one.off = 0;
        for (size_t i = 0; p && i < cells && st == NS_OK; i++)
            st = ns_schema_encode(&one, p[i], buf + i * esz);
        if (!p) cells = 0;
    } else {
        st = ns_schema_encode(v, rec, buf); /* a scalar: cells == 1 */
    }
    if (st == NS_OK && cells > 0) st = ns_h5_write_box(s->r->h, v->name, start, count, buf);
    free(buf);
    return st;
}

/* Every variable of source src the file has, from rec. */
static ns_status write_source(sink_ctx *s, ns_src src, int64_t lead, const void *rec)
{
    for (int i = 0; i < ns_schema_nvars; i++) {
        const ns_var_def *v = &ns_schema_vars[i];
        if (v->src == src && ns_schema_has_var(&s->r->sw, v))
            NS_TRY(write_field(s, v, lead, rec));
    }
    return NS_OK;
}

static ns_status sink_begin(void *ctx, const ns_run_config *cfg, const ns_run_meta *m)
{
    sink_ctx *s = ctx;
    (void)cfg;
    s->d = *m->dims;
    ns_schema_run_extents(&s->d, 0, 0, s->ext);
    NS_TRY(write_source(s, NS_SRC_META, -1, m));
    NS_TRY(write_source(s, NS_SRC_DIMS, -1, &s->d));
    return ns_results_write_status(s->r, s->run, s->rank, NS_RUN_RUNNING, "");
}

static ns_status sink_step(void *ctx, const ns_step_rec *rec)
{
    sink_ctx *s = ctx;
    trace_record(&s->steps, rec->index, rec);
    return NS_OK;
}

static ns_status sink_eval(void *ctx, const ns_eval_rec *rec)
{
    sink_ctx *s = ctx;
    trace_record(&s->evals, rec->index, rec);
    return NS_OK;
}

static ns_status sink_sync(void *ctx)
{
    sink_ctx *s = ctx;
    NS_TRY(trace_flush(&s->steps, s->r->h, s->run));
    return trace_flush(&s->evals, s->r->h, s->run);
}

static ns_status sink_probe(void *ctx, const ns_probe_rec *p)
{
    sink_ctx *s = ctx;
    return write_source(s, NS_SRC_PROBE, p->index, p);
}

/* The tensor table of a run: names, offsets, shapes of every named tensor. */
static ns_status write_tensor_table(sink_ctx *s, const ns_net *net, int nt)
{
    const size_t L = NS_RESULTS_NAME_LEN;
    char *names = calloc((size_t)nt, L);
    int64_t *off = calloc((size_t)nt, sizeof *off);
    int32_t *shape = calloc((size_t)nt * 4, sizeof *shape);
    ns_status st = names && off && shape ? NS_OK : ns_error_set(NS_ERR_NOMEM, "out of memory");
    const ns_var_def *name_var = &ns_schema_vars[ns_schema_find("tensor_name")];
    for (int k = 0; k < nt && st == NS_OK; k++) {
        ns_tensor_ref t;
        st = ns_net_tensor(net, k, &t);
        ns_var_def one = *name_var;
        one.field = NS_F_CHARS;
        one.off = 0;
        if (st == NS_OK) st = ns_schema_encode(&one, t.name, names + (size_t)k * L);
        off[k] = (int64_t)t.offset;
        for (int a = 0; a < 4; a++) shape[4 * k + a] = a < t.ndim ? t.dims[a] : -1;
    }
    size_t st2[3] = {(size_t)s->run, 0, 0}, c2[3] = {1, (size_t)nt, 4};
    if (st == NS_OK && nt > 0) st = ns_h5_write_box(s->r->h, "tensor_name", st2, c2, names);
    if (st == NS_OK && nt > 0) st = ns_h5_write_box(s->r->h, "tensor_offset", st2, c2, off);
    if (st == NS_OK && nt > 0) st = ns_h5_write_box(s->r->h, "tensor_shape", st2, c2, shape);
    free(names);
    free(off);
    free(shape);
    return st;
}

/* The net's parameters then state (the flat layout the tensor table indexes)
 * into var's row of this run: (run, 0..n) for weights, (run, lead, 0..n) for
 * saved_weights. */
static ns_status write_flat(sink_ctx *s, const ns_net *net, const char *var, int64_t lead)
{
    const size_t n = net->nparams + net->nstate, nw = s->r->sw.size[NS_D_WEIGHT];
    NS_CHECK(n <= nw, NS_ERR_INTERNAL, "run %d: %zu weights, the layout has room for %zu",
             s->run, n, nw);
    float *flat = malloc((n ? n : 1) * sizeof *flat);
    NS_CHECK(flat, NS_ERR_NOMEM, "out of memory");
    memcpy(flat, net->params, net->nparams * sizeof *flat);
    memcpy(flat + net->nparams, net->state, net->nstate * sizeof *flat);
    size_t start[3] = {(size_t)s->run, (size_t)lead, 0}, count[3] = {1, 1, n};
    if (lead < 0) start[1] = 0, count[1] = n;
    ns_status st = ns_h5_write_box(s->r->h, var, start, count, flat);
    free(flat);
    return st;
}

static ns_status sink_weights(void *ctx, const ns_net *net)
{
    sink_ctx *s = ctx;
    const int nt = ns_net_ntensors(net);
    const size_t ntab = s->r->sw.size[NS_D_TENSOR];
    NS_CHECK((size_t)nt <= ntab, NS_ERR_INTERNAL,
             "run %d: %d weight tensors, the layout has room for %zu", s->run, nt, ntab);
    NS_TRY(write_flat(s, net, "weights", -1));
    return write_tensor_table(s, net, nt);
}

/* The weights at save step `step`, the index-th of the sweep's save steps. */
static ns_status sink_save(void *ctx, int index, int64_t step, const ns_net *net)
{
    sink_ctx *s = ctx;
    const ns_run_config *c = s->r->sw.settings;
    NS_CHECK(index >= 0 && index < c->nsave && c->save_at[index] == step, NS_ERR_INTERNAL,
             "run %d: weights of step %lld as save %d; the file's save steps differ", s->run,
             (long long)step, index);
    return write_flat(s, net, "saved_weights", index);
}

static ns_status sink_end(void *ctx, const ns_run_result *res)
{
    sink_ctx *s = ctx;
    NS_TRY(sink_sync(ctx));
    NS_TRY(write_source(s, NS_SRC_END, -1, res));
    /* status last: a reader that sees "done" sees everything else too */
    return ns_results_write_status(s->r, s->run, s->rank, res->status, res->message);
}

ns_status ns_results_sink_new(ns_results *r, int run, int rank, ns_run_sink *sink)
{
    memset(sink, 0, sizeof *sink);
    sink_ctx *s = calloc(1, sizeof *s);
    NS_CHECK(s, NS_ERR_NOMEM, "out of memory");
    s->r = r;
    s->run = run;
    s->rank = rank;
    sink->ctx = s; /* from here on ns_results_sink_free cleans up */
    ns_status st = trace_alloc(&s->steps, r, NS_SRC_STEP, NS_D_STEP);
    if (st == NS_OK) st = trace_alloc(&s->evals, r, NS_SRC_EVAL, NS_D_EVAL);
    if (st != NS_OK) {
        ns_results_sink_free(sink);
        return st;
    }
    sink->begin = sink_begin;
    sink->step = sink_step;
    sink->eval = sink_eval;
    sink->probe = sink_probe;
    sink->sync = sink_sync;
    sink->weights = sink_weights;
    sink->save = sink_save;
    sink->end = sink_end;
    return NS_OK;
}

void ns_results_sink_free(ns_run_sink *sink)
{
    sink_ctx *s = sink->ctx;
    if (s) {
        free(s->steps.col);
        free(s->evals.col);
        free(s);
    }
    memset(sink, 0, sizeof *sink);
}
