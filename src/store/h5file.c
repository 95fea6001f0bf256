/* h5file.c - open/close/flush of a store file, type mapping, HDF5 error
 * capture and attributes. The dataset table of an open file is in table.c,
 * creation in create.c, row I/O in rows.c. */
#include "h5_internal.h"
#include "collective.h"
#include "watchdog.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ------------------------------------------------------------ errors */

void ns_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

/* H5Ewalk callback: keep the innermost description (the last one visited
 * walking downward), which is the most specific - "truncated file: eof = 800,
 * sblock->base_addr = 0, stored_eof = 2048", "unable to open file: ... errno =
 * 2" - with the function that raised it. */
static herr_t err_walk(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    char *buf = data;
    if (e->desc && *e->desc) snprintf(buf, 400, "%s (in %s)", e->desc, e->func_name);
    /* the sec2 driver's "time = <ctime>\n, " would split the message over two
     * lines (and differ between runs): drop it */
    char *t = strstr(buf, "time = "), *nl = t ? strchr(t, '\n') : NULL;
    if (nl && nl[1] == ',') memmove(t, nl + 2 + (nl[2] == ' '), strlen(nl + 2 + (nl[2] == ' ')) + 1);
    return 0;
}

/* After a failed write: a full file system is the usual cause, but MPI-IO
 * reports a short write without errno; say how much room is left. */
static void note_free_space(const char *path, char *buf, size_t n)
{
    if (!path) return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    struct statvfs v;
    if (statvfs(dir, &v) != 0) return;
    unsigned long long avail = (unsigned long long)v.f_bavail * v.f_frsize;
    if (avail < 1024 * 1024)
        snprintf(buf + strlen(buf), n - strlen(buf),
                 "; the file system holding it has %llu bytes free (ENOSPC)", avail);
}

ns_status ns_h5_err(const char *path, const char *fmt, ...)
{
    int e = errno; /* the system call HDF5 made last, if any */
    char what[512], inner[400] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, err_walk, inner);
    H5Eclear2(H5E_DEFAULT);
    /* HDF5 reports some failures (MPI-IO, a full disk) without an entry on its
     * stack: say what the operating system said (callers clear errno before
     * the HDF5 call, so a set errno is that call's) */
    if (!inner[0]) snprintf(inner, sizeof inner, "%s", e ? strerror(e) : "HDF5 gave no reason");
    /* "file write failed" says nothing of why: a full disk, a quota, a
     * read-only or failing device is what the user can act on */
    else if (e == ENOSPC || e == EDQUOT || e == EIO || e == EROFS || e == EFBIG)
        snprintf(inner + strlen(inner), sizeof inner - strlen(inner), ": %s (%s)", strerror(e),
                 e == ENOSPC ? "ENOSPC" : e == EDQUOT ? "EDQUOT" : e == EIO ? "EIO"
                 : e == EROFS ? "EROFS" : "EFBIG");
    if (strstr(inner, "write failed") && !strstr(inner, "ENOSPC"))
        note_free_space(path, inner, sizeof inner);
    return ns_error_set(NS_ERR_HDF5, "%s: %s: %s", path ? path : "(no file)", what, inner);
}

/* ------------------------------------------------------------ types */

size_t ns_h5_type_size(ns_h5_type t, int str_len)
{
    switch (t) {
    case NS_H5_F32: return 4;
    case NS_H5_F64: return 8;
    case NS_H5_I32: return 4;
    case NS_H5_I64: return 8;
    case NS_H5_STR: return str_len > 0 ? (size_t)str_len : 0;
    case NS_H5_VSTR: return sizeof(char *);
    }
    return 0;
}

/* UTF-8 strings: str_len bytes NUL-padded, or variable length (str_len 0). */
static hid_t str_type(int str_len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (str_len > 0) {
        H5Tset_size(t, (size_t)str_len);
        H5Tset_strpad(t, H5T_STR_NULLPAD);
    } else {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_strpad(t, H5T_STR_NULLTERM);
    }
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

/* Fixed little-endian on disk so a file moves between machines unchanged. */
hid_t ns_h5_file_type(ns_h5_type t, int str_len)
{
    switch (t) {
    case NS_H5_F32: return H5Tcopy(H5T_IEEE_F32LE);
    case NS_H5_F64: return H5Tcopy(H5T_IEEE_F64LE);
    case NS_H5_I32: return H5Tcopy(H5T_STD_I32LE);
    case NS_H5_I64: return H5Tcopy(H5T_STD_I64LE);
    case NS_H5_STR: return str_type(str_len);
    case NS_H5_VSTR: return str_type(0);
    }
    return H5I_INVALID_HID;
}

hid_t ns_h5_char_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1); /* size 1, ASCII: what netCDF-C writes for NC_CHAR */
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    return t;
}

hid_t ns_h5_mem_type(ns_h5_type t, int str_len)
{
    switch (t) {
    case NS_H5_F32: return H5Tcopy(H5T_NATIVE_FLOAT);
    case NS_H5_F64: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case NS_H5_I32: return H5Tcopy(H5T_NATIVE_INT32);
    case NS_H5_I64: return H5Tcopy(H5T_NATIVE_INT64);
    case NS_H5_STR: return str_type(str_len);
    case NS_H5_VSTR: return str_type(0);
    }
    return H5I_INVALID_HID;
}

void ns_h5_fill_value(ns_h5_type t, int str_len, void *buf)
{
    switch (t) {
    case NS_H5_F32: *(float *)buf = NAN; break;
    case NS_H5_F64: *(double *)buf = NAN; break;
    case NS_H5_I32: *(int32_t *)buf = NS_H5_FILL_INT; break;
    case NS_H5_I64: *(int64_t *)buf = NS_H5_FILL_INT; break;
    case NS_H5_STR: memset(buf, 0, (size_t)str_len); break;
    case NS_H5_VSTR: *(const char **)buf = ""; break;
    }
}

int ns_h5_all_fill(ns_h5_type t, int str_len, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (t) {
        case NS_H5_F32: if (!isnan(((const float *)p)[i])) return 0; break;
        case NS_H5_F64: if (!isnan(((const double *)p)[i])) return 0; break;
        case NS_H5_I32: if (((const int32_t *)p)[i] != NS_H5_FILL_INT) return 0; break;
        case NS_H5_I64: if (((const int64_t *)p)[i] != NS_H5_FILL_INT) return 0; break;
        case NS_H5_STR:
            for (int k = 0; k < str_len; k++)
                if (((const char *)p)[i * (size_t)str_len + (size_t)k] != 0) return 0;
            break;
        case NS_H5_VSTR: {
            const char *v = ((const char *const *)p)[i];
            if (v && *v) return 0;
            break;
        }
        }
    }
    return 1;
}

/* ------------------------------------------------------------ open / close */

void ns_h5_free_handle(ns_h5 *h)
{
    if (!h) return;
    for (int i = 0; i < h->nd; i++) {
        if (h->d[i].id >= 0) H5Dclose(h->d[i].id);
        if (h->d[i].mtype >= 0) H5Tclose(h->d[i].mtype);
    }
    free(h->d);
    if (h->dxpl >= 0 && h->dxpl != H5P_DEFAULT) H5Pclose(h->dxpl);
    if (h->file >= 0) H5Fclose(h->file);
    free(h->path);
    free(h);
}

/* Open MPI's sharedfp/lockedfile component, which MPI_File_open selects for
 * every file, copies the file name into a fixed buffer and aborts the process
 * on a path of 245 characters or more. HDF5 never uses shared file pointers,
 * so the component is switched off (before the first MPI-IO open of the
 * process, when Open MPI reads the variable) unless the user chose sharedfp
 * components; then a long path is refused instead of aborting. */
static ns_status avoid_lockedfile(const char *path)
{
    /* 244 characters work; a new file is made as PATH.creating (create.c) */
    enum { LOCKEDFILE_MAX_PATH = 244 - 9 };
    const char *v = getenv("OMPI_MCA_sharedfp");
    if (!v) {
        setenv("OMPI_MCA_sharedfp", "^lockedfile", 0);
        return NS_OK;
    }
    int selected = v[0] == '^' ? !strstr(v, "lockedfile") : strstr(v, "lockedfile") != NULL;
    NS_CHECK(!selected || strlen(path) <= LOCKEDFILE_MAX_PATH, NS_ERR_ARG,
             "%s: a path of %zu characters aborts Open MPI's sharedfp/lockedfile component, "
             "which OMPI_MCA_sharedfp=%s allows; use a path of at most %d characters (e.g. a "
             "relative one) or OMPI_MCA_sharedfp=^lockedfile",
             path, strlen(path), v, LOCKEDFILE_MAX_PATH);
    return NS_OK;
}

ns_status ns_h5_begin(const char *path, MPI_Comm comm, ns_h5 **hp, hid_t *fapl)
{
    *hp = NULL;
    *fapl = H5I_INVALID_HID;
    NS_CHECK(path && *path, NS_ERR_ARG, "ns_h5: empty file path");
    if (comm != MPI_COMM_NULL) NS_TRY(avoid_lockedfile(path));
    ns_h5_quiet();
    ns_h5 *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path))) {
        free(h);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory for the store handle", path);
    }
    h->file = H5I_INVALID_HID;
    h->dxpl = H5P_DEFAULT;
    h->parallel = comm != MPI_COMM_NULL;
    hid_t fa = H5Pcreate(H5P_FILE_ACCESS);
    if (h->parallel) {
        int init = 0;
        MPI_Initialized(&init);
        if (!init) {
            ns_h5_free_handle(h);
            H5Pclose(fa);
            return ns_error_set(NS_ERR_STATE,
                                "%s: MPI-IO open needs MPI_Init first (or pass MPI_COMM_NULL "
                                "for serial access)",
                                path);
        }
        h->dxpl = H5Pcreate(H5P_DATASET_XFER);
        if (H5Pset_fapl_mpio(fa, comm, MPI_INFO_NULL) < 0 ||
            H5Pset_dxpl_mpio(h->dxpl, H5FD_MPIO_INDEPENDENT) < 0) {
            H5Pclose(fa);
            ns_h5_free_handle(h);
            return ns_h5_err(path, "cannot set up the MPI-IO driver");
        }
    } else if (H5Pset_fapl_sec2(fa) < 0) {
        H5Pclose(fa);
        ns_h5_free_handle(h);
        return ns_h5_err(path, "cannot set up the sec2 driver");
    }
    *hp = h;
    *fapl = fa;
    return NS_OK;
}

/* What the operating system can tell about a file before HDF5 opens it: a
 * missing file is NS_ERR_IO (callers may treat it as "nothing yet"); so are a
 * directory, a FIFO or device (opening one could block) and a file this
 * process may not read (or write, for writable); an empty file NS_ERR_FORMAT. */
static ns_status check_path(const char *path, int writable)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return ns_error_set(NS_ERR_IO, "%s: cannot open store file: %s", path, strerror(errno));
    NS_CHECK(!S_ISDIR(sb.st_mode), NS_ERR_IO, "%s: is a directory, not a store file", path);
    NS_CHECK(S_ISREG(sb.st_mode), NS_ERR_IO, "%s: not a regular file (a FIFO, socket or device)",
             path);
    NS_CHECK(sb.st_size > 0, NS_ERR_FORMAT, "%s: empty file (0 bytes): not an HDF5 file", path);
    if (access(path, writable ? R_OK | W_OK : R_OK) != 0)
        return ns_error_set(NS_ERR_IO, "%s: cannot open store file %s: %s", path,
                            writable ? "read-write" : "read-only", strerror(errno));
    return NS_OK;
}

ns_status ns_h5_open(const char *path, MPI_Comm comm, int writable, ns_h5 **out)
{
    NS_CHECK(out, NS_ERR_ARG, "ns_h5_open: NULL out");
    *out = NULL;
    ns_h5 *h = NULL;
    hid_t fa = H5I_INVALID_HID;
    ns_status st = ns_h5_begin(path, comm, &h, &fa);
    if (st == NS_OK) st = check_path(path, writable);
    /* every rank must see the file before the collective open (a file on a
     * node-local disk, or missing on one node, would hang the others in it) */
    st = ns_coll_agree(comm, path, st);
    if (st != NS_OK) {
        if (fa >= 0) H5Pclose(fa);
        ns_h5_free_handle(h);
        return st;
    }
    h->writable = writable != 0;
    char what[600];
    snprintf(what, sizeof what, "opening %.500s", path);
    if (h->parallel) ns_watchdog_arm(what, 300.0);
    errno = 0;
    h->file = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fa);
    if (h->file < 0)
        st = ns_h5_err(path, "not an HDF5 file or cannot be opened %s",
                       writable ? "read-write" : "read-only");
    H5Pclose(fa);
    if (st == NS_OK) st = ns_h5_load_table(h);
    if (h->parallel) ns_watchdog_disarm();
    if (st != NS_OK) {
        ns_h5_free_handle(h);
        return st;
    }
    *out = h;
    return NS_OK;
}

ns_status ns_h5_flush(ns_h5 *h)
{
    NS_CHECK(h, NS_ERR_ARG, "ns_h5_flush: NULL handle");
    if (h->writable && H5Fflush(h->file, H5F_SCOPE_GLOBAL) < 0)
        return ns_h5_err(h->path, "H5Fflush failed");
    return NS_OK;
}

ns_status ns_h5_close(ns_h5 *h)
{
    if (!h) return NS_OK;
    ns_status st = ns_h5_flush(h);
    for (int i = 0; i < h->nd; i++) {
        if (h->d[i].id >= 0 && H5Dclose(h->d[i].id) < 0 && st == NS_OK)
            st = ns_h5_err(h->path, "cannot close dataset '%s'", h->d[i].name);
        h->d[i].id = H5I_INVALID_HID;
    }
    if (h->file >= 0 && H5Fclose(h->file) < 0 && st == NS_OK)
        st = ns_h5_err(h->path, "H5Fclose failed");
    h->file = H5I_INVALID_HID;
    ns_h5_free_handle(h);
    return st;
}

/* ------------------------------------------------------------ queries */

ns_status ns_h5_var_info(ns_h5 *h, const char *var, ns_h5_info *info)
{
    ns_h5_dset *d = ns_h5_find(h, var);
    if (!d) return NS_ERR_ARG;
    *info = d->info;
    return NS_OK;
}

int ns_h5_nvars(const ns_h5 *h) { return h ? h->nd : 0; }

const char *ns_h5_var_name(const ns_h5 *h, int i)
{
    return (h && i >= 0 && i < h->nd) ? h->d[i].name : NULL;
}

ns_status ns_h5_dim_size(ns_h5 *h, const char *dim, size_t *size)
{
    ns_h5_dset *d = ns_h5_find(h, dim);
    if (!d || !d->is_scale)
        return ns_error_set(NS_ERR_ARG, "%s: no dimension '%s' in the file", h ? h->path : "?",
                            dim ? dim : "(null)");
    *size = d->info.shape[0];
    return NS_OK;
}

/* ------------------------------------------------------------ attributes */

ns_status ns_h5_put_str_attr(const char *path, hid_t obj, const char *objname, const char *name,
                             const char *value)
{
    /* strlen+1 bytes, NUL-terminated: netCDF readers decode it as text. */
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t s = H5Screate(H5S_SCALAR);
    errno = 0;
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = a >= 0 ? H5Awrite(a, t, value) : -1;
    ns_status st = w < 0 ? ns_h5_err(path, "cannot write attribute '%s' on '%s'", name, objname)
                         : NS_OK;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    return st;
}

ns_status ns_h5_get_attr(ns_h5 *h, const char *name, char **value)
{
    NS_CHECK(h && name && value, NS_ERR_ARG, "ns_h5_get_attr: NULL argument");
    *value = NULL;
    htri_t ex = H5Aexists(h->file, name);
    if (ex < 0) return ns_h5_err(h->path, "cannot look up root attribute '%s'", name);
    if (ex == 0) return ns_error_set(NS_ERR_ARG, "%s: no root attribute '%s'", h->path, name);
    hid_t a = H5Aopen(h->file, name, H5P_DEFAULT);
    if (a < 0) return ns_h5_err(h->path, "cannot open root attribute '%s'", name);
    hid_t ft = H5Aget_type(a);
    ns_status st = NS_OK;
    if (H5Tget_class(ft) != H5T_STRING) {
        st = ns_error_set(NS_ERR_FORMAT, "%s: root attribute '%s' is not a string", h->path, name);
    } else if (H5Tis_variable_str(ft) > 0) { /* as h5py writes them */
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        char *v = NULL;
        if (H5Aread(a, mt, &v) < 0 || !v) st = ns_h5_err(h->path, "cannot read attribute '%s'", name);
        else if (!(*value = strdup(v))) st = ns_error_set(NS_ERR_NOMEM, "out of memory");
        if (v) H5free_memory(v);
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(ft);
        char *v = calloc(n + 1, 1);
        if (!v) st = ns_error_set(NS_ERR_NOMEM, "out of memory");
        else if (H5Aread(a, ft, v) < 0) {
            st = ns_h5_err(h->path, "cannot read attribute '%s'", name);
            free(v);
        } else
            *value = v;
    }
    H5Tclose(ft);
    H5Aclose(a);
    return st;
}
