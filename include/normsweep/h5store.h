/* h5store.h - one shared parallel-HDF5 file described by a schema (a layout).
 *
 * The whole file - every dimension, variable and attribute - is created in one
 * collective call (ns_h5_create) by all ranks of a communicator with identical
 * arguments; after that each rank writes its own rows with independent I/O and
 * never touches metadata again. This is the only pattern parallel HDF5 makes
 * safe (platform.md), and it is also what makes a killed job lose nothing: the
 * metadata is complete and flushed before the first row is written, so a file
 * cut off mid-run is readable, with unwritten cells at their fill value.
 *
 * Conventions (docs/hdf5-store.md has the full story):
 *   - dimensions are HDF5 dimension scales (netCDF-4 style), so xarray
 *     (engine="h5netcdf") opens the file with named dims and coordinates;
 *   - datasets are contiguous, allocated at creation, prefilled with
 *     NaN (floats), NS_H5_FILL_INT (ints) or "" (strings);
 *   - strings are fixed-length, NUL-padded, `str_len` bytes (no terminator
 *     when the text fills the cell), or variable-length (NS_H5_VSTR), which
 *     are written only at creation (parallel HDF5 cannot write them);
 *   - variables carry `units`, `long_name`, `description` string attributes.
 *
 * Only src/store/ includes hdf5.h; callers see an opaque handle. The MPI-IO
 * driver needs Open MPI's sharedfp/lockedfile component off for long paths:
 * the store sets OMPI_MCA_sharedfp=^lockedfile unless the user set it.
 */
#ifndef NORMSWEEP_H5STORE_H
#define NORMSWEEP_H5STORE_H

#include "normsweep/error.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* Fill value of integer variables: a cell nobody wrote reads as -1. */
#define NS_H5_FILL_INT (-1)
/* Limits of a layout. */
#define NS_H5_MAX_DIMS 5    /* rank of one variable      */
#define NS_H5_MAX_NAME 63   /* bytes in a dim/var name   */

typedef enum {
    NS_H5_F32, /* IEEE float32, little-endian on disk */
    NS_H5_F64, /* IEEE float64                        */
    NS_H5_I32, /* int32_t                             */
    NS_H5_I64, /* int64_t                             */
    NS_H5_STR, /* fixed-length string of str_len bytes, NUL-padded */
    NS_H5_VSTR /* variable-length UTF-8 string (netCDF-4's string); in memory
                  a `const char *` per cell. Parallel HDF5 cannot write these
                  (independent or collective): give their values as the
                  variable's `init`, written when the file is created */
} ns_h5_type;

/* A dimension: becomes a 1-D dataset of that name marked as a dimension
 * scale. With coord != NULL it holds `size` coordinate values of coord_type
 * (for NS_H5_STR coord_str_len bytes each); with coord == NULL it is a pure
 * dimension (netCDF's "dimension but not a variable") and xarray shows it
 * without coordinate values. */
typedef struct ns_h5_dim {
    const char *name;
    size_t size;            /* fixed at creation; >= 1 */
    ns_h5_type coord_type;
    const void *coord;      /* `size` values of coord_type, or NULL */
    int coord_str_len;      /* only for coord_type == NS_H5_STR */
    const char *units, *long_name; /* NULL = no attribute */
} ns_h5_dim;

/* A variable: a dataset over 1..4 named dims (the first is the "row" dim). */
typedef struct ns_h5_var {
    const char *name;
    ns_h5_type type;
    int str_len;            /* bytes per cell, only for NS_H5_STR (>= 1) */
    int ndims;
    const char *dims[NS_H5_MAX_DIMS];
    const char *units, *long_name, *description; /* NULL = no attribute */
    /* netCDF/CF `coordinates` attribute: names of the variables that label
     * this one's rows, space-separated (xarray makes them coordinates) */
    const char *coordinates;
    /* the whole variable's values (C order, memory layout of the type), written
     * when the file is created; NULL = fill values. Required for NS_H5_VSTR. */
    const void *init;
} ns_h5_var;

typedef struct ns_h5_layout {
    const ns_h5_dim *dims;
    int ndims;
    const ns_h5_var *vars;
    int nvars;
    /* string attributes on the root group */
    const char *const *attr_names;
    const char *const *attr_values;
    int nattrs;
} ns_h5_layout;

typedef struct ns_h5 ns_h5;

/* Checks a layout without touching any file: names non-empty, unique, at most
 * NS_H5_MAX_NAME bytes, no '/'; every var dim declared; sizes >= 1; string
 * lengths >= 1. NS_ERR_ARG names the offending dim/var. */
ns_status ns_h5_layout_check(const ns_h5_layout *L);

/* Collective over comm: create path with the whole layout, write the
 * coordinates and attributes, flush. All ranks must pass identical arguments;
 * this is verified (a checksum of the layout is compared over comm) and a
 * mismatch is NS_ERR_ARG on every rank rather than a hang. The file is built
 * as path.creating in HDF5's 1.8 format (checksummed metadata), its bytes
 * reserved first (no space: NS_ERR_IO naming ENOSPC, nothing created), and
 * renamed to path when complete: a failure never leaves a half-made file at
 * path. Every failure is the same status and message on every rank; a rank
 * stuck in a collective HDF5 call past a deadline aborts the job
 * (docs/hdf5-store.md, "Collective versus independent calls"). */
ns_status ns_h5_create(const char *path, MPI_Comm comm, const ns_h5_layout *L, ns_h5 **out);

/* Collective over comm. comm == MPI_COMM_NULL opens with the serial (sec2)
 * driver and needs no MPI at all (tools: status, merge); MPI_COMM_SELF opens
 * with MPI-IO on one rank. Missing file, directory, FIFO, unreadable (or, if
 * writable, unwritable) file -> NS_ERR_IO on every rank if on any; empty
 * file -> NS_ERR_FORMAT. A file that did not come from this process should be
 * checked first (ns_results_check): HDF5 can crash on damaged metadata. */
ns_status ns_h5_open(const char *path, MPI_Comm comm, int writable, ns_h5 **out);

/* Collective. Flushes, closes every dataset and the file, frees h (h may be NULL). */
ns_status ns_h5_close(ns_h5 *h);

/* Collective: push HDF5's buffers to the file (H5Fflush, global scope). */
ns_status ns_h5_flush(ns_h5 *h);

/* Independent (any rank, any time, no other rank involved).
 * write_rows/read_rows: rows [row0, row0+nrows) of the leading dim, each row
 * all trailing dims; data is C-ordered, element type as declared (int32_t,
 * int64_t, float, double, or str_len chars per string cell; NS_H5_VSTR: use
 * ns_h5_read_str / ns_h5_write_str).
 * write_box/read_box: a general box start[0..ndims) / count[0..ndims).
 * Out-of-range boxes are NS_ERR_ARG naming the var; unknown var NS_ERR_ARG. */
ns_status ns_h5_write_rows(ns_h5 *h, const char *var, size_t row0, size_t nrows, const void *data);
ns_status ns_h5_read_rows(ns_h5 *h, const char *var, size_t row0, size_t nrows, void *data);
ns_status ns_h5_write_box(ns_h5 *h, const char *var, const size_t *start, const size_t *count,
                          const void *data);
ns_status ns_h5_read_box(ns_h5 *h, const char *var, const size_t *start, const size_t *count,
                         void *data);
/* Write one string cell at index[0..ndims), NUL-padding s to the cell size;
 * a string longer than str_len is NS_ERR_ARG (never silently truncated).
 * NS_H5_VSTR cells: serial handles only (NS_ERR_STATE through MPI-IO). */
ns_status ns_h5_write_str(ns_h5 *h, const char *var, const size_t *index, const char *s);
/* Read one string cell (fixed or variable length) into buf as a NUL-terminated
 * string; NS_ERR_ARG if it needs more than cap bytes or var is not a string. */
ns_status ns_h5_read_str(ns_h5 *h, const char *var, const size_t *index, char *buf, size_t cap);
/* Rows [row0, row0+n) of a 1-D string variable (fixed or variable length) as
 * n malloc'd C strings in *out; free them with ns_h5_free_strs. */
ns_status ns_h5_read_strs(ns_h5 *h, const char *var, size_t row0, size_t n, char ***out);
void ns_h5_free_strs(char **v, size_t n);

/* What a variable (or dimension-scale dataset) looks like. shape/dims have
 * ndims entries; dims[i] points into h and lives until ns_h5_close. */
typedef struct ns_h5_info {
    ns_h5_type type;
    int str_len;            /* NS_H5_STR only */
    size_t elem_size;       /* bytes per cell */
    int ndims;
    size_t shape[NS_H5_MAX_DIMS];
    const char *dims[NS_H5_MAX_DIMS];
    size_t row_elems;       /* cells in one row (product of shape[1..]) */
} ns_h5_info;
ns_status ns_h5_var_info(ns_h5 *h, const char *var, ns_h5_info *info);
/* Number of datasets (vars and dims) in the file and the name of the i-th
 * (sorted by name, as HDF5 lists them). */
int ns_h5_nvars(const ns_h5 *h);
const char *ns_h5_var_name(const ns_h5 *h, int i);
/* Size of a dimension; NS_ERR_ARG if there is none of that name. */
ns_status ns_h5_dim_size(ns_h5 *h, const char *dim, size_t *size);

/* Root string attribute; *value is malloc'd (caller frees). Missing -> NS_ERR_ARG. */
ns_status ns_h5_get_attr(ns_h5 *h, const char *name, char **value);

/* Independent. *written = 1 if any cell of row `row` of var differs from the
 * fill value (a NaN, NS_H5_FILL_INT, or an all-NUL string). */
ns_status ns_h5_row_written(ns_h5 *h, const char *var, size_t row, int *written);

/* Merge support, independent: copy row src_row of every variable of src whose
 * leading dim is named lead_dim into row dst_row of the same variable in dst.
 * Each such variable must exist in dst with the same type and trailing shape
 * (NS_ERR_FORMAT naming both files otherwise); dimension-scale datasets are
 * not copied. *ncopied (may be NULL) = number of variables copied. */
ns_status ns_h5_copy_row(ns_h5 *dst, size_t dst_row, ns_h5 *src, size_t src_row,
                         const char *lead_dim, int *ncopied);

/* Bytes per cell of a type in memory (str_len for strings, a pointer for
 * NS_H5_VSTR). */
size_t ns_h5_type_size(ns_h5_type t, int str_len);

#endif
