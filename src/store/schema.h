/* schema.h - the results file's schema as ONE table (schema.c): every
 * dimension and every variable with its type, dims, units, long_name, when it
 * exists and where its values come from. The layout (results.c), the per-run
 * sink (sink.c), the docs' tables (docs/hdf5-schema.md, checked by
 * tests/unit/test_results_schema.c) and - through the file itself - the
 * Python loader all follow it. Internal to src/store/.
 *
 * Adding a probe output: a field in ns_probe_rec (run.h) filled by the run,
 * and one row in schema.c's variable table. Nothing else in the store.
 *
 * The one rule for "does this variable exist": a dimension exists when its
 * size (the maximum over the sweep's runs) is > 0 and the dimensions it
 * needs exist; a variable exists when all its dimensions, the extra
 * dimensions it needs, and its probe switches hold for the SWEEP
 * (ns_schema_sweep). The layout creates exactly those, and a run's sink writes
 * exactly the variables the file has, each over that run's own extents. */
#ifndef NS_STORE_SCHEMA_H
#define NS_STORE_SCHEMA_H

#include "normsweep/h5store.h"
#include "normsweep/results.h"
#include "normsweep/run.h"
#include "normsweep/spec.h"

#include <stdio.h>

typedef enum ns_dim_id {
    NS_D_RUN, NS_D_STEP, NS_D_EVAL, NS_D_LAYER, NS_D_ACT_LAYER, NS_D_UNIT, NS_D_PROBE,
    NS_D_ETA, NS_D_QUANTILE, NS_D_WEIGHT, NS_D_TENSOR, NS_D_AXIS, NS_D_EIG, NS_D_SLQ_VEC,
    NS_D_SLQ_NODE, NS_D_COUNT
} ns_dim_id;

#define NS_DIM_BIT(d) (1u << (d))

/* Coordinate values of a dimension (computed from the sweep's settings). */
typedef enum ns_coord_kind {
    NS_COORD_NONE,      /* netCDF "dimension but not a variable"  */
    NS_COORD_INDEX,     /* 0..n-1                                 */
    NS_COORD_ONE_BASED, /* 1..n                                   */
    NS_COORD_LOG_STEP,  /* step of each logged index              */
    NS_COORD_EVAL_STEP, /* updates before each evaluation         */
    NS_COORD_PROBE_STEP,/* the probe schedule                     */
    NS_COORD_ETA_REL,   /* eta / lr of the landscape probe        */
    NS_COORD_QUANTILE   /* activation quantile levels             */
} ns_coord_kind;

typedef struct ns_dim_def {
    const char *name;
    ns_h5_type type;
    ns_coord_kind coord;
    unsigned needs; /* NS_DIM_BIT()s of dims that must exist too */
    const char *units, *long_name;
    const char *size_doc; /* what the size is, for the docs */
} ns_dim_def;

/* Where a variable's values come from, i.e. who writes them and when. */
typedef enum ns_src {
    NS_SRC_CONFIG,  /* ns_run_config: rank 0, when the file is created      */
    NS_SRC_STATUS,  /* status/rank/message: creation, run start, run end    */
    NS_SRC_DIMS,    /* ns_run_dims of the run: run start                    */
    NS_SRC_META,    /* ns_run_meta: run start                               */
    NS_SRC_STEP,    /* ns_step_rec: buffered, written at each sync          */
    NS_SRC_EVAL,    /* ns_eval_rec: buffered, written at each sync          */
    NS_SRC_PROBE,   /* ns_probe_rec: written at each probe step             */
    NS_SRC_WEIGHTS, /* the final net's tensors (ns_net_tensor): run end     */
    NS_SRC_END      /* ns_run_result: run end, before status                */
} ns_src;

/* How the field at `off` in the source struct is read. */
typedef enum ns_field {
    NS_F_SPECIAL, /* written by dedicated code (status, weights)      */
    NS_F_F64,     /* double                                            */
    NS_F_F64S,    /* const double * (trailing extents of this run)     */
    NS_F_INT,     /* int -> int32                                      */
    NS_F_INTS,    /* const int * -> int32                              */
    NS_F_I64,     /* int64_t                                           */
    NS_F_U64,     /* uint64_t -> int64                                 */
    NS_F_SIZE,    /* size_t -> int64                                   */
    NS_F_CHARS,   /* char[] inline (NUL-terminated)                    */
    NS_F_STRS,    /* const char *const * (one string per cell)         */
    NS_F_INIT     /* int ns_init_kind -> "glorot" / "he"               */
} ns_field;

/* Probe switches a variable may need besides its dims. */
enum {
    NS_NEED_RANDOM = 1u << 0, /* probes.random_direction      */
    NS_NEED_ICS = 1u << 1,    /* probes.ics                   */
    NS_NEED_HESS = 1u << 2,   /* probes.hessian               */
    NS_NEED_HTRACE = 1u << 3, /* hessian.trace_samples > 0    */
    NS_NEED_THM41 = 1u << 4,  /* probes.thm41                 */
    NS_NEED_CURV_TRAIN = 1u << 5,   /* probes.curvature, mode train or both */
    NS_NEED_CURV_EVAL = 1u << 6,    /* probes.curvature, mode eval or both  */
    NS_NEED_CURV_HUTCH = 1u << 7,   /* curvature.hutchinson > 0             */
    NS_NEED_CURV_LAYERS = 1u << 8,  /* curvature.layers                     */
    NS_NEED_CURV_FDCHECK = 1u << 9  /* curvature.fd_check                   */
};

/* What a variable is to netCDF/CF readers. A coordinate labels the runs
 * (xarray: ds.where(ds.norm == "batch"), ds.groupby("norm")); every other
 * variable over `run` names the coordinates in its `coordinates` attribute. */
typedef enum ns_role {
    NS_ROLE_DATA = 0, /* a data variable                                  */
    NS_ROLE_COORD,    /* always a coordinate on run (lr, arch, norm, ...)  */
    NS_ROLE_AXIS      /* a coordinate when the sweep varies its axis      */
} ns_role;

typedef struct ns_var_def {
    const char *name;
    ns_h5_type type;
    int str_len;          /* NS_H5_STR cell bytes                  */
    const char *dims;     /* "run,probe,eta"                       */
    const char *units, *long_name;
    unsigned need_dims;   /* NS_DIM_BIT()s needed besides dims     */
    unsigned need_probe;  /* NS_NEED_* switches                    */
    ns_src src;
    ns_field field;
    size_t off;           /* offsetof the field in the src struct  */
    const char *from;     /* the field's name, for the docs        */
    ns_role role;
} ns_var_def;

extern const ns_dim_def ns_schema_dims[NS_D_COUNT];
extern const ns_var_def ns_schema_vars[];
extern const int ns_schema_nvars;

/* The sweep-wide facts that decide the layout. */
typedef struct ns_schema_sweep {
    size_t size[NS_D_COUNT];        /* maxima over runs (0: the dim is absent) */
    const ns_run_config *settings;  /* schedule and probe settings (sweep-wide) */
    unsigned varied;                /* spec->varied: bit a = axis a varies     */
    char coordinates[256];          /* "lr arch norm seed status ...": the run coordinates */
} ns_schema_sweep;

/* Sizes and settings of a spec's sweep. Refuses (NS_ERR_INTERNAL) a spec whose
 * runs differ in a setting the layout takes as sweep-wide. */
ns_status ns_schema_sweep_of(const ns_spec *spec, ns_schema_sweep *sw);
/* 1 if dim d / variable v exists in a file laid out for sw. */
int ns_schema_has_dim(const ns_schema_sweep *sw, ns_dim_id d);
int ns_schema_has_var(const ns_schema_sweep *sw, const ns_var_def *v);
/* 1 if v is a coordinate on `run` in a file laid out for sw. */
int ns_schema_is_coord(const ns_schema_sweep *sw, const ns_var_def *v);
/* The `coordinates` attribute of v (NULL: none - v is a coordinate itself, or
 * not over `run`). */
const char *ns_schema_coordinates_of(const ns_schema_sweep *sw, const ns_var_def *v);
/* Dim ids of v's dims; returns their number. */
int ns_schema_var_dims(const ns_var_def *v, ns_dim_id out[NS_H5_MAX_DIMS]);
/* Index of the variable named name, or -1. */
int ns_schema_find(const char *name);
/* Extents of one run's records along each dim (run = 1). */
void ns_schema_run_extents(const ns_run_dims *d, size_t weights, int tensors,
                           size_t ext[NS_D_COUNT]);
/* Coordinate values of dim d (n = its size) into buf (n cells of d's type);
 * NS_COORD_NONE writes nothing. */
ns_status ns_schema_coords(const ns_schema_sweep *sw, ns_dim_id d, void *buf);

/* One cell of scalar variable v (NS_F_F64, INT, I64, U64, SIZE, CHARS, INIT)
 * from its source struct src, in the variable's memory layout (cell: at least
 * ns_h5_type_size bytes, strings NUL-padded; NS_H5_VSTR: a pointer into src,
 * or to a static string, valid as long as src). A string longer than a
 * fixed-length cell is NS_ERR_ARG naming the variable (never truncated). */
ns_status ns_schema_encode(const ns_var_def *v, const void *src, void *cell);

/* "f64", "i32", "string[16]" ... (buf holds the string case). */
const char *ns_schema_type_text(ns_h5_type t, int str_len, char *buf, size_t n);

/* The docs' tables (markdown) of the dims and variables. */
void ns_schema_markdown(FILE *f);

#endif
