/* layout.c - validate a layout, check that all ranks pass the same one, and
 * size the file it makes. The file itself is made in create.c.
 *
 * Parallel HDF5 corrupts a file (or hangs in H5Fclose) if ranks disagree on any
 * metadata operation, so ns_h5_create first compares a CRC of its arguments
 * over the communicator and refuses to start when they differ. */
#include "h5_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------ validation */

static int valid_type(ns_h5_type t) { return t >= NS_H5_F32 && t <= NS_H5_VSTR; }

static ns_status check_name(const char *what, int i, const char *name)
{
    NS_CHECK(name && *name, NS_ERR_ARG, "layout: %s %d has no name", what, i);
    NS_CHECK(strlen(name) <= NS_H5_MAX_NAME, NS_ERR_ARG,
             "layout: %s '%s' is longer than %d bytes", what, name, NS_H5_MAX_NAME);
    NS_CHECK(!strchr(name, '/') && strcmp(name, ".") != 0, NS_ERR_ARG,
             "layout: %s name '%s' may not contain '/' or be '.'", what, name);
    return NS_OK;
}

int ns_h5_layout_find_dim(const ns_h5_layout *L, const char *name)
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
        NS_CHECK(ns_h5_layout_find_dim(L, D->name) == i, NS_ERR_ARG, "layout: dim '%s' declared twice",
                 D->name);
        NS_CHECK(D->size >= 1, NS_ERR_ARG, "layout: dim '%s' has size 0 (must be >= 1)",
                 D->name);
        NS_CHECK(strncmp(D->name, NS_H5_STRLEN_DIM, strlen(NS_H5_STRLEN_DIM)) != 0, NS_ERR_ARG,
                 "layout: dim '%s': names starting with '%s' are the store's (text cells)",
                 D->name, NS_H5_STRLEN_DIM);
        NS_CHECK(valid_type(D->coord_type), NS_ERR_ARG, "layout: dim '%s' has coord_type %d",
                 D->name, (int)D->coord_type);
        NS_CHECK(D->coord_type != NS_H5_VSTR, NS_ERR_ARG,
                 "layout: dim '%s': variable-length string coordinates are not supported",
                 D->name);
        NS_CHECK(!D->coord || D->coord_type != NS_H5_STR || D->coord_str_len >= 1, NS_ERR_ARG,
                 "layout: dim '%s' has string coordinates but coord_str_len %d", D->name,
                 D->coord_str_len);
    }
    for (int i = 0; i < L->nvars; i++) {
        const ns_h5_var *V = &L->vars[i];
        NS_TRY(check_name("var", i, V->name));
        NS_CHECK(ns_h5_layout_find_dim(L, V->name) < 0, NS_ERR_ARG,
                 "layout: var '%s' has the name of a dim (dims are datasets of their own)",
                 V->name);
        for (int j = 0; j < i; j++)
            NS_CHECK(strcmp(L->vars[j].name, V->name) != 0, NS_ERR_ARG,
                     "layout: var '%s' declared twice", V->name);
        NS_CHECK(valid_type(V->type), NS_ERR_ARG, "layout: var '%s' has type %d", V->name,
                 (int)V->type);
        NS_CHECK(V->type != NS_H5_STR || V->str_len >= 1, NS_ERR_ARG,
                 "layout: string var '%s' has str_len %d (must be >= 1)", V->name, V->str_len);
        NS_CHECK(V->type != NS_H5_VSTR || V->init, NS_ERR_ARG,
                 "layout: var '%s' of variable-length strings needs its values (init): parallel "
                 "HDF5 cannot write them later", V->name);
        /* text keeps one dim of the rank for its chars (NS_H5_STRLEN_DIM) */
        int max_dims = V->type == NS_H5_STR ? NS_H5_MAX_DIMS - 1 : NS_H5_MAX_DIMS;
        NS_CHECK(V->ndims >= 1 && V->ndims <= max_dims, NS_ERR_ARG,
                 "layout: var '%s' has %d dims (must be 1..%d)", V->name, V->ndims, max_dims);
        size_t cells = ns_h5_type_size(V->type, V->str_len);
        for (int k = 0; k < V->ndims; k++) {
            NS_CHECK(V->dims[k], NS_ERR_ARG, "layout: var '%s' dim %d is NULL", V->name, k);
            int di = ns_h5_layout_find_dim(L, V->dims[k]);
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

size_t ns_h5_layout_cells(const ns_h5_layout *L, const ns_h5_var *V)
{
    size_t cells = 1;
    for (int k = 0; k < V->ndims; k++) {
        int d = ns_h5_layout_find_dim(L, V->dims[k]);
        if (d >= 0) cells *= L->dims[d].size;
    }
    return cells;
}

/* A variable's initial values (strings for NS_H5_VSTR, bytes otherwise). */
static uLong crc_init(uLong c, const ns_h5_layout *L, const ns_h5_var *V)
{
    c = crc_int(c, V->init != NULL);
    if (!V->init) return c;
    size_t n = ns_h5_layout_cells(L, V);
    if (V->type != NS_H5_VSTR) return crc_bytes(c, V->init, n * ns_h5_type_size(V->type, V->str_len));
    for (size_t i = 0; i < n; i++) c = crc_str(c, ((const char *const *)V->init)[i]);
    return c;
}

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
        c = crc_init(crc_str(c, V->coordinates), L, V);
    }
    for (int i = 0; i < L->nattrs; i++) c = crc_str(crc_str(c, L->attr_names[i]), L->attr_values[i]);
    return c;
}

ns_status ns_h5_layout_agree(const char *path, MPI_Comm comm, const ns_h5_layout *L)
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

/* ------------------------------------------------------------ size */

static size_t opt_len(const char *s) { return s ? strlen(s) + 32 : 0; }

unsigned long long ns_h5_layout_bytes(const ns_h5_layout *L)
{
    /* raw data exactly; metadata generously (object headers, dimension-scale
     * back references, attribute text): a reservation, not the file size */
    unsigned long long raw = 0, meta = 32 * 1024;
    for (int i = 0; i < L->ndims; i++) {
        const ns_h5_dim *D = &L->dims[i];
        raw += D->size * (D->coord ? ns_h5_type_size(D->coord_type, D->coord_str_len) : 4);
        meta += 2048 + opt_len(D->units) + opt_len(D->long_name);
    }
    for (int i = 0; i < L->nvars; i++) {
        const ns_h5_var *V = &L->vars[i];
        unsigned long long cells = ns_h5_layout_cells(L, V);
        if (V->type == NS_H5_VSTR) { /* a heap id per cell, the text in the global heap */
            raw += 16 * cells + 4096;
            for (size_t k = 0; k < cells; k++) raw += strlen(((const char *const *)V->init)[k]) + 24;
        } else {
            raw += cells * ns_h5_type_size(V->type, V->str_len);
        }
        if (V->type == NS_H5_STR) meta += 2048 + 4ull * (unsigned)V->str_len; /* its strlen dim */
        meta += 2048 + 64 * (unsigned long long)V->ndims + opt_len(V->units) +
                opt_len(V->long_name) + opt_len(V->description) + opt_len(V->coordinates);
    }
    for (int i = 0; i < L->nattrs; i++) meta += opt_len(L->attr_names[i]) + opt_len(L->attr_values[i]);
    return raw + meta;
}
