/* create.c - make a store file from a layout (h5store.h).
 *
 * Every dataset is contiguous and allocated at creation with its fill value,
 * and the file is complete on disk before ns_h5_create returns: from then on a
 * row write touches raw data only, and a crash leaves a complete, readable file.
 *
 * Rank 0 builds the whole file ALONE with the serial (sec2) driver, then every
 * rank opens it collectively through MPI-IO. Building it collectively made
 * every H5Dcreate/H5Acreate a metadata round over all ranks: hundreds per
 * layout, a cost that grew with the rank count (docs/coordinator.md,
 * "Start-up and teardown"); the serial driver is also the only one that can
 * write the variable-length string cells (HDF5 1.10.8).
 *
 * What can go wrong on the way is settled before it can split the ranks:
 *   - the ranks agree on the layout (ns_h5_layout_agree) and on rank 0's
 *     verdicts (free space, then the build): rank 0 decides, then broadcasts,
 *     and only then does any rank enter a collective HDF5 call (the open), so a
 *     failure while building is rank 0's one-line error on every rank;
 *   - rank 0 reserves the file's bytes (posix_fallocate) before any dataset is
 *     made, so a full file system is "no space" at once, not a failed fill;
 *   - the file is built as PATH.creating and renamed to PATH only when it is
 *     complete, flushed and closed: a failure leaves no half-made file at PATH
 *     (and an older PATH, e.g. under --force, stays until the new one is whole).
 * The format is HDF5's 1.8 one (superblock v2, object header v2): its metadata
 * carries checksums, so damage is reported as such (docs/hdf5-store.md). */
#include "h5_internal.h"

#include "collective.h"
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* One contiguous dataset, storage allocated now and prefilled with the fill value.
 * With as_chars (text, NS_H5_STR, only) it is a char array with one more dim
 * of str_len chars (h5_internal.h: NS_H5_STRLEN_DIM); the caller attaches it. */
static ns_status make_dataset(ns_h5 *h, const char *name, ns_h5_type t, int str_len, int nd,
                              const hsize_t *shape, int as_chars, hid_t *did)
{
    unsigned char fill[8];
    void *strfill = t == NS_H5_STR ? calloc((size_t)str_len, 1) : NULL;
    if (t == NS_H5_STR && !strfill)
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory for the fill of '%s'", h->path, name);
    hsize_t full[NS_H5_MAX_DIMS + 1];
    memcpy(full, shape, (size_t)nd * sizeof *full);
    if (as_chars) full[nd++] = (hsize_t)str_len;
    hid_t ft = as_chars ? ns_h5_char_type() : ns_h5_file_type(t, str_len);
    hid_t mt = as_chars ? ns_h5_char_type() : ns_h5_mem_type(t, str_len);
    hid_t sp = H5Screate_simple(nd, full, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
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
    errno = 0;
    *did = e < 0 ? H5I_INVALID_HID : H5Dcreate2(h->file, name, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    /* read HDF5's error stack now: the next API call (a close) clears it */
    ns_status st = *did < 0 ? ns_h5_err(h->path, "cannot create dataset '%s'", name) : NS_OK;
    free(strfill);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(mt);
    H5Tclose(ft);
    return st;
}

static ns_status put_opt_attr(ns_h5 *h, hid_t obj, const char *objname, const char *name,
                              const char *value)
{
    return value ? ns_h5_put_str_attr(h->path, obj, objname, name, value) : NS_OK;
}

static ns_status create_dim(ns_h5 *h, const ns_h5_dim *D, hid_t *did)
{
    hsize_t n = (hsize_t)D->size;
    /* A dim without coordinates is a float dataset named by netCDF's marker,
     * exactly as netCDF-C writes one, so readers show the dim without values. */
    ns_h5_type t = D->coord ? D->coord_type : NS_H5_F32;
    int sl = D->coord_type == NS_H5_STR ? D->coord_str_len : 0;
    /* string coordinates stay one fixed-length string per cell: a scale must be
     * 1-D (no normsweep layout has them; netCDF-C 4.9 could not read them) */
    NS_TRY(make_dataset(h, D->name, t, D->coord ? sl : 0, 1, &n, 0, did));
    char pure[sizeof NS_H5_PURE_DIM_NAME + 24];
    snprintf(pure, sizeof pure, "%s%10zu", NS_H5_PURE_DIM_NAME, D->size);
    if (H5DSset_scale(*did, D->coord ? D->name : pure) < 0)
        return ns_h5_err(h->path, "cannot make '%s' a dimension scale", D->name);
    NS_TRY(put_opt_attr(h, *did, D->name, "units", D->units));
    NS_TRY(put_opt_attr(h, *did, D->name, "long_name", D->long_name));
    if (D->coord) {
        hid_t mt = ns_h5_mem_type(t, sl);
        errno = 0;
        herr_t w = H5Dwrite(*did, mt, H5S_ALL, H5S_ALL, h->dxpl, D->coord);
        ns_status st = w < 0 ? ns_h5_err(h->path, "cannot write the coordinates of dim '%s'",
                                         D->name)
                             : NS_OK;
        H5Tclose(mt);
        NS_TRY(st);
    }
    return NS_OK;
}

/* The pure dim "strlen<n>" of text cells of n bytes: made by the first var
 * that needs it, opened by the others (caller closes *did). */
static ns_status strlen_dim(ns_h5 *h, int n, hid_t *did)
{
    char name[sizeof NS_H5_STRLEN_DIM + 12];
    snprintf(name, sizeof name, "%s%d", NS_H5_STRLEN_DIM, n);
    htri_t have = H5Lexists(h->file, name, H5P_DEFAULT);
    if (have < 0) return ns_h5_err(h->path, "cannot look up dim '%s'", name);
    if (have == 0) {
        ns_h5_dim D = {.name = name, .size = (size_t)n, .coord_type = NS_H5_F32,
                       .long_name = "bytes of one text cell (UTF-8, NUL-padded)"};
        return create_dim(h, &D, did);
    }
    *did = H5Dopen2(h->file, name, H5P_DEFAULT);
    return *did < 0 ? ns_h5_err(h->path, "cannot open dim '%s'", name) : NS_OK;
}

/* Attach the dims of var did: the layout's, then a text var's strlen dim. */
static ns_status attach_dims(ns_h5 *h, const ns_h5_var *V, hid_t did, const hid_t *dim_ids,
                             const int *di)
{
    for (int k = 0; k < V->ndims; k++)
        if (H5DSattach_scale(did, dim_ids[di[k]], (unsigned)k) < 0)
            return ns_h5_err(h->path, "cannot attach dim '%s' to var '%s'", V->dims[k], V->name);
    if (V->type != NS_H5_STR) return NS_OK;
    hid_t sid;
    NS_TRY(strlen_dim(h, V->str_len, &sid));
    ns_status st = H5DSattach_scale(did, sid, (unsigned)V->ndims) < 0
                       ? ns_h5_err(h->path, "cannot attach the text dim of var '%s'", V->name)
                       : NS_OK;
    H5Dclose(sid);
    return st;
}

static ns_status create_var(ns_h5 *h, const ns_h5_layout *L, const ns_h5_var *V,
                            const hid_t *dim_ids)
{
    hsize_t shape[NS_H5_MAX_DIMS];
    int di[NS_H5_MAX_DIMS];
    for (int k = 0; k < V->ndims; k++) {
        di[k] = ns_h5_layout_find_dim(L, V->dims[k]);
        shape[k] = (hsize_t)L->dims[di[k]].size;
    }
    hid_t did;
    NS_TRY(make_dataset(h, V->name, V->type, V->str_len, V->ndims, shape,
                        V->type == NS_H5_STR, &did));
    ns_status st = attach_dims(h, V, did, dim_ids, di);
    if (st == NS_OK) st = put_opt_attr(h, did, V->name, "units", V->units);
    if (st == NS_OK) st = put_opt_attr(h, did, V->name, "long_name", V->long_name);
    if (st == NS_OK) st = put_opt_attr(h, did, V->name, "description", V->description);
    if (st == NS_OK) st = put_opt_attr(h, did, V->name, "coordinates", V->coordinates);
    /* text: netCDF4 and xarray join the chars of a cell and decode them to str
     * (not bytes) when told the encoding */
    if (st == NS_OK && V->type == NS_H5_STR)
        st = put_opt_attr(h, did, V->name, "_Encoding", "utf-8");
    H5Dclose(did);
    return st;
}

/* Every dim and var, then the root attributes. */
static ns_status create_all(ns_h5 *h, const ns_h5_layout *L, hid_t *dim_ids)
{
    for (int i = 0; i < L->ndims; i++) NS_TRY(create_dim(h, &L->dims[i], &dim_ids[i]));
    for (int i = 0; i < L->nvars; i++) NS_TRY(create_var(h, L, &L->vars[i], dim_ids));
    NS_TRY(ns_h5_put_str_attr(h->path, h->file, "/", NS_H5_ATTR_FORMAT, NS_H5_FORMAT_TAG));
    NS_TRY(ns_h5_put_str_attr(h->path, h->file, "/", NS_H5_ATTR_FILLS, NS_H5_FILLS_TEXT));
    for (int i = 0; i < L->nattrs; i++)
        NS_TRY(ns_h5_put_str_attr(h->path, h->file, "/", L->attr_names[i], L->attr_values[i]));
    return NS_OK;
}

/* ------------------------------------------------------------ space */

/* Rank 0, before anything is created: is there room for the file at all? */
static ns_status check_space(const char *path, unsigned long long need)
{
    char *dir = strdup(path);
    NS_CHECK(dir, NS_ERR_NOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    struct statvfs v;
    int ok = statvfs(dir, &v) == 0;
    free(dir);
    if (!ok) return NS_OK; /* cannot tell: creating the file will say what is wrong */
    unsigned long long avail = (unsigned long long)v.f_bavail * v.f_frsize;
    NS_CHECK(avail >= need, NS_ERR_IO,
             "%s: no space left on device (ENOSPC): the results file needs about %llu bytes, "
             "the file system has %llu free", path, need, avail);
    return NS_OK;
}

/* Rank 0, after the (empty) file exists: reserve its bytes. */
static ns_status reserve(const char *path, const char *file, unsigned long long need)
{
    int fd = open(file, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return ns_error_set(NS_ERR_IO, "%s: cannot open %s to reserve space: %s", path, file,
                            strerror(errno));
    int e = posix_fallocate(fd, 0, (off_t)need);
    close(fd);
    if (e == 0 || e == EOPNOTSUPP || e == EINVAL) return NS_OK; /* no reservation possible */
    return ns_error_set(NS_ERR_IO, "%s: cannot reserve %llu bytes for the results file: %s%s",
                        path, need, strerror(e), e == ENOSPC ? " (ENOSPC)" : "");
}

/* Rank 0, once the file is flushed: give back what the reservation took
 * beyond HDF5's end of allocation (nothing of the file lives there). */
static void trim(hid_t file, const char *name)
{
    haddr_t eoa = 0;
    if (H5Fget_eoa(file, &eoa) >= 0 && eoa > 0) (void)truncate(name, (off_t)eoa);
}

/* ------------------------------------------------------------ create */

static char *creating_name(const char *path)
{
    size_t n = strlen(path);
    char *t = malloc(n + sizeof ".creating");
    if (t) {
        memcpy(t, path, n);
        memcpy(t + n, ".creating", sizeof ".creating");
    }
    return t;
}

/* Every variable's initial values, after the whole layout (the cells of the
 * variable-length strings go to the heap behind it). */
static ns_status write_inits(ns_h5 *h, const ns_h5_layout *L)
{
    int any = 0;
    for (int i = 0; i < L->nvars; i++) any |= L->vars[i].init != NULL;
    if (!any) return NS_OK;
    NS_TRY(ns_h5_load_table(h));
    for (int i = 0; i < L->nvars; i++) {
        const ns_h5_var *V = &L->vars[i];
        size_t rows = L->dims[ns_h5_layout_find_dim(L, V->dims[0])].size;
        if (V->init) NS_TRY(ns_h5_write_rows(h, V->name, 0, rows, V->init));
    }
    return NS_OK;
}

/* The layout and the initial values in the open file, flushed. */
static ns_status lay_out(ns_h5 *h, const ns_h5_layout *L)
{
    hid_t dim_ids[L->ndims > 0 ? L->ndims : 1];
    for (int i = 0; i < L->ndims; i++) dim_ids[i] = H5I_INVALID_HID;
    ns_status st = create_all(h, L, dim_ids);
    for (int i = 0; i < L->ndims; i++)
        if (dim_ids[i] >= 0) H5Dclose(dim_ids[i]);
    NS_TRY(st);
    NS_TRY(write_inits(h, L));
    errno = 0;
    if (H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0)
        return ns_h5_err(h->path, "H5Fflush after creating the layout failed");
    return NS_OK;
}

/* Rank 0 alone, serial driver: the whole file as tmp, closed, renamed to path.
 * On failure nothing is left at tmp and path is untouched. */
static ns_status build(const char *path, const ns_h5_layout *L, const char *tmp,
                       unsigned long long need)
{
    ns_h5 *h = NULL;
    hid_t fa = H5I_INVALID_HID;
    NS_TRY(ns_h5_begin(path, MPI_COMM_NULL, &h, &fa));
    h->writable = 1;
    ns_status st = NS_OK;
    /* the 1.8 format: checksummed metadata (1.10's superblock v3 would add a
     * "file open for writing" flag that a killed job leaves set) */
    if (H5Pset_libver_bounds(fa, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0)
        st = ns_h5_err(path, "cannot select the HDF5 1.8 file format");
    errno = 0;
    h->file = st == NS_OK ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fa) : H5I_INVALID_HID;
    if (st == NS_OK && h->file < 0) st = ns_h5_err(path, "cannot create the store file %s", tmp);
    H5Pclose(fa);
    if (st == NS_OK) st = reserve(path, tmp, need);
    if (st == NS_OK) st = lay_out(h, L);
    if (st == NS_OK) trim(h->file, tmp);
    if (st == NS_OK) {
        st = ns_h5_close(h); /* flushes and closes: whole on disk before the rename */
    } else {
        ns_h5_free_handle(h); /* whatever was made; the error is st's */
    }
    if (st == NS_OK && rename(tmp, path) != 0)
        st = ns_error_set(NS_ERR_IO, "%s: cannot rename %s to it: %s", path, tmp, strerror(errno));
    if (st != NS_OK) unlink(tmp);
    return st;
}

ns_status ns_h5_create(const char *path, MPI_Comm comm, const ns_h5_layout *L, ns_h5 **out)
{
    NS_CHECK(out, NS_ERR_ARG, "ns_h5_create: NULL out");
    *out = NULL;
    NS_CHECK(path && *path, NS_ERR_ARG, "ns_h5_create: empty file path");
    int rank = 0;
    if (comm != MPI_COMM_NULL) {
        int init = 0;
        NS_TRY(ns_mpi_check_file(MPI_Initialized(&init), path, "MPI_Initialized"));
        NS_CHECK(init, NS_ERR_STATE, "%s: collective create needs MPI_Init first", path);
        NS_TRY(ns_coll_rank(comm, path, &rank));
        NS_TRY(ns_h5_layout_agree(path, comm, L));
    } else {
        NS_TRY(ns_h5_layout_check(L));
    }
    unsigned long long need = ns_h5_layout_bytes(L);
    NS_TRY(ns_coll_from_root(comm, path, rank == 0 ? check_space(path, need) : NS_OK));
    char *tmp = creating_name(path);
    NS_CHECK(tmp, NS_ERR_NOMEM, "out of memory");
    char what[600];
    snprintf(what, sizeof what, "creating %.500s", path);
    /* bounds the others' wait too: rank 0 hung in its build must not hang them */
    ns_watchdog_arm(what, 300.0 + (double)need / 10e6); /* generous: 10 MB/s of fill */
    ns_status st = rank == 0 ? build(path, L, tmp, need) : NS_OK;
    /* rank 0's verdict before anyone opens: the same error on every rank */
    st = ns_coll_from_root_idle(comm, path, st);
    ns_watchdog_disarm();
    free(tmp);
    NS_TRY(st);
    /* collective (its own deadline); the file is whole at path from here on */
    return ns_h5_open(path, comm, 1, out);
}
