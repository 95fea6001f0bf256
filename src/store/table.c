/* table.c - the dataset table of an open store file: every dataset of the
 * root group, opened once, with its type, shape and dim names as the store
 * shows them (text stored as netCDF char arrays shown as NS_H5_STR cells, see
 * NS_H5_STRLEN_DIM), sorted by name for ns_h5_find. */
#include "h5_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Map a dataset's file type back to a store type; other types are a format error. */
static ns_status classify_type(const char *path, const char *name, hid_t ft, ns_h5_type *t,
                               int *str_len)
{
    H5T_class_t c = H5Tget_class(ft);
    size_t sz = H5Tget_size(ft);
    *str_len = 0;
    if (c == H5T_FLOAT && sz == 4) *t = NS_H5_F32;
    else if (c == H5T_FLOAT && sz == 8) *t = NS_H5_F64;
    else if (c == H5T_INTEGER && sz == 4 && H5Tget_sign(ft) == H5T_SGN_2) *t = NS_H5_I32;
    else if (c == H5T_INTEGER && sz == 8 && H5Tget_sign(ft) == H5T_SGN_2) *t = NS_H5_I64;
    else if (c == H5T_STRING && H5Tis_variable_str(ft) > 0) *t = NS_H5_VSTR;
    else if (c == H5T_STRING && H5Tis_variable_str(ft) == 0 && sz <= (size_t)INT32_MAX) {
        *t = NS_H5_STR;
        *str_len = (int)sz;
    } else
        return ns_error_set(NS_ERR_FORMAT,
                            "%s: dataset '%s' has a datatype the store does not handle (class %d, "
                            "%zu bytes); expected float32/64, signed int32/64 or a string",
                            path, name, (int)c, sz);
    return NS_OK;
}

/* ------------------------------------------------------------ dataset table */

typedef struct name_list {
    char (*names)[NS_H5_MAX_NAME + 1];
    int n, cap;
    ns_status st;
    const char *path;
} name_list;

static herr_t collect_dataset(hid_t g, const char *name, const H5L_info_t *li, void *data)
{
    (void)li;
    name_list *L = data;
    H5O_info_t oi;
    if (H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) < 0) {
        L->st = ns_h5_err(L->path, "cannot inspect object '%s'", name);
        return -1;
    }
    if (oi.type != H5O_TYPE_DATASET) return 0; /* groups etc. are not ours: ignore */
    if (strlen(name) > NS_H5_MAX_NAME) {
        L->st = ns_error_set(NS_ERR_FORMAT, "%s: dataset name '%s' longer than %d bytes", L->path,
                             name, NS_H5_MAX_NAME);
        return -1;
    }
    if (L->n == L->cap) {
        int cap = L->cap ? 2 * L->cap : 32;
        void *p = realloc(L->names, (size_t)cap * sizeof *L->names);
        if (!p) {
            L->st = ns_error_set(NS_ERR_NOMEM, "%s: out of memory listing datasets", L->path);
            return -1;
        }
        L->names = p;
        L->cap = cap;
    }
    snprintf(L->names[L->n++], NS_H5_MAX_NAME + 1, "%s", name);
    return 0;
}

/* H5DSiterate_scales callback: the name of the attached scale = its link name. */
static herr_t scale_name(hid_t did, unsigned dim, hid_t sid, void *data)
{
    (void)did;
    (void)dim;
    char full[NS_H5_MAX_NAME + 2];
    ssize_t n = H5Iget_name(sid, full, sizeof full);
    if (n <= 0 || (size_t)n >= sizeof full) return -1;
    const char *base = strrchr(full, '/');
    base = base ? base + 1 : full;
    size_t len = strlen(base);
    if (len > NS_H5_MAX_NAME) return -1;
    memcpy(data, base, len + 1);
    return 1; /* first scale is enough */
}

/* A 1-byte char array whose last dim is "strlen<n>" holds text cells of n
 * bytes (h5_internal.h): show it as NS_H5_STR over the dims before that one. */
static ns_status unfold_char_array(const char *path, ns_h5_dset *d, int *nd, const hsize_t *shp)
{
    ns_h5_info *I = &d->info;
    size_t plen = strlen(NS_H5_STRLEN_DIM);
    d->is_chars = 0;
    if (d->is_scale || I->type != NS_H5_STR || I->str_len != 1 || *nd < 2 ||
        strncmp(d->dimname[*nd - 1], NS_H5_STRLEN_DIM, plen) != 0)
        return NS_OK;
    hsize_t n = shp[*nd - 1];
    NS_CHECK(n >= 1 && n <= (hsize_t)INT32_MAX, NS_ERR_FORMAT,
             "%s: text dataset '%s' has a '%s' dim of %llu chars, expected 1..%d", path, d->name,
             d->dimname[*nd - 1], (unsigned long long)n, INT32_MAX);
    *nd -= 1;
    I->str_len = (int)n;
    d->is_chars = 1;
    return NS_OK;
}

static ns_status load_one(ns_h5 *h, ns_h5_dset *d)
{
    const char *P = h->path;
    d->id = H5Dopen2(h->file, d->name, H5P_DEFAULT);
    if (d->id < 0) return ns_h5_err(P, "cannot open dataset '%s'", d->name);
    hid_t ft = H5Dget_type(d->id);
    if (ft < 0) return ns_h5_err(P, "cannot get the type of dataset '%s'", d->name);
    hid_t sp = H5Dget_space(d->id);
    if (sp < 0) {
        ns_status st = ns_h5_err(P, "cannot get the shape of dataset '%s'", d->name);
        H5Tclose(ft);
        return st;
    }
    ns_h5_info *I = &d->info;
    ns_status st = classify_type(P, d->name, ft, &I->type, &I->str_len);
    /* text is read in the file's own character set (ASCII from other tools, UTF-8
     * from ours): HDF5 does not convert between the two */
    hid_t cset = I->type == NS_H5_STR || I->type == NS_H5_VSTR ? H5Tget_cset(ft) : H5T_CSET_ERROR;
    H5Tclose(ft);
    int nd = H5Sget_simple_extent_ndims(sp);
    hsize_t shp[H5S_MAX_RANK];
    if (st == NS_OK && (nd < 1 || nd > NS_H5_MAX_DIMS))
        st = ns_error_set(NS_ERR_FORMAT, "%s: dataset '%s' has rank %d, expected 1..%d", P,
                          d->name, nd, NS_H5_MAX_DIMS);
    if (st == NS_OK) H5Sget_simple_extent_dims(sp, shp, NULL);
    H5Sclose(sp);
    if (st != NS_OK) return st;

    d->is_scale = H5DSis_scale(d->id) > 0;
    for (int i = 0; i < nd; i++) {
        d->dimname[i][0] = '\0';
        if (d->is_scale) snprintf(d->dimname[i], sizeof d->dimname[i], "%s", d->name);
        else {
            int ns = H5DSget_num_scales(d->id, (unsigned)i);
            if (ns < 0 ||
                (ns > 0 && H5DSiterate_scales(d->id, (unsigned)i, NULL, scale_name, d->dimname[i]) < 0))
                return ns_h5_err(P, "cannot read the dimension scale of axis %d of '%s' (its "
                                 "DIMENSION_LIST attribute or the scale is damaged)", i, d->name);
        }
    }
    NS_TRY(unfold_char_array(P, d, &nd, shp));
    I->ndims = nd;
    I->elem_size = ns_h5_type_size(I->type, I->str_len);
    I->row_elems = 1;
    for (int i = 0; i < nd; i++) {
        I->shape[i] = (size_t)shp[i];
        if (i > 0) I->row_elems *= I->shape[i];
        I->dims[i] = d->dimname[i];
    }
    d->mtype = d->is_chars ? ns_h5_char_type() : ns_h5_mem_type(I->type, I->str_len);
    if (cset != H5T_CSET_ERROR && d->mtype >= 0) H5Tset_cset(d->mtype, cset);
    return NS_OK;
}

static int cmp_dset(const void *a, const void *b)
{
    return strcmp(((const ns_h5_dset *)a)->name, ((const ns_h5_dset *)b)->name);
}

ns_status ns_h5_load_table(ns_h5 *h)
{
    name_list L = {.path = h->path, .st = NS_OK};
    hsize_t idx = 0;
    if (H5Literate(h->file, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_dataset, &L) < 0) {
        free(L.names);
        return L.st != NS_OK ? L.st : ns_h5_err(h->path, "cannot list the root group");
    }
    h->d = calloc(L.n > 0 ? (size_t)L.n : 1, sizeof *h->d);
    if (!h->d) {
        free(L.names);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory for %d datasets", h->path, L.n);
    }
    for (int i = 0; i < L.n; i++) {
        snprintf(h->d[i].name, sizeof h->d[i].name, "%s", L.names[i]);
        h->d[i].id = h->d[i].mtype = H5I_INVALID_HID;
    }
    h->nd = L.n;
    free(L.names);
    qsort(h->d, (size_t)h->nd, sizeof *h->d, cmp_dset);
    for (int i = 0; i < h->nd; i++) NS_TRY(load_one(h, &h->d[i]));
    return NS_OK;
}

ns_h5_dset *ns_h5_find(ns_h5 *h, const char *var)
{
    ns_h5_dset key;
    if (!h || !var) {
        ns_error_set(NS_ERR_ARG, "ns_h5: NULL handle or variable name");
        return NULL;
    }
    snprintf(key.name, sizeof key.name, "%s", var);
    ns_h5_dset *d = strlen(var) <= NS_H5_MAX_NAME
                        ? bsearch(&key, h->d, (size_t)h->nd, sizeof *h->d, cmp_dset)
                        : NULL;
    if (!d) ns_error_set(NS_ERR_ARG, "%s: no variable '%s' in the file", h->path, var);
    return d;
}
