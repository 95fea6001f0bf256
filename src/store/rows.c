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
    size_t cells = 0;
    NS_TRY(check_box(h, d, start, count, &cells));
    if (cells == 0) return NS_OK;
    NS_CHECK(data, NS_ERR_ARG, "%s: var '%s': NULL data", h->path, var);
    int nd = d->info.ndims;
    hsize_t s[NS_H5_MAX_DIMS], c[NS_H5_MAX_DIMS];
    for (int i = 0; i < nd; i++) {
        s[i] = start[i];
        c[i] = count[i];
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

static ns_status box_io(ns_h5 *h, const char *var, const size_t *start, const size_t *count,
                        void *data, int write)
{
    ns_h5_dset *d = ns_h5_find(h, var);
    if (!d) return NS_ERR_ARG;
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
    NS_CHECK(d->info.type == NS_H5_STR, NS_ERR_ARG, "%s: var '%s' is not a string variable",
             h->path, var);
    NS_CHECK(s && index, NS_ERR_ARG, "%s: var '%s': NULL string or index", h->path, var);
    size_t n = strlen(s), L = (size_t)d->info.str_len;
    NS_CHECK(n <= L, NS_ERR_ARG, "%s: var '%s': string of %zu bytes does not fit its %zu-byte cells",
             h->path, var, n, L);
    char *cell = calloc(L, 1);
    NS_CHECK(cell, NS_ERR_NOMEM, "out of memory");
    memcpy(cell, s, n);
    size_t one[NS_H5_MAX_DIMS] = {1, 1, 1, 1, 1};
    ns_status st = dset_io(h, d, index, one, cell, 1);
    free(cell);
    return st;
}

ns_status ns_h5_row_written(ns_h5 *h, const char *var, size_t row, int *written)
{
    ns_h5_dset *d = ns_h5_find(h, var);
    if (!d) return NS_ERR_ARG;
    const ns_h5_info *I = &d->info;
    void *buf = malloc(I->row_elems * I->elem_size);
    NS_CHECK(buf, NS_ERR_NOMEM, "%s: out of memory reading a row of '%s'", h->path, var);
    ns_status st = dset_rows_io(h, d, row, 1, buf, 0);
    if (st == NS_OK) *written = !ns_h5_all_fill(I->type, I->str_len, buf, I->row_elems);
    free(buf);
    return st;
}

/* Does dst's var match src's in everything but the leading size? */
static ns_status same_shape(const ns_h5 *dst, const ns_h5_dset *a, const ns_h5 *src,
                            const ns_h5_dset *b)
{
    const ns_h5_info *x = &a->info, *y = &b->info;
    int ok = x->type == y->type && x->str_len == y->str_len && x->ndims == y->ndims &&
             strcmp(x->dims[0], y->dims[0]) == 0;
    for (int i = 1; ok && i < x->ndims; i++) ok = x->shape[i] == y->shape[i];
    NS_CHECK(ok, NS_ERR_FORMAT,
             "merge: var '%s' differs in type or trailing shape between %s and %s", a->name,
             dst->path, src->path);
    return NS_OK;
}

ns_status ns_h5_copy_row(ns_h5 *dst, size_t dst_row, ns_h5 *src, size_t src_row,
                         const char *lead_dim, int *ncopied)
{
    NS_CHECK(dst && src && lead_dim, NS_ERR_ARG, "ns_h5_copy_row: NULL argument");
    int n = 0;
    for (int i = 0; i < src->nd; i++) {
        const ns_h5_dset *b = &src->d[i];
        if (b->is_scale || strcmp(b->info.dims[0], lead_dim) != 0) continue;
        ns_h5_dset *a = ns_h5_find(dst, b->name);
        if (!a)
            return ns_error_set(NS_ERR_FORMAT, "merge: var '%s' of %s is missing in %s", b->name,
                                src->path, dst->path);
        NS_TRY(same_shape(dst, a, src, b));
        void *buf = malloc(b->info.row_elems * b->info.elem_size + 1);
        NS_CHECK(buf, NS_ERR_NOMEM, "merge: out of memory for a row of '%s'", b->name);
        ns_status st = ns_h5_read_rows(src, b->name, src_row, 1, buf);
        if (st == NS_OK) st = ns_h5_write_rows(dst, b->name, dst_row, 1, buf);
        free(buf);
        NS_TRY(st);
        n++;
    }
    if (ncopied) *ncopied = n;
    return NS_OK;
}
