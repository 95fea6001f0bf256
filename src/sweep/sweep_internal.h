/* sweep_internal.h - shared between the files of src/sweep/ only.
 *
 *   yaml_util.c     error collection ("file:line:col: msg") and typed getters
 *                   over libyaml's document tree (line/column marks kept)
 *   spec.c          entry points: text -> YAML document -> read -> validate
 *   keys.c          THE key table and the generic section reader it drives
 *   read_values.c   values a row kind alone cannot read (axes, lists, pairs)
 *   validate.c      checks across sections, after everything is read
 *   expand.c        axes/overrides/random -> runs[] in canonical order
 *   canonical.c     ns_spec_canonical
 *   plan.c          cost model
 *   validate_refs.c the only door to arch/norm/data modules
 */
#ifndef NS_SWEEP_INTERNAL_H
#define NS_SWEEP_INTERNAL_H

#include "normsweep/spec.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

/* ------------------------------------------------------------ text */
/* A growable string (messages, canonical JSON, plan text). On allocation
 * failure it stops growing and sets oom. */
typedef struct ns_sbuf {
    char *p;
    size_t len, cap;
    int oom;
} ns_sbuf;
void ns_sbuf_printf(ns_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ns_sbuf_vprintf(ns_sbuf *b, const char *fmt, va_list ap);
/* Append text with control characters (C0, DEL, C1) and bytes that are not
 * UTF-8 escaped as \n, \t, \r, \xNN or \u00NN: safe to print on a terminal. */
void ns_sbuf_escaped(ns_sbuf *b, const char *text);

/* ------------------------------------------------------------ errors */
/* Nodes that came from command-line override k (cmdline.c) carry the line
 * mark NS_OVERRIDE_LINE + k: messages about them read "<override k+1>:1:col"
 * and come after the file's own. */
#define NS_OVERRIDE_LINE (1L << 30)

typedef struct ns_err_line {
    long line, col;
    int seq;
    char *text; /* "file:line:col: msg" (escaped), no newline */
} ns_err_line;

typedef struct ns_errs {
    const char *file;   /* name used in messages                          */
    const char *prefix; /* after "file:line:col: ", e.g. "warning: "       */
    ns_err_line *v;
    int n, cap;
    int oom;
} ns_errs;

/* line/col are 1-based. */
void ns_errs_at(ns_errs *e, long line, long col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* At the start of node n. */
void ns_errs_node(ns_errs *e, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The lines in file order (line, column, then the order found), each ending
 * in a newline; NULL if there are none or memory ran out (e->oom). Frees
 * the lines either way. */
char *ns_errs_take(ns_errs *e);

/* ------------------------------------------------------------ tree access */
typedef struct ny_ctx {
    yaml_document_t *doc;
    ns_errs *e;
} ny_ctx;

yaml_node_t *ny_node(const ny_ctx *c, int id);
/* The value of key in mapping m, or NULL (also NULL if m is not a mapping). */
yaml_node_t *ny_get(const ny_ctx *c, const yaml_node_t *m, const char *key);
/* Type checks that report "where: expected ..., got ..." and return 0 on error. */
int ny_expect_map(const ny_ctx *c, const yaml_node_t *n, const char *where);
int ny_is_null(const yaml_node_t *n);
const char *ny_kind(const yaml_node_t *n); /* "a mapping", "a list", "'text'" ... */

/* Scalars. Return 1 on success, 0 after reporting an error. */
int ny_double(const ny_ctx *c, const yaml_node_t *n, const char *where, double *out);
int ny_int64(const ny_ctx *c, const yaml_node_t *n, const char *where, int64_t *out);
int ny_bool(const ny_ctx *c, const yaml_node_t *n, const char *where, int *out);
int ny_string(const ny_ctx *c, const yaml_node_t *n, const char *where, char *out, size_t cap);

/* Items of a list node (or the node itself if it is a scalar: a one-item
 * list). Returns the count, fills items[0..min(count, cap)). -1 after an error. */
int ny_items(const ny_ctx *c, const yaml_node_t *n, const char *where, yaml_node_t **items,
             int cap);

/* Line/column (1-based) of a node. */
static inline long ny_line(const yaml_node_t *n) { return (long)n->start_mark.line + 1; }
static inline long ny_col(const yaml_node_t *n) { return (long)n->start_mark.column + 1; }

/* Levenshtein distance of two short texts (99 if either is over 40 bytes). */
int ns_edit_distance(const char *a, const char *b);

/* ------------------------------------------------------------ parsed axes */
/* One numeric axis: lr, batch, momentum, weight_decay, init, seed. n == 0:
 * not given here. Integer axes (batch, init, seed) use iv, the others v. */
typedef struct ns_numaxis {
    int n;
    double v[NS_SPEC_MAX_AXIS];
    int64_t iv[NS_SPEC_MAX_AXIS];
} ns_numaxis;

#define NS_SPEC_MAX_OVERRIDES 16

/* The mapping forms of an axis while they are read: lr {log_range: [lo, hi],
 * count: n}, seed {count: n, start: s}. */
typedef struct ns_axis_form {
    double lo, hi; /* a pair: read together */
    int64_t count, start;
} ns_axis_form;

typedef struct ns_override {
    int line, col;                /* of the list item, for "matches no run"     */
    char match_arch[128];         /* fnmatch pattern; "" = any                  */
    char match_norm[64];
    ns_numaxis ax[NS_AXIS_COUNT]; /* only numeric axes used                     */
    int has_random_lr;
    double random_lo, random_hi;
} ns_override;

/* Random search (the 'search' section, and the deprecated 'random' one).
 * Sampled axes: lr, batch, momentum, weight_decay, and the width= of vgg
 * archs (a pseudo-axis after the grid's). */
#define NS_SEARCH_WIDTH NS_AXIS_COUNT
#define NS_SEARCH_AXES (NS_AXIS_COUNT + 1)
enum { NS_DIST_NONE = 0, NS_DIST_UNIFORM, NS_DIST_LOG_UNIFORM, NS_DIST_CHOICE };

typedef struct ns_search_axis {
    int dist;          /* NS_DIST_*: NONE = not sampled                          */
    double lo, hi;     /* uniform / log_uniform range                            */
    ns_numaxis choice; /* choice values (v, or iv for batch)                     */
} ns_search_axis;

typedef struct ns_search {
    int given;         /* a search (or random) section is present                */
    int legacy;        /* it is a 'random' section (deprecated)                  */
    int count;         /* W&B-style: runs in total, each drawing every axis; or 0 */
    int per_grid_point; /* draws, each crossed with every grid point; or 0       */
    uint64_t seed;
    ns_search_axis ax[NS_SEARCH_AXES];
} ns_search;

struct ns_spec_priv {
    int narch, nnorm;
    char arch[NS_SPEC_MAX_AXIS][128];
    char norm[NS_SPEC_MAX_AXIS][64];
    double arch_flops[NS_SPEC_MAX_AXIS]; /* training FLOPs per sample          */
    double arch_values[NS_SPEC_MAX_AXIS]; /* activation values per sample      */
    int arch_layers[NS_SPEC_MAX_AXIS];   /* measured (dense/conv) layers        */
    ns_numaxis grid[NS_AXIS_COUNT];      /* numeric axes of grid:               */
    int grid_line, grid_col;
    int noverrides;
    ns_override ov[NS_SPEC_MAX_OVERRIDES];
    ns_search search;
    char *canonical;
};

/* ------------------------------------------------------------ the key table (keys.c) */
/* Every key a sweep file may hold is ONE row of the table in keys.c: its
 * section, name, kind, range, default and destination. The allowed keys of a
 * mapping, the unknown-key and "did you mean" messages, the missing-key
 * messages, the defaults and the generic readers all come from it. */
typedef enum ns_key_kind {
    NK_SECTION,   /* a mapping: its own rows have section "<section>.<key>"  */
    NK_INT,       /* integer in [lo, hi]                   -> int64_t        */
    NK_INT32,     /* integer in [lo, hi]                   -> int            */
    NK_POSITIVE,  /* number > 0 (+inf with NK_INF_OK)      -> double         */
    NK_BOOL,      /* true / false                          -> int            */
    NK_TEXT,      /* text shorter than cap                 -> char[cap]      */
    NK_ENUM,      /* one of choices "a|b"                  -> int (index)    */
    NK_AXIS1,     /* one value of axis lo (ns_axis_value)  -> the axis' type */
    NK_AXIS,      /* value list of axis lo                 -> ns_numaxis     */
    NK_CUSTOM,    /* read by the row's read function                         */
    NK_MISPLACED  /* not a key here: choices names where it belongs           */
} ns_key_kind;

enum {
    NK_REQUIRED = 1,        /* missing -> error (hint says what to give)          */
    NK_NULL_OK = 2,         /* NK_SECTION: "key:" alone turns it on with defaults */
    NK_INF_OK = 4,          /* NK_POSITIVE: .inf allowed                          */
    NK_DEFAULT_IF_SET = 8,  /* default applies only when the section is given     */
    NK_CHECKED_LATER = 16,  /* required, but checked in the validation pass      */
    NK_FREE_TEXT = 32,      /* NK_TEXT: control characters (newlines) allowed     */
    NK_DEPRECATED = 64      /* still read, not listed in "expected one of"        */
};

typedef enum ns_key_dst {
    NK_NOWHERE = 0, /* checked, not stored                                   */
    NK_SPEC,        /* offset into ns_spec                                   */
    NK_PRIV,        /* offset into struct ns_spec_priv                       */
    NK_ITEM         /* offset into the item the section reader was given     */
} ns_key_dst;

typedef struct ns_reader ns_reader;
typedef struct ns_key ns_key;
/* Custom reader (NK_CUSTOM) or after-section check (NK_SECTION). dst: the
 * row's destination (NULL for NK_NOWHERE); n: the value (the mapping for
 * NK_SECTION); where: its path in messages ("probes.eta.relative"). */
typedef void (*ns_key_read_fn)(ns_reader *r, const ns_key *k, const yaml_node_t *n,
                               const char *where, void *dst);

struct ns_key {
    const char *section; /* "" top level, "train", "probes.eta", "overrides[]" */
    const char *key;
    ns_key_kind kind;
    unsigned flags;      /* NK_REQUIRED, ...                                    */
    int64_t lo, hi;      /* NK_INT/NK_INT32 range; NK_AXIS/NK_AXIS1: lo = axis   */
    int64_t limit;       /* NK_INT: a size limit (spec.h), 0: none               */
    size_t cap;          /* NK_TEXT: buffer size                                */
    const char *choices; /* NK_ENUM: "train|eval"; NK_MISPLACED: "grid.lr";
                            NK_SECTION: its rows' section if not <section>.<key> */
    const char *def;     /* default, as YAML text (NULL: none)                  */
    ns_key_dst dst;
    size_t off;          /* offsetof in the destination                         */
    size_t on;           /* NK_SECTION: int in ns_spec set to 1 when given      */
    ns_key_read_fn read; /* NK_CUSTOM: the reader; NK_SECTION: a final check    */
    const char *hint;    /* missing-key message; NK_MISPLACED: why              */
};

/* The row of (section, key), or NULL; all rows (docs test). */
const ns_key *ns_key_find(const char *section, const char *key);
const ns_key *ns_keys_all(int *n);
/* Apply every default of the table (except NK_DEFAULT_IF_SET ones). */
void ns_keys_defaults(ns_reader *r);
/* Read mapping m with the rows of `section`: unknown / duplicate / missing
 * keys reported, each value read by its row. `where` names m in messages
 * ("" for the top level), item is the base of NK_ITEM rows. */
void ns_read_section(ns_reader *r, const char *section, const yaml_node_t *m, const char *where,
                     void *item);

/* ------------------------------------------------------------ the reader */
#define NS_BATCH_FULL (-1) /* "batch: full" until the data set is known           */
#define NS_READER_MAX_BATCH (1 + NS_SPEC_MAX_AXIS * (1 + NS_SPEC_MAX_OVERRIDES))

/* A batch value read before the data set is known: resolved ("full") and
 * checked against the training-set size in the validation pass. */
typedef struct ns_batch_ref {
    const yaml_node_t *node;
    ns_numaxis *ax; /* entry idx of an axis list, or NULL */
    int idx;
    int *i32;       /* train.batch, or NULL               */
    char where[48]; /* "grid.batch[1]"                    */
} ns_batch_ref;

/* State of one parse: reading (keys.c, read_values.c) fills the spec and
 * notes what the validation pass (validate.c) must check across sections. */
struct ns_reader {
    ny_ctx c;
    ns_spec *s;
    const yaml_node_t *root;
    void *item;                 /* base of NK_ITEM rows in the section being read */
    const ns_key *parent;       /* the NK_SECTION row whose mapping is being read */
    int defaults;               /* 1 while the table's defaults are applied       */
    int data_ok;                /* data set known: batch and arch checks possible */
    int names_bad;              /* a grid.arch/norm value was rejected            */
    int nbatch;
    ns_batch_ref batch[NS_READER_MAX_BATCH];
    const yaml_node_t *arch_node[NS_SPEC_MAX_AXIS];     /* grid.arch[item]         */
    const yaml_node_t *norm_node[NS_SPEC_MAX_AXIS];     /* grid.norm[item]         */
    int arch_item[NS_SPEC_MAX_AXIS], norm_item[NS_SPEC_MAX_AXIS]; /* item in the file */
    const yaml_node_t *at_node[NS_SPEC_MAX_PROBE_STEPS]; /* probes.at[i] (parsed)  */
    const yaml_node_t *random_lr_node[NS_SPEC_MAX_OVERRIDES];
    int allow_missing_data;     /* ns_spec_options                                */
    ns_errs *warnings;          /* "warning: " lines                              */
};

/* read_values.c: values that need more than a row kind (ns_key_read_fn). */
#define NS_UNUSED __attribute__((unused))
#define NS_KEY_FN(name)                                                                       \
    void name(ns_reader *r, const ns_key *key NS_UNUSED, const yaml_node_t *n,                 \
              const char *where NS_UNUSED, void *dst NS_UNUSED)
int ns_axis_value(ns_reader *r, const yaml_node_t *n, const char *where, int a, double *v,
                  int64_t *iv);
int ns_numeric_axis(ns_reader *r, const yaml_node_t *n, const char *where, int a,
                    ns_numaxis *ax);
NS_KEY_FN(ns_read_arch);
NS_KEY_FN(ns_read_norm);
NS_KEY_FN(ns_read_lr_range);
NS_KEY_FN(ns_read_random_lr);
NS_KEY_FN(ns_read_dist_range);
NS_KEY_FN(ns_read_dist_choice);
NS_KEY_FN(ns_check_dist);
NS_KEY_FN(ns_check_search);
NS_KEY_FN(ns_check_random);
NS_KEY_FN(ns_read_override_range);
NS_KEY_FN(ns_read_overrides);
NS_KEY_FN(ns_check_match);
NS_KEY_FN(ns_read_probe_at);
NS_KEY_FN(ns_read_eta_relative);
NS_KEY_FN(ns_read_ics_layers);
NS_KEY_FN(ns_read_quantiles);
NS_KEY_FN(ns_check_schedule);

/* validate.c: the checks across sections, once everything is read; then,
 * once the runs are expanded, the limits that depend on each run. */
void ns_spec_validate(ns_reader *r);
void ns_spec_check_runs(ns_reader *r);

/* cmdline.c: Hydra-style command-line overrides (docs/sweep-format.md).
 * Apply them to a loaded document (node pointers into it are stale after);
 * problems go to e as "<override K>:1:COL" lines. */
void ns_overrides_apply(yaml_document_t *doc, const char *const *ov, int n, ns_errs *e);
/* The spec text after the overrides: a comment header listing them, then the
 * edited document as YAML (with `name` kept). malloc'd, or NULL. */
char *ns_overrides_text(const char *text, const char *path, const char *name,
                        const char *const *ov, int n);

/* expand.c: fill s->runs from s->priv; errors (an override matching nothing,
 * too many runs) go to e. */
ns_status ns_spec_expand(ns_spec *s, ns_errs *e);
/* expand.c: report overrides that match no (arch, norm) pair. */
void ns_spec_check_overrides(const ns_spec *s, ns_errs *e);
/* canonical.c: build s->priv->canonical. */
ns_status ns_spec_build_canonical(ns_spec *s);

/* ------------------------------------------------------------ other modules */
typedef struct ns_ref_data {
    char canonical[256];
    ns_shape shape;
    int nclasses, target_dim;
    int64_t n_train, n_test;
} ns_ref_data;
/* Each returns NS_OK or NS_ERR_ARG with ns_error_msg() saying why. */
ns_status ns_ref_data_info(const char *spec, ns_ref_data *out);
ns_status ns_ref_data_published(const char *spec, ns_ref_data *out); /* published sizes */
ns_status ns_ref_arch(const char *arch, ns_shape in, int nout, double *train_flops_per_sample,
                      int *measured_layers);
ns_status ns_ref_norm(const char *norm);
/* Sizes for the limits of docs/sweep-format.md: parameters, and values a
 * forward pass holds per sample (every layer's output, counting the norm
 * and ReLU outputs of hidden layers). */
typedef struct ns_ref_size {
    double params, values;
} ns_ref_size;
ns_status ns_ref_arch_size(const char *arch, ns_shape in, int nout, ns_ref_size *out);
/* arch with its width= set to width (4 significant digits, the value the run
 * uses); 0 if the arch takes no width (only vgg archs do). */
int ns_ref_arch_width(char *buf, size_t cap, const char *arch, double width);
/* Whether a norm can normalize every hidden layer of an arch (group norms:
 * the groups divide each hidden layer's channels/features). */
ns_status ns_ref_norm_fits(const char *norm, const char *arch, ns_shape in, int nout);
/* 1: the norm has running statistics for eval mode to hold fixed (or, none,
 * no statistics at all); 0: it normalizes per sample in both modes (layer,
 * group); -1: not a norm. */
int ns_ref_norm_has_eval(const char *norm);

#endif
