/* results.c - the results file of a sweep (docs/hdf5-schema.md): its layout,
 * made from the schema table (schema.c), the run-table settings written at
 * creation, and the checks made when a file is reopened. The per-run writes
 * are in sink.c. Only h5store.h is used here; no HDF5 calls. */
#include "results_internal.h"

#include "collective.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------ layout */

/* The dims and vars of a layout, pointing into the schema tables and into
 * coordinate and initial-value buffers owned here. */
typedef struct layout_buf {
    ns_h5_dim dims[NS_D_COUNT];
    int ndims;
    ns_h5_var *vars; /* [ns_schema_nvars] */
    int nvars;
    void *coords[NS_D_COUNT];
    void **inits; /* [ns_schema_nvars]: each run-table setting column, and status */
} layout_buf;

static void layout_free(layout_buf *b)
{
    for (int d = 0; d < NS_D_COUNT; d++) free(b->coords[d]);
    for (int i = 0; b->inits && i < ns_schema_nvars; i++) free(b->inits[i]);
    free(b->inits);
    free(b->vars);
}

/* The values of a run-table column known when the file is made: a setting of
 * every run (from the spec), or every status "pending". Written at creation by
 * rank 0 (h5store: `init`), which is also the only way parallel HDF5 lets the
 * variable-length strings in. String cells point into the spec. */
static ns_status initial_column(const ns_var_def *v, const ns_spec *s, void **out)
{
    size_t n = (size_t)s->nruns, esz = ns_h5_type_size(v->type, v->str_len);
    unsigned char *col = calloc(n, esz);
    NS_CHECK(col, NS_ERR_NOMEM, "out of memory for the run-table column '%s'", v->name);
    ns_status st = NS_OK;
    for (size_t i = 0; i < n && st == NS_OK; i++) {
        if (v->src == NS_SRC_CONFIG) st = ns_schema_encode(v, &s->runs[i], col + i * esz);
        else memcpy(col + i * esz, "pending", 7); /* status: a fixed-length cell */
    }
    if (st != NS_OK) {
        free(col);
        return st;
    }
    *out = col;
    return NS_OK;
}

/* Every dim and var the schema says exists for this sweep, in table order. */
static ns_status layout_make(const ns_schema_sweep *sw, const ns_spec *spec, layout_buf *b)
{
    memset(b, 0, sizeof *b);
    b->vars = calloc((size_t)ns_schema_nvars, sizeof *b->vars);
    b->inits = calloc((size_t)ns_schema_nvars, sizeof *b->inits);
    NS_CHECK(b->vars && b->inits, NS_ERR_NOMEM, "out of memory laying out the results file");
    for (int d = 0; d < NS_D_COUNT; d++) {
        if (!ns_schema_has_dim(sw, (ns_dim_id)d)) continue;
        const ns_dim_def *D = &ns_schema_dims[d];
        if (D->coord != NS_COORD_NONE) {
            b->coords[d] = malloc(sw->size[d] * ns_h5_type_size(D->type, 0));
            NS_CHECK(b->coords[d], NS_ERR_NOMEM, "out of memory for the coordinates of '%s'",
                     D->name);
            NS_TRY(ns_schema_coords(sw, (ns_dim_id)d, b->coords[d]));
        }
        b->dims[b->ndims++] = (ns_h5_dim){D->name, sw->size[d], D->type, b->coords[d], 0,
                                          D->units, D->long_name};
    }
    for (int i = 0; i < ns_schema_nvars; i++) {
        const ns_var_def *v = &ns_schema_vars[i];
        if (!ns_schema_has_var(sw, v)) continue;
        ns_h5_var *V = &b->vars[b->nvars++];
        ns_dim_id ids[NS_H5_MAX_DIMS];
        V->name = v->name;
        V->type = v->type;
        V->str_len = v->str_len;
        V->ndims = ns_schema_var_dims(v, ids);
        for (int k = 0; k < V->ndims; k++) V->dims[k] = ns_schema_dims[ids[k]].name;
        V->units = v->units;
        V->long_name = v->long_name;
        V->coordinates = ns_schema_coordinates_of(sw, v);
        if (v->src == NS_SRC_CONFIG || strcmp(v->name, "status") == 0) {
            NS_TRY(initial_column(v, spec, &b->inits[i]));
            V->init = b->inits[i];
        }
    }
    return NS_OK;
}

/* ------------------------------------------------------------ create */

static char *fmt_floats(const float *v, int n)
{
    char *out = malloc((size_t)n * 32 + 3);
    if (!out) return NULL;
    char *p = out;
    p += sprintf(p, "[");
    for (int i = 0; i < n; i++) p += sprintf(p, "%s%.9g", i ? ", " : "", v ? (double)v[i] : NAN);
    sprintf(p, "]");
    return out;
}

/* Root attributes. The environment ones enter the collective create (and its
 * layout checksum) but may differ between ranks - a clock, a BLAS kernel or a
 * thread count on another node - so every rank uses rank 0's (row 7 of issue
 * 17: time() per rank made starts fail at random). */
enum { ENV_VERSION, ENV_GIT, ENV_HDF5, ENV_MPI, ENV_KERNEL, ENV_THREADS, ENV_CREATED, ENV_COUNT };
typedef struct root_attrs {
    char *canon, *mean, *std;
    char env[ENV_COUNT][256];
} root_attrs;

/* This rank's values (no MPI). */
static ns_status root_attrs_make(const ns_spec *spec, const ns_results_meta *meta, root_attrs *a)
{
    memset(a, 0, sizeof *a);
    a->canon = ns_spec_canonical(spec);
    a->mean = fmt_floats(meta ? meta->data_mean : NULL, spec->in_shape.c);
    a->std = fmt_floats(meta ? meta->data_std : NULL, spec->in_shape.c);
    NS_CHECK(a->canon && a->mean && a->std, NS_ERR_NOMEM, "out of memory");
#define M(f) (meta && meta->f ? meta->f : "unknown")
    const char *text[ENV_KERNEL + 1] = {M(normsweep_version), M(git_commit), M(hdf5_version),
                                        M(mpi_version), M(blas_kernel)};
#undef M
    for (int i = 0; i <= ENV_KERNEL; i++) snprintf(a->env[i], sizeof a->env[i], "%s", text[i]);
    snprintf(a->env[ENV_THREADS], sizeof a->env[ENV_THREADS], "%d", meta ? meta->blas_threads : 0);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(a->env[ENV_CREATED], sizeof a->env[ENV_CREATED], "%Y-%m-%dT%H:%M:%SZ", &tm);
    return NS_OK;
}

/* Rank 0's environment values and data statistics on every rank. */
static ns_status root_attrs_share(MPI_Comm comm, const char *path, root_attrs *a)
{
    NS_TRY(ns_coll_bcast_text(comm, path, &a->env[0][0], (int)sizeof a->env));
    NS_TRY(ns_coll_bcast_str(comm, path, &a->mean));
    return ns_coll_bcast_str(comm, path, &a->std);
}

static void root_attrs_free(root_attrs *a)
{
    free(a->canon);
    free(a->mean);
    free(a->std);
}

static ns_status create_file(const char *path, MPI_Comm comm, const ns_spec *spec,
                             const layout_buf *b, const root_attrs *a, ns_h5 **h)
{
    const char *names[] = {"Conventions", "title", "schema", "schema_version",
                           "normsweep_version", "git_commit",
                           "hdf5_version", "mpi_version", "blas_kernel", "blas_threads",
                           "spec_name", "spec_text", "spec_canonical", "data",
                           "data_mean", "data_std", "created_utc"};
    const char *values[] = {"CF-1.8", "normsweep results", "normsweep", NS_SCHEMA_VERSION,
                            a->env[ENV_VERSION],
                            a->env[ENV_GIT], a->env[ENV_HDF5], a->env[ENV_MPI],
                            a->env[ENV_KERNEL], a->env[ENV_THREADS], spec->name,
                            spec->text ? spec->text : "", a->canon, spec->data, a->mean, a->std,
                            a->env[ENV_CREATED]};
    ns_h5_layout L = {b->dims, b->ndims, b->vars, b->nvars, names, values,
                      (int)(sizeof names / sizeof names[0])};
    return ns_h5_create(path, comm, &L, h);
}

ns_status ns_results_create(const char *path, MPI_Comm comm, const ns_spec *spec,
                            const ns_results_meta *meta, ns_results **out)
{
    *out = NULL;
    int rank = 0; /* a communicator MPI cannot use fails here, before anything is made */
    NS_TRY(ns_coll_rank(comm, path, &rank));
    ns_results *r = calloc(1, sizeof *r);
    layout_buf b;
    root_attrs a;
    memset(&b, 0, sizeof b);
    memset(&a, 0, sizeof a);
    ns_status st = r ? NS_OK : ns_error_set(NS_ERR_NOMEM, "out of memory");
    if (st == NS_OK) {
        r->spec = spec;
        st = ns_schema_sweep_of(spec, &r->sw);
    }
    if (st == NS_OK) st = layout_make(&r->sw, spec, &b);
    if (st == NS_OK) st = root_attrs_make(spec, meta, &a);
    /* ns_h5_create is collective: enter it only if every rank got here */
    st = ns_coll_agree(comm, path, st);
    if (st == NS_OK) st = root_attrs_share(comm, path, &a);
    if (st == NS_OK) st = create_file(path, comm, spec, &b, &a, &r->h);
    layout_free(&b);
    root_attrs_free(&a);
    if (st != NS_OK) {
        if (r && r->h) ns_h5_close(r->h);
        free(r);
        return st;
    }
    *out = r;
    return NS_OK;
}

/* ------------------------------------------------------------ open */

ns_status ns_results_open(const char *path, MPI_Comm comm, const ns_spec *spec, ns_results **out)
{
    *out = NULL;
    int rank = 0;
    NS_TRY(ns_coll_rank(comm, path, &rank));
    /* Nothing collective touches the file before rank 0 has checked it, read-only
     * and in a separate process: a damaged file is a message on every rank, never
     * a crash, a hang in a collective open, or a file modified by the attempt. */
    NS_TRY(ns_coll_from_root(comm, path, rank == 0 ? ns_results_check(path, spec, NS_RESULTS_SAME_SPEC) : NS_OK));
    ns_results *r = calloc(1, sizeof *r);
    ns_status st = r ? NS_OK : ns_error_set(NS_ERR_NOMEM, "out of memory");
    if (st == NS_OK) {
        r->spec = spec;
        st = ns_schema_sweep_of(spec, &r->sw); /* the sizes, for the sinks */
    }
    st = ns_coll_agree(comm, path, st);
    if (st == NS_OK) st = ns_coll_agree(comm, path, ns_h5_open(path, comm, 1, &r->h));
    if (st != NS_OK) {
        if (r && r->h) ns_h5_close(r->h);
        free(r);
        return st;
    }
    *out = r;
    return NS_OK;
}

ns_status ns_results_close(ns_results *r)
{
    if (!r) return NS_OK;
    ns_status st = ns_h5_close(r->h);
    free(r);
    return st;
}

/* ------------------------------------------------------------ status */

ns_status ns_results_status_in(ns_h5 *h, size_t run, ns_run_status *status)
{
    char buf[NS_RESULTS_STATUS_LEN + 1] = {0}; /* a full cell has no terminator */
    NS_TRY(ns_h5_read_rows(h, "status", run, 1, buf));
    *status = ns_run_status_parse(buf);
    return NS_OK;
}

ns_status ns_results_run_status(ns_results *r, int run, ns_run_status *status)
{
    return ns_results_status_in(r->h, (size_t)run, status);
}

ns_status ns_results_write_status(ns_results *r, int run, int rank, ns_run_status st,
                                  const char *message)
{
    size_t idx[1] = {(size_t)run};
    int32_t rk = rank;
    NS_TRY(ns_h5_write_str(r->h, "status", idx, ns_run_status_name(st)));
    NS_TRY(ns_h5_write_rows(r->h, "rank", (size_t)run, 1, &rk));
    if (message) {
        char msg[NS_RESULTS_MSG_LEN];
        snprintf(msg, sizeof msg, "%s", message); /* a cell holds NS_RESULTS_MSG_LEN bytes */
        NS_TRY(ns_h5_write_str(r->h, "message", idx, msg));
    }
    return NS_OK;
}
