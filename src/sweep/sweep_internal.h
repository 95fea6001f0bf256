/* sweep_internal.h - shared between the files of src/sweep/ only.
 *
 *   yaml_util.c     error collection ("file:line:col: msg") and typed getters
 *                   over libyaml's document tree (line/column marks kept)
 *   spec.c          YAML tree -> ns_spec fields + validation
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

/* ------------------------------------------------------------ errors */
typedef struct ns_errs {
    const char *file; /* name used in messages                          */
    ns_sbuf b;        /* "file:line:col: msg\n" lines                     */
    int n;
} ns_errs;

/* line/col are 1-based. */
void ns_errs_at(ns_errs *e, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* At the start of node n. */
void ns_errs_node(ns_errs *e, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------ tree access */
typedef struct ny_ctx {
    yaml_document_t *doc;
    ns_errs *e;
} ny_ctx;

yaml_node_t *ny_node(const ny_ctx *c, int id);
/* The value of key in mapping m, or NULL (also NULL if m is not a mapping). */
yaml_node_t *ny_get(const ny_ctx *c, const yaml_node_t *m, const char *key);
/* Report keys of mapping m that are not in allowed[] (NULL-terminated), and
 * duplicate keys. `where` names the mapping in messages ("train"). */
void ny_check_keys(const ny_ctx *c, const yaml_node_t *m, const char *where,
                   const char *const allowed[]);
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
static inline int ny_line(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }
static inline int ny_col(const yaml_node_t *n) { return (int)n->start_mark.column + 1; }

/* ------------------------------------------------------------ parsed axes */
/* One numeric axis: lr, batch, momentum, weight_decay, init, seed. n == 0:
 * not given here. Integer axes (batch, init, seed) use iv, the others v. */
typedef struct ns_numaxis {
    int n;
    double v[NS_SPEC_MAX_AXIS];
    int64_t iv[NS_SPEC_MAX_AXIS];
} ns_numaxis;

#define NS_SPEC_MAX_OVERRIDES 16

typedef struct ns_override {
    int line, col;                /* of the list item, for "matches no run"     */
    char match_arch[128];         /* fnmatch pattern; "" = any                  */
    char match_norm[64];
    ns_numaxis ax[NS_AXIS_COUNT]; /* only numeric axes used                     */
    int has_random_lr;
    double random_lo, random_hi;
} ns_override;

struct ns_spec_priv {
    int narch, nnorm;
    char arch[NS_SPEC_MAX_AXIS][128];
    char norm[NS_SPEC_MAX_AXIS][64];
    double arch_flops[NS_SPEC_MAX_AXIS]; /* training FLOPs per sample          */
    int arch_layers[NS_SPEC_MAX_AXIS];   /* measured (dense/conv) layers        */
    ns_numaxis grid[NS_AXIS_COUNT];      /* numeric axes of grid:               */
    int grid_line, grid_col;
    int noverrides;
    ns_override ov[NS_SPEC_MAX_OVERRIDES];
    char *canonical;
};

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
ns_status ns_ref_arch(const char *arch, ns_shape in, int nout, double *train_flops_per_sample,
                      int *measured_layers);
ns_status ns_ref_norm(const char *norm);

#endif
