/* layout.c - validate a layout and create the whole file from it, collectively.
 *
 * Parallel HDF5 corrupts a file (or hangs in H5Fclose) if ranks disagree on any
 * metadata operation, so ns_h5_create first compares a CRC of its arguments
 * over the communicator and refuses to start when they differ. Every dataset
 * is contiguous and allocated at creation with its fill value, and the file is
 * flushed before returning: from then on a row write touches raw data only,
 * and a crash leaves a complete, readable file. */
#include "h5_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------ validation */

static int valid_type(ns_h5_type t) { return t >= NS_H5_F32 && t <= NS_H5_STR; }

static ns_status check_name(const char *what, int i, const char *name)
{
    NS_CHECK(name && *name, NS_ERR_ARG, "layout: %s %d has no name", what, i);
    NS_CHECK(strlen(name) <= NS_H5_MAX_NAME, NS_ERR_ARG,
             "layout: %s '%s' is longer than %d bytes", what, name, NS_H5_MAX_NAME);
    NS_CHECK(!strchr(name, '/') && strcmp(name, ".") != 0, NS_ERR_ARG,
             "layout: %s name '%s' may not contain '/' or be '.'", what, name);
    return NS_OK;
}

static int find_dim(const ns_h5_layout *L, const char *name)
{
    for (int i = 0; i < L->ndims; i++)
        if (strcmp(L->dims[i].name, name) == 0) return i;
    return -1;
}

ns_status ns_h5_layout_check(const ns_h5_layout *L)
{
    NS_CHECK(L, NS_ERR_ARG, "layout: NULL");
    NS_CHECK(L->ndims >= 0 && L->nvars >= 0 && L->nattrs >= 0, NS_ERR_ARG,
             "layout: negative count (ndims %d, nvars %d, nattrs %d)", L->ndims, L->nvars,
             L->nattrs);
    NS_CHECK((L->ndims == 0 || L->dims) && (L->nvars == 0 || L->vars) &&
                 (L->nattrs == 0 || (L->attr_names && L->attr_values)),
             NS_ERR_ARG, "layout: a count is positive but its array is NULL");
    for (int i = 0; i < L->ndims; i++) {
        const ns_h5_dim *D = &L->dims[i];
        NS_TRY(check_name("dim", i, D->name));
        NS_CHECK(find_dim(L, D->name) == i, NS_ERR_ARG, "layout: dim '%s' declared twice",
                 D->name);
        NS_CHECK(D->size >= 1, NS_ERR_ARG, "layout: dim '%s' has size 0 (must be >= 1)",
                 D->name);
        NS_CHECK(valid_type(D->coord_type), NS_ERR_ARG, "layout: dim '%s' has coord_type %d",
                 D->name, (int)D->coord_type);
        NS_CHECK(!D->coord || D->coord_type != NS_H5_STR || D->coord_str_len >= 1, NS_ERR_ARG,
                 "layout: dim '%s' has string coordinates but coord_str_len %d", D->name,
                 D->coord_str_len);
    }
    for (int i = 0; i < L->nvars; i++) {
        const ns_h5_var *V = &L->vars[i];
        NS_TRY(check_name("var", i, V->name));
        NS_CHECK(find_dim(L, V->name) < 0, NS_ERR_ARG,
                 "layout: var '%s' has the name of a dim (dims are datasets of their own)",
                 V->name);
        for (int j = 0; j < i; j++)
            NS_CHECK(strcmp(L->vars[j].name, V->name) != 0, NS_ERR_ARG,
                     "layout: var '%s' declared twice", V->name);
        NS_CHECK(valid_type(V->type), NS_ERR_ARG, "layout: var '%s' has type %d", V->name,
                 (int)V->type);
        NS_CHECK(V->type != NS_H5_STR || V->str_len >= 1, NS_ERR_ARG,
                 "layout: string var '%s' has str_len %d (must be >= 1)", V->name, V->str_len);
        NS_CHECK(V->ndims >= 1 && V->ndims <= NS_H5_MAX_DIMS, NS_ERR_ARG,
                 "layout: var '%s' has %d dims (must be 1..%d)", V->name, V->ndims,
                 NS_H5_MAX_DIMS);
        size_t cells = ns_h5_type_size(V->type, V->str_len);
        for (int k = 0; k < V->ndims; k++) {
            NS_CHECK(V->dims[k], NS_ERR_ARG, "layout: var '%s' dim %d is NULL", V->name, k);
            int di = find_dim(L, V->dims[k]);
            NS_CHECK(di >= 0, NS_ERR_ARG, "layout: var '%s' uses undeclared dim '%s'", V->name,
                     V->dims[k]);
            for (int m = 0; m < k; m++)
                NS_CHECK(strcmp(V->dims[m], V->dims[k]) != 0, NS_ERR_ARG,
                         "layout: var '%s' uses dim '%s' twice (xarray cannot read that)",
                         V->name, V->dims[k]);
            size_t n = L->dims[di].size;
            NS_CHECK(cells <= SIZE_MAX / n, NS_ERR_ARG, "layout: var '%s' is too large",
                     V->name);
            cells *= n;
        }
    }
    for (int i = 0; i < L->nattrs; i++) {
        const char *n = L->attr_names[i];
        NS_CHECK(n && *n && L->attr_values[i], NS_ERR_ARG,
                 "layout: root attribute %d has no name or a NULL value", i);
        NS_CHECK(strcmp(n, NS_H5_ATTR_FORMAT) != 0 && strcmp(n, NS_H5_ATTR_FILLS) != 0,
                 NS_ERR_ARG, "layout: root attribute name '%s' is reserved by the store", n);
        for (int j = 0; j < i; j++)
            NS_CHECK(strcmp(L->attr_names[j], n) != 0, NS_ERR_ARG,
                     "layout: root attribute '%s' declared twice", n);
    }
    return NS_OK;
}

/* ------------------------------------------------------------ agreement over ranks */

static uLong crc_bytes(uLong c, const void *p, size_t n)
{
    const Bytef *b = p;
    while (n > 0) { /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, b, k);
        b += k;
        n -= k;
    }
    return c;
}

static uLong crc_str(uLong c, const char *s)
{
    static const unsigned char null_mark = 0xff; /* distinguishes NULL from "" */
    return s ? crc_bytes(c, s, strlen(s) + 1) : crc_bytes(c, &null_mark, 1);
}

static uLong crc_int(uLong c, long long v) { return crc_bytes(c, &v, sizeof v); }

/* Checksum of everything that must be identical on all ranks. Only called on
 * a layout that passed ns_h5_layout_check. */
static uLong layout_crc(const char *path, const ns_h5_layout *L)
{
    uLong c = crc_str(crc32(0L, Z_NULL, 0), path);
    c = crc_int(crc_int(crc_int(c, L->ndims), L->nvars), L->nattrs);
    for (int i = 0; i < L->ndims; i++) {
        const ns_h5_dim *D = &L->dims[i];
        c = crc_int(crc_int(crc_int(crc_str(c, D->name), (long long)D->size), D->coord_type),
                    D->coord_str_len);
        c = crc_str(crc_str(c, D->units), D->long_name);
        c = crc_int(c, D->coord != NULL);
        if (D->coord) c = crc_bytes(c, D->coord, D->size * ns_h5_type_size(D->coord_type, D->coord_str_len));
    }
    for (int i = 0; i < L->nvars; i++) {
        const ns_h5_var *V = &L->vars[i];
        c = crc_int(crc_int(crc_int(crc_str(c, V->name), V->type), V->str_len), V->ndims);
        for (int k = 0; k < V->ndims; k++) c = crc_str(c, V->dims[k]);
        c = crc_str(crc_str(crc_str(c, V->units), V->long_name), V->description);
    }
    for (int i = 0; i < L->nattrs; i++) c = crc_str(crc_str(c, L->attr_names[i]), L->attr_values[i]);
    return c;
}

/* All ranks learn whether every rank's layout is valid and identical. */
static ns_status agree(const char *path, MPI_Comm comm, const ns_h5_layout *L)
{
    ns_status mine = ns_h5_layout_check(L);
    int bad = mine != NS_OK, anybad = 0;
    unsigned long c = mine == NS_OK ? (unsigned long)layout_crc(path, L) : 0, cmin = 0, cmax = 0;
    if (MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS ||
        MPI_Allreduce(&c, &cmin, 1, MPI_UNSIGNED_LONG, MPI_MIN, comm) != MPI_SUCCESS ||
        MPI_Allreduce(&c, &cmax, 1, MPI_UNSIGNED_LONG, MPI_MAX, comm) != MPI_SUCCESS)
        return ns_error_set(NS_ERR_MPI, "%s: MPI_Allreduce failed while checking the layout",
                            path);
    if (mine != NS_OK) return mine;
    NS_CHECK(!anybad, NS_ERR_ARG, "%s: another rank's layout is invalid (see its message)", path);
    NS_CHECK(cmin == cmax, NS_ERR_ARG,
             "%s: ranks passed different paths or layouts to the collective ns_h5_create "
             "(layout checksum %08lx here, range %08lx..%08lx over ranks)",
             path, c, cmin, cmax);
    return NS_OK;
}

/* ------------------------------------------------------------ creation */

/* One contiguous dataset, storage allocated now and prefilled with the fill value. */
static ns_status make_dataset(ns_h5 *h, const char *name, ns_h5_type t, int str_len, int nd,
                              const hsize_t *shape, hid_t *did)
{
    unsigned char fill[8];
    void *strfill = t == NS_H5_STR ? calloc((size_t)str_len, 1) : NULL;
    if (t == NS_H5_STR && !strfill)
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory for the fill of '%s'", h->path, name);
    hid_t ft = ns_h5_file_type(t, str_len), mt = ns_h5_mem_type(t, str_len);
    hid_t sp = H5Screate_simple(nd, shape, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    herr_t e = 0;
    e |= H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    e |= H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    e |= H5Pset_fill_time(dcpl, H5D_FILL_TIME_IFSET);
    e |= H5Pset_obj_track_times(dcpl, 0); /* no timestamps: same content, same bytes */
    if (t == NS_H5_STR) {
        e |= H5Pset_fill_value(dcpl, mt, strfill); /* all NULs: the empty string */
    } else {
        ns_h5_fill_value(t, str_len, fill);
        e |= H5Pset_fill_value(dcpl, mt, fill);
    }
    *did = e < 0 ? H5I_INVALID_HID : H5Dcreate2(h->file, name, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    free(strfill);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(mt);
    H5Tclose(ft);
    if (*did < 0) return ns_h5_err(h->path, "cannot create dataset '%s'", name);
    return NS_OK;
}

static ns_status put_opt_attr(ns_h5 *h, hid_t obj, const char *objname, const char *name,
                              const char *value)
{
    return value ? ns_h5_put_str_attr(h->path, obj, objname, name, value) : NS_OK;
}

static ns_status create_dim(ns_h5 *h, const ns_h5_dim *D, int rank, hid_t *did)
{
    hsize_t n = (hsize_t)D->size;
    /* A dim without coordinates is a float dataset named by netCDF's marker,
     * exactly as netCDF-C writes one, so readers show the dim without values. */
    ns_h5_type t = D->coord ? D->coord_type : NS_H5_F32;
    int sl = D->coord_type == NS_H5_STR ? D->coord_str_len : 0;
    NS_TRY(make_dataset(h, D->name, t, D->coord ? sl : 0, 1, &n, did));
    char pure[sizeof NS_H5_PURE_DIM_NAME + 24];
    snprintf(pure, sizeof pure, "%s%10zu", NS_H5_PURE_DIM_NAME, D->size);
    if (H5DSset_scale(*did, D->coord ? D->name : pure) < 0)
        return ns_h5_err(h->path, "cannot make '%s' a dimension scale", D->name);
    NS_TRY(put_opt_attr(h, *did, D->name, "units", D->units));
    NS_TRY(put_opt_attr(h, *did, D->name, "long_name", D->long_name));
    /* Coordinates are data: one rank writes them (independently, like rows). */
    if (D->coord && rank == 0) {
        hid_t mt = ns_h5_mem_type(t, sl);
        herr_t w = H5Dwrite(*did, mt, H5S_ALL, H5S_ALL, h->dxpl, D->coord);
        H5Tclose(mt);
        if (w < 0) return ns_h5_err(h->path, "cannot write the coordinates of dim '%s'", D->name);
    }
    return NS_OK;
}

static ns_status create_var(ns_h5 *h, const ns_h5_layout *L, const ns_h5_var *V,
                            const hid_t *dim_ids)
{
    hsize_t shape[NS_H5_MAX_DIMS];
    int di[NS_H5_MAX_DIMS];
    for (int k = 0; k < V->ndims; k++) {
        di[k] = find_dim(L, V->dims[k]);
        shape[k] = (hsize_t)L->dims[di[k]].size;
    }
    hid_t did;
    NS_TRY(make_dataset(h, V->name, V->type, V->str_len, V->ndims, shape, &did));
    ns_status st = NS_OK;
    for (int k = 0; k < V->ndims && st == NS_OK; k++)
        if (H5DSattach_scale(did, dim_ids[di[k]], (unsigned)k) < 0)
            st = ns_h5_err(h->path, "cannot attach dim '%s' to var '%s'", V->dims[k], V->name);
    if (st == NS_OK) st = put_opt_attr(h, did, V->name, "units", V->units);
    if (st == NS_OK) st = put_opt_attr(h, did, V->name, "long_name", V->long_name);
    if (st == NS_OK) st = put_opt_attr(h, did, V->name, "description", V->description);
    H5Dclose(did);
    return st;
}

static ns_status create_all(ns_h5 *h, const ns_h5_layout *L, int rank, hid_t *dim_ids)
{
    for (int i = 0; i < L->ndims; i++) NS_TRY(create_dim(h, &L->dims[i], rank, &dim_ids[i]));
    for (int i = 0; i < L->nvars; i++) NS_TRY(create_var(h, L, &L->vars[i], dim_ids));
    NS_TRY(ns_h5_put_str_attr(h->path, h->file, "/", NS_H5_ATTR_FORMAT, NS_H5_FORMAT_TAG));
    NS_TRY(ns_h5_put_str_attr(h->path, h->file, "/", NS_H5_ATTR_FILLS, NS_H5_FILLS_TEXT));
    for (int i = 0; i < L->nattrs; i++)
        NS_TRY(ns_h5_put_str_attr(h->path, h->file, "/", L->attr_names[i], L->attr_values[i]));
    return NS_OK;
}

ns_status ns_h5_create(const char *path, MPI_Comm comm, const ns_h5_layout *L, ns_h5 **out)
{
    NS_CHECK(out, NS_ERR_ARG, "ns_h5_create: NULL out");
    *out = NULL;
    NS_CHECK(path && *path, NS_ERR_ARG, "ns_h5_create: empty file path");
    int rank = 0;
    if (comm != MPI_COMM_NULL) {
        int init = 0;
        MPI_Initialized(&init);
        NS_CHECK(init, NS_ERR_STATE, "%s: collective create needs MPI_Init first", path);
        MPI_Comm_rank(comm, &rank);
        NS_TRY(agree(path, comm, L));
    } else {
        NS_TRY(ns_h5_layout_check(L));
    }
    ns_h5 *h;
    hid_t fa;
    NS_TRY(ns_h5_begin(path, comm, &h, &fa));
    h->writable = 1;
    h->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fa);
    H5Pclose(fa);
    if (h->file < 0) {
        ns_status st = ns_h5_err(path, "cannot create the store file");
        ns_h5_free_handle(h);
        return st;
    }
    hid_t dim_ids[L->ndims > 0 ? L->ndims : 1];
    for (int i = 0; i < L->ndims; i++) dim_ids[i] = H5I_INVALID_HID;
    ns_status st = create_all(h, L, rank, dim_ids);
    for (int i = 0; i < L->ndims; i++)
        if (dim_ids[i] >= 0) H5Dclose(dim_ids[i]);
    /* Metadata on disk before anyone writes a row: a crash from here on leaves a readable file. */
    if (st == NS_OK && H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0)
        st = ns_h5_err(path, "H5Fflush after creating the layout failed");
    if (st == NS_OK) st = ns_h5_load_table(h);
    if (st != NS_OK) {
        ns_h5_free_handle(h);
        return st;
    }
    *out = h;
    return NS_OK;
}
