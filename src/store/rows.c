/* rows.c - independent reads and writes of hyperslabs, and row copies for merge.
 * None of these touch metadata, so any rank may call them at any time without
 * the others (the dxpl of a parallel handle selects independent MPI-IO). */
#include "h5_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Validate start/count against the dataset's shape; the message names the
 * file, the var and the first offending dimension. */
static ns_status check_box(ns_h5 *h, const ns_h5_dset *d, const size_t *start,
                           const size_t *count, size_t *cells)
{
    NS_CHECK(start && count, NS_ERR_ARG, "%s: var '%s': NULL start/count", h->path, d->name);
    *cells = 1;
    for (int i = 0; i < d->info.ndims; i++) {
        size_t n = d->info.shape[i];
        NS_CHECK(start[i] <= n && count[i] <= n - start[i], NS_ERR_ARG,
                 "%s: var '%s' dim %d ('%s'): box [%zu, %zu+%zu) outside [0, %zu)", h->path,
                 d->name, i, d->info.dims[i], start[i], start[i], count[i], n);
        *cells *= count[i];
    }
    return NS_OK;
}

/* I/O on a dataset already looked up (callers found d with ns_h5_find). */
static ns_status dset_io(ns_h5 *h, const ns_h5_dset *d, const size_t *start, const size_t *count,
                         void *data, int write)
{
    const char *var = d->name;
    NS_CHECK(!write || h->writable, NS_ERR_STATE, "%s: var '%s': file opened read-only", h->path,
             var);
    NS_CHECK(!write || !h->parallel || d->info.type != NS_H5_VSTR, NS_ERR_STATE,
             "%s: var '%s' holds variable-length strings, which parallel HDF5 cannot write "
             "(HDF5 1.10: 'Parallel IO does not support writing VL datatypes'); they are "
             "written when the file is created (ns_h5_var.init)", h->path, var);
    size_t cells = 0;
    NS_TRY(check_box(h, d, start, count, &cells));
    if (cells == 0) return NS_OK;
    NS_CHECK(data, NS_ERR_ARG, "%s: var '%s': NULL data", h->path, var);
    int nd = d->info.ndims;
    hsize_t s[NS_H5_MAX_DIMS + 1], c[NS_H5_MAX_DIMS + 1];
    for (int i = 0; i < nd; i++) {
        s[i] = start[i];
        c[i] = count[i];
    }
    if (d->is_chars) { /* text as a char array: every char of each cell, same bytes */
        s[nd] = 0;
        c[nd++] = (hsize_t)d->info.str_len;
    }
    hid_t fs = H5Dget_space(d->id), ms = H5Screate_simple(nd, c, NULL);
    herr_t e = (fs < 0 || ms < 0) ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, s, NULL, c, NULL);
    errno = 0;
    if (e >= 0)
        e = write ? H5Dwrite(d->id, d->mtype, ms, fs, h->dxpl, data)
                  : H5Dread(d->id, d->mtype, ms, fs, h->dxpl, data);
    /* HDF5's error stack now: the closes below would clear it */
    ns_status st = e < 0 ? ns_h5_err(h->path, "%s of var '%s' at [%zu%s] failed",
                                     write ? "write" : "read", var, start[0], nd > 1 ? ",..." : "")
                         : NS_OK;
    if (fs >= 0) H5Sclose(fs);
    if (ms >= 0) H5Sclose(ms);
    NS_TRY(st);
    return NS_OK;
}

/* Variable-length strings come back as library-allocated pointers: only
 * ns_h5_read_str (which frees them) reads them. */
static ns_status no_vstr_read(const ns_h5 *h, const ns_h5_dset *d, int write)
{
    NS_CHECK(write || d->info.type != NS_H5_VSTR, NS_ERR_ARG,
             "%s: var '%s' holds variable-length strings: read it with ns_h5_read_str", h->path,
             d->name);
    return NS_OK;
}

static ns_status box_io(ns_h5 *h, const char *var, const size_t *start, const size_t *count,
                        void *data, int write)
{
    ns_h5_dset *d = ns_h5_find(h, var);
    if (!d) return NS_ERR_ARG;
    NS_TRY(no_vstr_read(h, d, write));
    return dset_io(h, d, start, count, data, write);
}

ns_status ns_h5_write_box(ns_h5 *h, const char *var, const size_t *start, const size_t *count,
                          const void *data)
{
    return box_io(h, var, start, count, (void *)data, 1);
}

ns_status ns_h5_read_box(ns_h5 *h, const char *var, const size_t *start, const size_t *count,
                         void *data)
{
    return box_io(h, var, start, count, data, 0);
}

/* Rows [row0, row0+nrows): the box with full trailing dims. */
static ns_status dset_rows_io(ns_h5 *h, const ns_h5_dset *d, size_t row0, size_t nrows,
                              void *data, int write)
{
    size_t start[NS_H5_MAX_DIMS] = {row0}, count[NS_H5_MAX_DIMS] = {nrows};
    for (int i = 1; i < d->info.ndims; i++) count[i] = d->info.shape[i];
    return dset_io(h, d, start, count, data, write);
}

static ns_status rows_io(ns_h5 *h, const char *var, size_t row0, size_t nrows, void *data,
                         int write)
{
    ns_h5_dset *d = ns_h5_find(h, var);
    if (!d) return NS_ERR_ARG;
    NS_TRY(no_vstr_read(h, d, write));
    return dset_rows_io(h, d, row0, nrows, data, write);
}

ns_status ns_h5_write_rows(ns_h5 *h, const char *var, size_t row0, size_t nrows, const void *data)
{
    return rows_io(h, var, row0, nrows, (void *)data, 1);
}

ns_status ns_h5_read_rows(ns_h5 *h, const char *var, size_t row0, size_t nrows, void *data)
{
    return rows_io(h, var, row0, nrows, data, 0);
}

ns_status ns_h5_write_str(ns_h5 *h, const char *var, const size_t *index, const char *s)
{
    ns_h5_dset *d = ns_h5_find(h, var);
    if (!d) return NS_ERR_ARG;
    NS_CHECK(d->info.type == NS_H5_STR || d->info.type == NS_H5_VSTR, NS_ERR_ARG,
             "%s: var '%s' is not a string variable", h->path, var);
    NS_CHECK(s && index, NS_ERR_ARG, "%s: var '%s': NULL string or index", h->path, var);
    size_t one[NS_H5_MAX_DIMS] = {1, 1, 1, 1, 1};
    if (d->info.type == NS_H5_VSTR) return dset_io(h, d, index, one, (void *)&s, 1);
    size_t n = strlen(s), L = (size_t)d->info.str_len;
    NS_CHECK(n <= L, NS_ERR_ARG, "%s: var '%s': string of %zu bytes does not fit its %zu-byte cells",
             h->path, var, n, L);
    char *cell = calloc(L, 1);
    NS_CHECK(cell, NS_ERR_NOMEM, "out of memory");
    memcpy(cell, s, n);
    ns_status st = dset_io(h, d, index, one, cell, 1);
    free(cell);
    return st;
}

/* The n string cells of a box of d (fixed or variable length) as malloc'd C
 * strings in out[0..n) (free each and the array with free_strs). */
static ns_status read_strs(ns_h5 *h, const ns_h5_dset *d, const size_t *start, const size_t *count,
                           size_t n, char ***out)
{
    *out = calloc(n ? n : 1, sizeof **out);
    NS_CHECK(*out, NS_ERR_NOMEM, "%s: out of memory reading '%s'", h->path, d->name);
    size_t L = d->info.type == NS_H5_STR ? (size_t)d->info.str_len : sizeof(char *);
    char *raw = calloc(n ? n : 1, L);
    NS_CHECK(raw, NS_ERR_NOMEM, "%s: out of memory reading '%s'", h->path, d->name);
    ns_status st = dset_io(h, d, start, count, raw, 0);
    for (size_t i = 0; i < n; i++) {
        const char *v = NULL;
        size_t len = 0;
        if (d->info.type == NS_H5_VSTR) {
            v = ((char **)(void *)raw)[i];
            len = v ? strlen(v) : 0;
        } else {
            v = raw + i * L;
            while (len < L && v[len]) len++;
        }
        if (st == NS_OK && !((*out)[i] = calloc(len + 1, 1)))
            st = ns_error_set(NS_ERR_NOMEM, "%s: out of memory reading '%s'", h->path, d->name);
        if ((*out)[i] && v) memcpy((*out)[i], v, len);
        if (d->info.type == NS_H5_VSTR && v) H5free_memory((void *)v);
    }
    free(raw);
    return st;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

void ns_h5_free_strs(char **v, size_t n) { free_strs(v, n); }

ns_status ns_h5_read_strs(ns_h5 *h, const char *var, size_t row0, size_t n, char ***out)
{
    *out = NULL;
    ns_h5_dset *d = ns_h5_find(h, var);
    if (!d) return NS_ERR_ARG;
    NS_CHECK((d->info.type == NS_H5_STR || d->info.type == NS_H5_VSTR) && d->info.ndims == 1,
             NS_ERR_ARG, "%s: var '%s' is not a 1-D string variable", h->path, var);
    size_t start[1] = {row0}, count[1] = {n};
    ns_status st = read_strs(h, d, start, count, n, out);
    if (st != NS_OK) {
        free_strs(*out, n);
        *out = NULL;
    }
    return st;
}

ns_status ns_h5_read_str(ns_h5 *h, const char *var, const size_t *index, char *buf, size_t cap)
{
    ns_h5_dset *d = ns_h5_find(h, var);
    if (!d) return NS_ERR_ARG;
    NS_CHECK(d->info.type == NS_H5_STR || d->info.type == NS_H5_VSTR, NS_ERR_ARG,
             "%s: var '%s' is not a string variable", h->path, var);
    NS_CHECK(buf && cap > 0 && index, NS_ERR_ARG, "%s: var '%s': no buffer", h->path, var);
    size_t one[NS_H5_MAX_DIMS] = {1, 1, 1, 1, 1};
    char **v = NULL;
    ns_status st = read_strs(h, d, index, one, 1, &v);
    if (st == NS_OK && strlen(v[0]) >= cap)
        st = ns_error_set(NS_ERR_ARG, "%s: var '%s': a string of %zu bytes does not fit %zu",
                          h->path, var, strlen(v[0]), cap);
    if (st == NS_OK) memcpy(buf, v[0], strlen(v[0]) + 1);
    free_strs(v, 1);
    return st;
}

ns_status ns_h5_row_written(ns_h5 *h, const char *var, size_t row, int *written)
{
    ns_h5_dset *d = ns_h5_find(h, var);
    if (!d) return NS_ERR_ARG;
    const ns_h5_info *I = &d->info;
    if (I->type == NS_H5_VSTR) {
        size_t start[NS_H5_MAX_DIMS] = {row}, count[NS_H5_MAX_DIMS] = {1};
        for (int i = 1; i < I->ndims; i++) count[i] = I->shape[i];
        char **v = NULL;
        ns_status st = read_strs(h, d, start, count, I->row_elems, &v);
        *written = 0;
        for (size_t i = 0; st == NS_OK && i < I->row_elems; i++) *written |= v[i][0] != 0;
        free_strs(v, I->row_elems);
        return st;
    }
    void *buf = malloc(I->row_elems * I->elem_size);
    NS_CHECK(buf, NS_ERR_NOMEM, "%s: out of memory reading a row of '%s'", h->path, var);
    ns_status st = dset_rows_io(h, d, row, 1, buf, 0);
    if (st == NS_OK) *written = !ns_h5_all_fill(I->type, I->str_len, buf, I->row_elems);
    free(buf);
    return st;
}

/* Does dst's var match src's in everything but the leading size? With grow,
 * dst's trailing dims may be larger (a row copied into a wider layout). */
static ns_status same_shape(const ns_h5 *dst, const ns_h5_dset *a, const ns_h5 *src,
                            const ns_h5_dset *b, int grow)
{
    const ns_h5_info *x = &a->info, *y = &b->info;
    int strings = (x->type == NS_H5_STR || x->type == NS_H5_VSTR) &&
                  (y->type == NS_H5_STR || y->type == NS_H5_VSTR);
    int ok = (strings || (x->type == y->type && x->str_len == y->str_len)) &&
             x->ndims == y->ndims && strcmp(x->dims[0], y->dims[0]) == 0;
    for (int i = 1; ok && i < x->ndims; i++)
        ok = grow ? x->shape[i] >= y->shape[i] : x->shape[i] == y->shape[i];
    NS_CHECK(ok, NS_ERR_FORMAT, "merge: var '%s' differs in type or trailing shape between %s and %s%s",
             a->name, dst->path, src->path, grow ? " (or is smaller in the first)" : "");
    return NS_OK;
}

/* The box of one row of b (src's shape) at row `row`: what is copied. */
static void row_box(const ns_h5_dset *b, size_t row, size_t *start, size_t *count)
{
    start[0] = row;
    count[0] = 1;
    for (int i = 1; i < b->info.ndims; i++) {
        start[i] = 0;
        count[i] = b->info.shape[i];
    }
}

static ns_status copy_num_row(ns_h5 *dst, const ns_h5_dset *a, size_t dst_row, ns_h5 *src,
                              const ns_h5_dset *b, size_t src_row)
{
    size_t start[NS_H5_MAX_DIMS], count[NS_H5_MAX_DIMS];
    void *buf = malloc(b->info.row_elems * b->info.elem_size + 1);
    NS_CHECK(buf, NS_ERR_NOMEM, "merge: out of memory for a row of '%s'", b->name);
    ns_status st = dset_rows_io(src, b, src_row, 1, buf, 0);
    row_box(b, dst_row, start, count);
    if (st == NS_OK) st = dset_io(dst, a, start, count, buf, 1);
    free(buf);
    return st;
}

/* A row of strings, from either kind of string cell to either (a file of
 * schema 1 has fixed-length strings where schema 2 has variable-length ones). */
static ns_status copy_str_row(ns_h5 *dst, const ns_h5_dset *a, size_t dst_row, ns_h5 *src,
                              const ns_h5_dset *b, size_t src_row)
{
    size_t n = b->info.row_elems, start[NS_H5_MAX_DIMS], count[NS_H5_MAX_DIMS];
    size_t dstart[NS_H5_MAX_DIMS], dcount[NS_H5_MAX_DIMS];
    row_box(b, src_row, start, count);
    row_box(b, dst_row, dstart, dcount);
    char **v = NULL, **have = NULL;
    ns_status st = read_strs(src, b, start, count, n, &v);
    if (st == NS_OK && a->info.type == NS_H5_VSTR) {
        /* a variable-length cell rewritten leaves its old text in the global
         * heap: skip a row that already holds these strings (settings written
         * when the file was made) */
        int same = read_strs(dst, a, dstart, dcount, n, &have) == NS_OK;
        for (size_t i = 0; same && i < n; i++) same = strcmp(have[i], v[i]) == 0;
        free_strs(have, n);
        if (same) {
            free_strs(v, n);
            return NS_OK;
        }
    }
    size_t L = a->info.type == NS_H5_STR ? (size_t)a->info.str_len : sizeof(char *);
    char *cells = st == NS_OK ? calloc(n ? n : 1, L) : NULL;
    if (st == NS_OK && !cells) st = ns_error_set(NS_ERR_NOMEM, "merge: out of memory");
    for (size_t i = 0; st == NS_OK && i < n; i++) {
        if (a->info.type == NS_H5_VSTR) {
            ((char **)(void *)cells)[i] = v[i];
        } else if (strlen(v[i]) > L) {
            st = ns_error_set(NS_ERR_FORMAT, "merge: '%s' of %s: a string of %zu bytes does not "
                              "fit the %zu-byte cells of %s", b->name, src->path, strlen(v[i]), L,
                              dst->path);
        } else {
            memcpy(cells + i * L, v[i], strlen(v[i]));
        }
    }
    if (st == NS_OK) st = dset_io(dst, a, dstart, dcount, cells, 1);
    free(cells);
    free_strs(v, n);
    return st;
}

/* Every variable of src over lead_dim (but `last`, if given), then `last`. */
static ns_status copy_row(ns_h5 *dst, size_t dst_row, ns_h5 *src, size_t src_row,
                          const char *lead_dim, const char *last, int *ncopied, int grow)
{
    NS_CHECK(dst && src && lead_dim, NS_ERR_ARG, "ns_h5_copy_row: NULL argument");
    int n = 0;
    for (int pass = 0; pass < (last ? 2 : 1); pass++)
        for (int i = 0; i < src->nd; i++) {
            ns_h5_dset *b = &src->d[i];
            if (b->is_scale || strcmp(b->info.dims[0], lead_dim) != 0) continue;
            if (last && (strcmp(b->name, last) == 0) != pass) continue;
            ns_h5_dset *a = ns_h5_find(dst, b->name);
            if (!a)
                return ns_error_set(NS_ERR_FORMAT, "merge: var '%s' of %s is missing in %s",
                                    b->name, src->path, dst->path);
            NS_TRY(same_shape(dst, a, src, b, grow));
            NS_TRY(b->info.type == NS_H5_STR || b->info.type == NS_H5_VSTR
                       ? copy_str_row(dst, a, dst_row, src, b, src_row)
                       : copy_num_row(dst, a, dst_row, src, b, src_row));
            n++;
        }
    if (ncopied) *ncopied = n;
    return NS_OK;
}

ns_status ns_h5_copy_row(ns_h5 *dst, size_t dst_row, ns_h5 *src, size_t src_row,
                         const char *lead_dim, int *ncopied)
{
    return copy_row(dst, dst_row, src, src_row, lead_dim, NULL, ncopied, 0);
}

ns_status ns_h5_copy_row_into(ns_h5 *dst, size_t dst_row, ns_h5 *src, size_t src_row,
                              const char *lead_dim, const char *last, int *ncopied)
{
    return copy_row(dst, dst_row, src, src_row, lead_dim, last, ncopied, 1);
}
