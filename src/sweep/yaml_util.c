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

/* Length of the UTF-8 sequence at p (2..4), or 0 if it is not one. */
static int utf8_len(const unsigned char *p)
{
    int n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
          : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

void ns_sbuf_escaped(ns_sbuf *b, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p;) {
        int n = *p >= 0x80 ? utf8_len(p) : 1;
        if (*p == '\n') ns_sbuf_printf(b, "\\n");
        else if (*p == '\t') ns_sbuf_printf(b, "\\t");
        else if (*p == '\r') ns_sbuf_printf(b, "\\r");
        else if (n == 0 || *p < 0x20 || *p == 0x7F) ns_sbuf_printf(b, "\\x%02x", *p);
        else if (n == 2 && p[0] == 0xC2 && p[1] < 0xA0) ns_sbuf_printf(b, "\\u%04x", p[1]); /* C1 */
        else ns_sbuf_printf(b, "%.*s", n, (const char *)p);
        p += n ? n : 1;
    }
}

/* ------------------------------------------------------------ errors */
/* Messages quote values from the file (and the file name): control
 * characters in them are escaped, so a spec cannot drive the terminal. */
static void errs_v(ns_errs *e, long line, long col, const char *fmt, va_list ap)
{
    if (e->oom) return;
    if (e->n == e->cap) {
        int cap = e->cap ? 2 * e->cap : 16;
        ns_err_line *v = realloc(e->v, sizeof *v * (size_t)cap);
        if (!v) {
            e->oom = 1;
            return;
        }
        e->v = v, e->cap = cap;
    }
    ns_sbuf msg = {0}, out = {0};
    ns_sbuf_vprintf(&msg, fmt, ap);
    if (line > NS_OVERRIDE_LINE) ns_sbuf_printf(&out, "<override %ld>:1:%ld: ", line - NS_OVERRIDE_LINE, col);
    else ns_sbuf_escaped(&out, e->file), ns_sbuf_printf(&out, ":%ld:%ld: ", line, col);
    ns_sbuf_printf(&out, "%s", e->prefix ? e->prefix : "");
    ns_sbuf_escaped(&out, msg.p ? msg.p : "");
    free(msg.p);
    if (msg.oom || out.oom || !out.p) {
        free(out.p);
        e->oom = 1;
        return;
    }
    e->v[e->n] = (ns_err_line){line, col, e->n, out.p};
    e->n++;
}

void ns_errs_at(ns_errs *e, long line, long col, const char *fmt, ...)
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

static int line_cmp(const void *a, const void *b)
{
    const ns_err_line *x = a, *y = b;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return x->seq - y->seq;
}

char *ns_errs_take(ns_errs *e)
{
    ns_sbuf all = {0};
    if (e->n > 0) qsort(e->v, (size_t)e->n, sizeof *e->v, line_cmp);
    for (int i = 0; i < e->n; i++) {
        ns_sbuf_printf(&all, "%s\n", e->v[i].text);
        free(e->v[i].text);
    }
    free(e->v);
    e->v = NULL, e->n = e->cap = 0;
    if (all.oom) e->oom = 1;
    if (e->oom) {
        free(all.p);
        return NULL;
    }
    return all.p;
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
    const char *v = sval(n);
    int len = (int)strlen(v);
    if (len > 40) /* cut at a character boundary, not inside a UTF-8 sequence */
        for (len = 40; len > 0 && ((unsigned char)v[len] & 0xC0) == 0x80; len--) {}
    snprintf(buf, sizeof buf, "'%.*s%s'", len, v, v[len] ? "..." : "");
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
    double d;
    if (n && n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        number_text(sval(n), &d) && d == floor(d) && fabs(d) < 1e18) /* 1e6: a float in YAML */
        ns_errs_node(c->e, n, "%s: expected an integer, got %s (write it out: %.0f)", where,
                     ny_kind(n), d);
    else
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
