/* yaml_util.c - typed, error-collecting access to a libyaml document tree.
 *
 * libyaml's document API keeps a start mark (0-based line/column) on every
 * node; every message here is "file:line:col: ..." with 1-based numbers, the
 * way compilers print them, so editors can jump to the spot. Nothing stops at
 * the first problem: each getter reports and returns 0, the caller goes on. */
#include "sweep_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ text */
void ns_sbuf_vprintf(ns_sbuf *b, const char *fmt, va_list ap)
{
    if (b->oom) return;
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (need < 0) return;
    if (b->len + (size_t)need + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)need + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)need;
}

void ns_sbuf_printf(ns_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ns_sbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ errors */
static void errs_v(ns_errs *e, int line, int col, const char *fmt, va_list ap)
{
    ns_sbuf_printf(&e->b, "%s:%d:%d: ", e->file, line, col);
    ns_sbuf_vprintf(&e->b, fmt, ap);
    ns_sbuf_printf(&e->b, "\n");
    e->n++;
}

void ns_errs_at(ns_errs *e, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errs_v(e, line, col, fmt, ap);
    va_end(ap);
}

void ns_errs_node(ns_errs *e, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errs_v(e, ny_line(n), ny_col(n), fmt, ap);
    va_end(ap);
}

/* Messages are collected section by section; show them in file order. */
typedef struct msg_ref {
    const char *text;
    size_t len;
    long line, col;
    int seq;
} msg_ref;

static int msg_cmp(const void *a, const void *b)
{
    const msg_ref *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return x->seq - y->seq;
}

void ns_errs_sort(ns_errs *e)
{
    msg_ref *m = calloc((size_t)e->n, sizeof *m);
    char *sorted = malloc(e->b.len + 1);
    if (!m || !sorted) { /* keep them unsorted */
        free(m);
        free(sorted);
        return;
    }
    size_t flen = strlen(e->file);
    const char *p = e->b.p;
    int k = 0;
    for (; k < e->n && *p; k++) {
        const char *nl = strchr(p, '\n');
        char *end;
        m[k].text = p;
        m[k].len = (size_t)(nl - p) + 1;
        m[k].line = strtol(p + flen + 1, &end, 10);
        m[k].col = strtol(end + 1, NULL, 10);
        m[k].seq = k;
        p = nl + 1;
    }
    qsort(m, (size_t)k, sizeof *m, msg_cmp);
    size_t at = 0;
    for (int i = 0; i < k; i++) memcpy(sorted + at, m[i].text, m[i].len), at += m[i].len;
    sorted[at] = '\0';
    free(e->b.p);
    free(m);
    e->b.p = sorted;
}

/* ------------------------------------------------------------ tree */
yaml_node_t *ny_node(const ny_ctx *c, int id) { return yaml_document_get_node(c->doc, id); }

static const char *sval(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

int ny_is_null(const yaml_node_t *n)
{
    if (!n) return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *v = sval(n);
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

const char *ny_kind(const yaml_node_t *n)
{
    static _Thread_local char buf[64];
    if (!n) return "nothing";
    if (n->type == YAML_MAPPING_NODE) return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    if (ny_is_null(n)) return "nothing (null)";
    snprintf(buf, sizeof buf, "'%.40s%s'", sval(n), strlen(sval(n)) > 40 ? "..." : "");
    return buf;
}

yaml_node_t *ny_get(const ny_ctx *c, const yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ny_node(c, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), key)) return ny_node(c, p->value);
    }
    return NULL;
}

/* Levenshtein distance, for "did you mean" on short names. */
int ns_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40) return 99;
    int row[41];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int ny_expect_map(const ny_ctx *c, const yaml_node_t *n, const char *where)
{
    if (n && n->type == YAML_MAPPING_NODE) return 1;
    ns_errs_node(c->e, n, "%s: expected a mapping (key: value lines), got %s", where, ny_kind(n));
    return 0;
}

/* Number syntax we accept: decimal YAML 1.2 core floats, plus .inf / -.inf.
 * strtod alone would also take "nan", "infinity", hex floats and leading blanks. */
static int number_text(const char *v, double *out)
{
    const char *u = (*v == '+' || *v == '-') ? v + 1 : v;
    if (!strcmp(u, ".inf") || !strcmp(u, ".Inf") || !strcmp(u, ".INF")) {
        *out = *v == '-' ? -HUGE_VAL : HUGE_VAL;
        return 1;
    }
    if (!*u || strspn(u, "0123456789.eE+-") != strlen(u) || !strpbrk(u, "0123456789")) return 0;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*end || errno == ERANGE) return 0;
    *out = d;
    return 1;
}

int ny_double(const ny_ctx *c, const yaml_node_t *n, const char *where, double *out)
{
    int scalar = n && n->type == YAML_SCALAR_NODE;
    if (scalar && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && number_text(sval(n), out))
        return 1;
    double dummy;
    if (scalar && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE && number_text(sval(n), &dummy))
        ns_errs_node(c->e, n, "%s: expected a number, got the quoted text %s (remove the quotes)",
                     where, ny_kind(n));
    else
        ns_errs_node(c->e, n, "%s: expected a number, got %s", where, ny_kind(n));
    return 0;
}

int ny_int64(const ny_ctx *c, const yaml_node_t *n, const char *where, int64_t *out)
{
    if (n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = sval(n);
        const char *u = (*v == '+' || *v == '-') ? v + 1 : v;
        if (*u && strspn(u, "0123456789") == strlen(u)) {
            char *end;
            errno = 0;
            long long x = strtoll(v, &end, 10);
            if (!*end && errno != ERANGE) {
                *out = (int64_t)x;
                return 1;
            }
            ns_errs_node(c->e, n, "%s: integer %s is out of range", where, ny_kind(n));
            return 0;
        }
    }
    ns_errs_node(c->e, n, "%s: expected an integer, got %s", where, ny_kind(n));
    return 0;
}

int ny_bool(const ny_ctx *c, const yaml_node_t *n, const char *where, int *out)
{
    if (n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        const char *v = sval(n);
        if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) return *out = 1, 1;
        if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) return *out = 0, 1;
    }
    ns_errs_node(c->e, n, "%s: expected true or false, got %s", where, ny_kind(n));
    return 0;
}

int ny_string(const ny_ctx *c, const yaml_node_t *n, const char *where, char *out, size_t cap)
{
    if (!n || n->type != YAML_SCALAR_NODE || ny_is_null(n)) {
        ns_errs_node(c->e, n, "%s: expected a text value, got %s", where, ny_kind(n));
        return 0;
    }
    if (strlen(sval(n)) >= cap) {
        ns_errs_node(c->e, n, "%s: text is too long (%zu characters, at most %zu)", where,
                     strlen(sval(n)), cap - 1);
        return 0;
    }
    strcpy(out, sval(n));
    return 1;
}

int ny_items(const ny_ctx *c, const yaml_node_t *n, const char *where, yaml_node_t **items,
             int cap)
{
    if (n && n->type == YAML_SCALAR_NODE && !ny_is_null(n)) {
        if (cap > 0) items[0] = (yaml_node_t *)n;
        return 1;
    }
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        ns_errs_node(c->e, n, "%s: expected a list of values, got %s", where, ny_kind(n));
        return -1;
    }
    int k = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, k++)
        if (k < cap) items[k] = ny_node(c, *it);
    if (k == 0) {
        ns_errs_node(c->e, n, "%s: must not be empty", where);
        return -1;
    }
    if (k > cap) {
        ns_errs_node(c->e, n, "%s: too many values (%d, at most %d)", where, k, cap);
        return -1;
    }
    return k;
}
