/* validate.c - is a file the results file of this sweep? Checked before
 * `run --resume`, `merge` or `status` touch it: the identity attributes, every
 * dimension and variable the schema table makes exist for the spec (type,
 * dims, sizes, coordinates), the run table's settings against the spec's runs,
 * and every status cell. The check of a file on disk runs in a child process
 * (isolate.c): HDF5 can crash or loop on a damaged file, and that must be a
 * message, not a crash or a hang of the command. */
#include "results_internal.h"

#include "isolate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ pieces */

static ns_status attr_is(ns_h5 *h, const char *path, const char *name, const char *want)
{
    char *v = NULL;
    ns_status st = NS_OK;
    if (ns_h5_get_attr(h, name, &v) != NS_OK)
        st = ns_error_set(NS_ERR_FORMAT, "%s: not a normsweep results file (no '%s' attribute)",
                          path, name);
    else if (strcmp(v, want) != 0)
        st = ns_error_set(NS_ERR_FORMAT, "%s: %s '%.80s'; expected '%s'%s", path, name, v, want,
                          strcmp(name, "schema") == 0 ? " (not a normsweep results file)"
                                                      : " (this normsweep writes and reads that)");
    free(v);
    return st;
}

/* First place where two texts differ, for the "different spec" message. */
static void first_diff(const char *a, const char *b, char *buf, size_t n)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i]) i++;
    size_t from = i > 40 ? i - 40 : 0;
    snprintf(buf, n, "file has ...%.80s... / spec gives ...%.80s...", a + from, b + from);
}

ns_status ns_results_check_identity(ns_h5 *h, const char *path, unsigned flags)
{
    NS_TRY(attr_is(h, path, "schema", "normsweep"));
    char *v = NULL;
    ns_status st = NS_OK;
    if (ns_h5_get_attr(h, "schema_version", &v) != NS_OK)
        st = ns_error_set(NS_ERR_FORMAT, "%s: not a normsweep results file (no 'schema_version' "
                          "attribute)", path);
    else if (strcmp(v, "1") == 0 && !(flags & NS_RESULTS_READ_V1))
        st = ns_error_set(NS_ERR_FORMAT, "%s: schema_version 1 (written by an older normsweep); "
                          "this normsweep writes %s: convert it with `normsweep merge NEW.h5 %s`",
                          path, NS_SCHEMA_VERSION, path);
    else if (strcmp(v, NS_SCHEMA_VERSION) != 0 && strcmp(v, "1") != 0)
        st = ns_error_set(NS_ERR_FORMAT, "%s: schema_version '%.40s'; this normsweep reads %s "
                          "(and 1)", path, v, NS_SCHEMA_VERSION);
    free(v);
    return st;
}

ns_status ns_results_check_spec(ns_h5 *h, const char *path, const ns_spec *spec)
{
    char *canon_file = NULL, *canon = NULL;
    ns_status st = NS_OK;
    if (ns_h5_get_attr(h, "spec_canonical", &canon_file) != NS_OK)
        st = ns_error_set(NS_ERR_FORMAT, "%s: no spec_canonical attribute", path);
    else if (!(canon = ns_spec_canonical(spec)))
        st = ns_error_set(NS_ERR_NOMEM, "out of memory");
    else if (strcmp(canon, canon_file) != 0) {
        char d[256];
        first_diff(canon_file, canon, d, sizeof d);
        st = ns_error_set(NS_ERR_ARG, "%s was written by a different sweep spec than %s (%s)",
                          path, spec->path, d);
    }
    free(canon_file);
    free(canon);
    return st;
}

static int is_text(ns_h5_type t) { return t == NS_H5_STR || t == NS_H5_VSTR; }

/* Variable v as the schema says, over dims of these sizes (a schema-1 file
 * has fixed-length strings where schema 2 has variable-length ones). */
static ns_status check_var(ns_h5 *h, const char *path, const ns_var_def *v,
                           const size_t size[NS_D_COUNT], unsigned flags)
{
    ns_h5_info I;
    if (ns_h5_var_info(h, v->name, &I) != NS_OK)
        return ns_error_set(NS_ERR_FORMAT, "%s: variable '%s' is missing (the sweep's layout has "
                            "it; docs/hdf5-schema.md)", path, v->name);
    ns_dim_id ids[NS_H5_MAX_DIMS];
    int nd = ns_schema_var_dims(v, ids);
    char got[32], want[32];
    int v1_text = (flags & NS_RESULTS_READ_V1) && v->type == NS_H5_VSTR && I.type == NS_H5_STR;
    NS_CHECK(v1_text || (I.type == v->type && (v->type != NS_H5_STR || I.str_len == v->str_len)),
             NS_ERR_FORMAT, "%s: variable '%s' has type %s; expected %s", path, v->name,
             ns_schema_type_text(I.type, I.str_len, got, sizeof got),
             ns_schema_type_text(v->type, v->str_len, want, sizeof want));
    NS_CHECK(I.ndims == nd, NS_ERR_FORMAT, "%s: variable '%s' has %d dims; expected %d (%s)",
             path, v->name, I.ndims, nd, v->dims);
    for (int k = 0; k < nd; k++) {
        const char *dn = ns_schema_dims[ids[k]].name;
        NS_CHECK(strcmp(I.dims[k], dn) == 0 && I.shape[k] == size[ids[k]], NS_ERR_FORMAT,
                 "%s: variable '%s' axis %d is %s%s%s of size %zu; expected dim '%s' of size %zu",
                 path, v->name, k, I.dims[k][0] ? "dim '" : "(no dimension scale)",
                 I.dims[k], I.dims[k][0] ? "'" : "", I.shape[k], dn, size[ids[k]]);
    }
    return NS_OK;
}

/* Dim d with its size and, if it has coordinate values, exactly these. */
static ns_status check_dim(ns_h5 *h, const char *path, const ns_schema_sweep *sw, ns_dim_id d)
{
    const ns_dim_def *D = &ns_schema_dims[d];
    size_t n = 0;
    if (ns_h5_dim_size(h, D->name, &n) != NS_OK)
        return ns_error_set(NS_ERR_FORMAT, "%s: dimension '%s' is missing", path, D->name);
    NS_CHECK(n == sw->size[d], NS_ERR_FORMAT, "%s: dimension '%s' has size %zu; the spec gives %zu",
             path, D->name, n, sw->size[d]);
    if (D->coord == NS_COORD_NONE) return NS_OK;
    ns_h5_info I;
    NS_TRY(ns_h5_var_info(h, D->name, &I));
    NS_CHECK(I.type == D->type && I.ndims == 1, NS_ERR_FORMAT,
             "%s: dimension '%s' has coordinates of type %d; expected %d", path, D->name,
             (int)I.type, (int)D->type);
    size_t bytes = n * ns_h5_type_size(D->type, 0);
    void *want = malloc(bytes), *got = malloc(bytes);
    ns_status st = want && got ? NS_OK : ns_error_set(NS_ERR_NOMEM, "out of memory");
    if (st == NS_OK) st = ns_schema_coords(sw, d, want);
    if (st == NS_OK) st = ns_h5_read_rows(h, D->name, 0, n, got);
    if (st == NS_OK && memcmp(want, got, bytes) != 0)
        st = ns_error_set(NS_ERR_FORMAT, "%s: the coordinates of dimension '%s' differ from the "
                          "ones the spec gives", path, D->name);
    free(want);
    free(got);
    return st;
}

/* The run table's settings are the spec's runs', cell for cell (text compared
 * as text, whatever kind of string cell holds it). */
static ns_status check_setting(ns_h5 *h, const char *path, const ns_var_def *v, const ns_spec *s)
{
    size_t n = (size_t)s->nruns, esz = ns_h5_type_size(v->type, v->str_len);
    unsigned char *col = NULL, *cell = malloc(esz);
    char **text = NULL;
    ns_status st = cell ? NS_OK : ns_error_set(NS_ERR_NOMEM, "out of memory");
    if (st == NS_OK && is_text(v->type)) st = ns_h5_read_strs(h, v->name, 0, n, &text);
    else if (st == NS_OK && !(col = malloc(n * esz))) st = ns_error_set(NS_ERR_NOMEM, "out of memory");
    else if (st == NS_OK) st = ns_h5_read_rows(h, v->name, 0, n, col);
    for (size_t i = 0; st == NS_OK && i < n; i++) {
        st = ns_schema_encode(v, &s->runs[i], cell);
        int same = 1;
        if (st == NS_OK && text) {
            const char *want = (const char *)cell;
            if (v->type == NS_H5_VSTR) memcpy(&want, cell, sizeof want);
            size_t len = v->type == NS_H5_STR ? strnlen(want, (size_t)v->str_len) : strlen(want);
            same = strlen(text[i]) == len && memcmp(text[i], want, len) == 0;
        } else if (st == NS_OK) {
            same = memcmp(cell, col + i * esz, esz) == 0;
        }
        if (st == NS_OK && !same)
            st = ns_error_set(NS_ERR_FORMAT, "%s: run %zu: '%s' in the file differs from the "
                              "spec's value (a damaged or edited file)", path, i, v->name);
    }
    ns_h5_free_strs(text, n);
    free(col);
    free(cell);
    return st;
}

/* Every status cell is a status name or empty (never written). */
static ns_status check_statuses(ns_h5 *h, const char *path, size_t nrun)
{
    const size_t L = NS_RESULTS_STATUS_LEN;
    char *col = malloc(nrun * L), cell[NS_RESULTS_STATUS_LEN + 1];
    NS_CHECK(col, NS_ERR_NOMEM, "out of memory");
    ns_status st = ns_h5_read_rows(h, "status", 0, nrun, col);
    for (size_t i = 0; st == NS_OK && i < nrun; i++) {
        memcpy(cell, col + i * L, L);
        cell[L] = '\0';
        if (cell[0] && strcmp(ns_run_status_name(ns_run_status_parse(cell)), cell) != 0)
            st = ns_error_set(NS_ERR_FORMAT, "%s: run %zu has status '%.*s'; expected one of "
                              "pending, running, done, diverged, failed, stopped", path, i,
                              (int)strcspn(cell, "\n\r\t"), cell);
    }
    free(col);
    return st;
}

/* ------------------------------------------------------------ whole files */

ns_status ns_results_validate(ns_h5 *h, const char *path, const ns_spec *spec, unsigned flags)
{
    NS_TRY(ns_results_check_identity(h, path, flags));
    ns_schema_sweep sw;
    NS_TRY(ns_schema_sweep_of(spec, &sw));
    for (int d = 0; d < NS_D_COUNT; d++)
        if (ns_schema_has_dim(&sw, (ns_dim_id)d)) NS_TRY(check_dim(h, path, &sw, (ns_dim_id)d));
    for (int i = 0; i < ns_schema_nvars; i++) {
        const ns_var_def *v = &ns_schema_vars[i];
        if (!ns_schema_has_var(&sw, v)) continue;
        NS_TRY(check_var(h, path, v, sw.size, flags));
        if (v->src == NS_SRC_CONFIG) NS_TRY(check_setting(h, path, v, spec));
    }
    return check_statuses(h, path, sw.size[NS_D_RUN]);
}

/* Without a spec: the identity, and the run table as the schema types it
 * (what `status` reads), over the file's own run dim. */
static ns_status validate_run_table(ns_h5 *h, const char *path, unsigned flags)
{
    NS_TRY(ns_results_check_identity(h, path, flags));
    size_t size[NS_D_COUNT] = {0};
    if (ns_h5_dim_size(h, "run", &size[NS_D_RUN]) != NS_OK)
        return ns_error_set(NS_ERR_FORMAT, "%s: no 'run' dimension", path);
    for (int i = 0; i < ns_schema_nvars; i++) {
        const ns_var_def *v = &ns_schema_vars[i];
        if (strcmp(v->dims, "run") == 0) NS_TRY(check_var(h, path, v, size, flags));
    }
    return check_statuses(h, path, size[NS_D_RUN]);
}

typedef struct check_ctx {
    const char *path;
    const ns_spec *spec; /* NULL: the file's own spec, if it parses here */
    unsigned flags;      /* NS_RESULTS_SAME_SPEC, NS_RESULTS_READ_V1 */
} check_ctx;

/* In the child: open serially, read-only; validate. */
static ns_status check_in_child(void *vctx)
{
    const check_ctx *c = vctx;
    ns_h5 *h = NULL;
    NS_TRY(ns_h5_open(c->path, MPI_COMM_NULL, 0, &h));
    ns_status st = validate_run_table(h, c->path, c->flags);
    if (st == NS_OK && c->spec) {
        if (c->flags & NS_RESULTS_SAME_SPEC) st = ns_results_check_spec(h, c->path, c->spec);
        if (st == NS_OK) st = ns_results_validate(h, c->path, c->spec, c->flags);
    } else if (st == NS_OK) {
        char *text = NULL;
        ns_spec *own = NULL;
        if (ns_h5_get_attr(h, "spec_text", &text) == NS_OK &&
            ns_spec_parse(text, c->path, &own, NULL) == NS_OK)
            st = ns_results_validate(h, c->path, own, c->flags); /* else: data not here, say */
        ns_spec_free(own);
        free(text);
    }
    ns_status cs = ns_h5_close(h);
    return st != NS_OK ? st : cs;
}

/* An HDF5 error while reading a file that exists is a damaged or foreign
 * file: bad input (exit 2), like every other validation failure. */
static ns_status check_in_child_as_input(void *vctx)
{
    ns_status st = check_in_child(vctx);
    if (st == NS_ERR_HDF5) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", ns_error_msg());
        st = ns_error_set(NS_ERR_FORMAT, "%s", msg);
    }
    return st;
}

ns_status ns_results_check(const char *path, const ns_spec *spec, unsigned flags)
{
    check_ctx c = {path, spec, flags};
    return ns_isolate(path, check_in_child_as_input, &c);
}
