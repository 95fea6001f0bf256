/* h5_internal.h - what the store's .c files share; never included outside src/store/.
 * The handle keeps every dataset of the file open (the layout is small: tens of
 * datasets) so a row write is one hyperslab selection and one H5Dwrite, with no
 * metadata operation that would need the other ranks. */
#ifndef NS_STORE_H5_INTERNAL_H
#define NS_STORE_H5_INTERNAL_H

#include "normsweep/h5store.h"

#include <hdf5.h>
#include <hdf5_hl.h>

/* netCDF-4's marker for a dimension scale that has no coordinate values;
 * h5netcdf/xarray look for it in the scale's NAME attribute. */
#define NS_H5_PURE_DIM_NAME "This is a netCDF dimension but not a netCDF variable."

/* Fixed-length text (NS_H5_STR of n bytes) is stored the way netCDF stores
 * text, as an array of 1-byte chars with one more, last, dim "strlen<n>" (a
 * pure dim): netCDF-C 4.9 (xarray's default engine) crashes on HDF5 string
 * types longer than 1 byte. The store shows callers the cells as before. */
#define NS_H5_STRLEN_DIM "strlen"

/* Root attributes every store file carries (reserved names). */
#define NS_H5_ATTR_FORMAT "store_format"
#define NS_H5_ATTR_FILLS "fill_values"
#define NS_H5_FORMAT_TAG "normsweep-h5store 1"
#define NS_H5_FILLS_TEXT                                                           \
    "unwritten cells hold the fill value: NaN for floats, -1 for integers, "        \
    "empty string for strings"

typedef struct ns_h5_dset {
    char name[NS_H5_MAX_NAME + 1];
    hid_t id;     /* open dataset */
    hid_t mtype;  /* memory type matching info.type (owned copy) */
    int is_scale; /* a dimension-scale dataset (a dim, not a var) */
    int is_chars; /* NS_H5_STR cells stored as a char array: one more, last
                     dim of info.str_len chars beyond info.ndims */
    char dimname[NS_H5_MAX_DIMS][NS_H5_MAX_NAME + 1];
    ns_h5_info info; /* info.dims[i] -> dimname[i] */
} ns_h5_dset;

struct ns_h5 {
    char *path;
    hid_t file;
    hid_t dxpl; /* independent MPI-IO transfer, or H5P_DEFAULT for sec2 */
    int parallel, writable;
    int nd;
    ns_h5_dset *d; /* sorted by name */
};

/* Record NS_ERR_HDF5 with "path: <what>: <innermost HDF5 message>" and clear
 * HDF5's error stack. Returns NS_ERR_HDF5. */
ns_status ns_h5_err(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Silence HDF5's own printing of error stacks (we report through ns_error). */
void ns_h5_quiet(void);

/* File and memory datatypes of a store type (caller closes). */
hid_t ns_h5_file_type(ns_h5_type t, int str_len);
hid_t ns_h5_mem_type(ns_h5_type t, int str_len);
/* One byte of text, the cell type of a netCDF char array (NS_H5_STRLEN_DIM). */
hid_t ns_h5_char_type(void);
/* Fill value for t in memory layout of ns_h5_mem_type; buf >= elem size. */
void ns_h5_fill_value(ns_h5_type t, int str_len, void *buf);
/* 1 if the n cells at p all hold the fill value. */
int ns_h5_all_fill(ns_h5_type t, int str_len, const void *p, size_t n);

/* Allocate a handle for path and the file-access property list for comm
 * (MPI-IO, or sec2 when comm == MPI_COMM_NULL). Caller closes *fapl. */
ns_status ns_h5_begin(const char *path, MPI_Comm comm, ns_h5 **h, hid_t *fapl);
/* Free a handle whose file may be half-built (closes what is open). */
void ns_h5_free_handle(ns_h5 *h);

/* Build h->d from every dataset in the root group (collective: all ranks open
 * the same datasets). */
ns_status ns_h5_load_table(ns_h5 *h);
/* Dataset by name, or NULL with NS_ERR_ARG set naming the file and var. */
ns_h5_dset *ns_h5_find(ns_h5 *h, const char *var);

/* Cells of variable V of L (product of its dim sizes). */
size_t ns_h5_layout_cells(const ns_h5_layout *L, const ns_h5_var *V);
/* Index of the dim named name in L, or -1. */
int ns_h5_layout_find_dim(const ns_h5_layout *L, const char *name);
/* Collective over comm: every rank's layout is valid and all ranks passed the
 * same (path, layout); else the same error on every rank (layout.c). */
ns_status ns_h5_layout_agree(const char *path, MPI_Comm comm, const ns_h5_layout *L);
/* Bytes to reserve for the file of a valid layout: its raw data exactly plus a
 * generous bound on its metadata. */
unsigned long long ns_h5_layout_bytes(const ns_h5_layout *L);

/* Write a scalar UTF-8 string attribute on obj. */
ns_status ns_h5_put_str_attr(const char *path, hid_t obj, const char *objname, const char *name,
                             const char *value);

#endif
