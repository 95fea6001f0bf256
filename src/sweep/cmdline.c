/* cmdline.c - Hydra-style command-line overrides of a sweep file.
 *
 *   path=value     set the key (created, with the mappings on its path, if absent)
 *   ++path=value   the same (Hydra's spelling of "set or add")
 *   +path=value    add a key that must not be there yet
 *   ~path          remove the key
 *
 * path: keys joined by dots (train.steps, probes.eta.count); value: YAML,
 * usually flow style (500, [0, 1], {log_range: [1.0e-3, 1], count: 4},
 * "quoted text"); an empty value is null. The overrides change the YAML
 * document before it is read, so a value is checked exactly as if it were
 * written in the file; a message about it reads "<override K>:1:COL" (K
 * counts the overrides from 1, COL is the column in that argument).
 */
#include "sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64 /* nesting of one override's value */

typedef enum { OV_SET, OV_ADD, OV_REMOVE } ov_op;

/* A mark that names override k (1-based), column col (1-based). */
static yaml_mark_t mark_of(int k, size_t col)
{
    return (yaml_mark_t){0, (size_t)NS_OVERRIDE_LINE + (size_t)k - 1, col - 1};
}

static void set_mark(yaml_document_t *doc, int id, yaml_mark_t m)
{
    doc->nodes.start[id - 1].start_mark = m;
}

/* The pair of key in mapping id, or NULL. */
static yaml_node_pair_t *find_pair(yaml_document_t *doc, int id, const char *key, size_t len)
{
    yaml_node_t *m = yaml_document_get_node(doc, id);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == len &&
            !memcmp(k->data.scalar.value, key, len))
            return p;
    }
    return NULL;
}

/* Deep copy of node vid of src into doc (aliases stay shared through memo). */
static int copy_node(yaml_document_t *doc, yaml_document_t *src, int vid, int *memo,
                     yaml_mark_t at, int depth)
{
    if (memo[vid]) return memo[vid];
    yaml_node_t *n = yaml_document_get_node(src, vid);
    if (depth > MAX_DEPTH) return 0;
    int id = 0;
    if (n->type == YAML_SCALAR_NODE) {
        id = yaml_document_add_scalar(doc, n->tag, n->data.scalar.value, (int)n->data.scalar.length,
                                      n->data.scalar.style);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        id = yaml_document_add_sequence(doc, n->tag, n->data.sequence.style);
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             id && it < yaml_document_get_node(src, vid)->data.sequence.items.top; it++) {
            int c = copy_node(doc, src, *it, memo, at, depth + 1);
            if (!c || !yaml_document_append_sequence_item(doc, id, c)) id = 0;
        }
    } else if (n->type == YAML_MAPPING_NODE) {
        id = yaml_document_add_mapping(doc, n->tag, n->data.mapping.style);
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             id && p < yaml_document_get_node(src, vid)->data.mapping.pairs.top; p++) {
            int k = copy_node(doc, src, p->key, memo, at, depth + 1);
            int v = k ? copy_node(doc, src, p->value, memo, at, depth + 1) : 0;
            if (!v || !yaml_document_append_mapping_pair(doc, id, k, v)) id = 0;
        }
    }
    if (!id) return 0;
    yaml_mark_t m = at;
    m.column += yaml_document_get_node(src, vid)->start_mark.column;
    set_mark(doc, id, m);
    return memo[vid] = id;
}

/* The value text as nodes of doc; 0 after reporting why not. */
static int value_node(yaml_document_t *doc, const char *value, int k, size_t col, ns_errs *e)
{
    yaml_parser_t p;
    yaml_document_t v;
    int id = 0;
    if (!yaml_parser_initialize(&p)) return 0;
    yaml_parser_set_input_string(&p, (const unsigned char *)value, strlen(value));
    if (!yaml_parser_load(&p, &v)) {
        ns_errs_at(e, NS_OVERRIDE_LINE + k, (long)col + (long)p.problem_mark.column,
                   "YAML syntax error in the value: %s", p.problem ? p.problem : "unknown problem");
        yaml_parser_delete(&p);
        return 0;
    }
    yaml_node_t *root = yaml_document_get_root_node(&v);
    if (!root) { /* "key=": null */
        id = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)"", 0, YAML_PLAIN_SCALAR_STYLE);
        if (id) set_mark(doc, id, mark_of(k, col));
    } else {
        int nnodes = (int)(v.nodes.top - v.nodes.start);
        int *memo = calloc((size_t)nnodes + 1, sizeof *memo);
        if (memo) id = copy_node(doc, &v, 1, memo, mark_of(k, col), 0);
        free(memo);
        if (!id)
            ns_errs_at(e, NS_OVERRIDE_LINE + k, (long)col, "the value is nested more than %d "
                       "deep (or memory ran out)", MAX_DEPTH);
    }
    yaml_document_delete(&v);
    yaml_parser_delete(&p);
    return id;
}

/* Split "op path [= value]"; checks the path's syntax. Returns the path's
 * offset in t, or -1 after an error. */
static int parse_override(const char *t, int k, ov_op *op, size_t *plen, const char **value,
                          ns_errs *e)
{
    size_t at = t[0] == '~' ? 1 : !strncmp(t, "++", 2) ? 2 : t[0] == '+' ? 1 : 0;
    *op = t[0] == '~' ? OV_REMOVE : at == 1 ? OV_ADD : OV_SET;
    const char *eq = strchr(t, '=');
    *plen = eq ? (size_t)(eq - t) - at : strlen(t) - at;
    *value = eq ? eq + 1 : NULL;
    if ((*op == OV_REMOVE) != (eq == NULL)) {
        ns_errs_at(e, NS_OVERRIDE_LINE + k, 1, "expected key=value or ~key (e.g. train.steps=500, "
                   "grid.seed=[0,1]), got '%s'", t);
        return -1;
    }
    for (size_t i = at, seg = 0; i <= at + *plen; i++, seg++) {
        char c = i < at + *plen ? t[i] : '.';
        if (c == '.' && seg == 0) {
            ns_errs_at(e, NS_OVERRIDE_LINE + k, (long)i + 1, "empty key in '%.*s'", (int)*plen,
                       t + at);
            return -1;
        }
        if (c == '.') seg = (size_t)-1;
        else if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9'))) {
            ns_errs_at(e, NS_OVERRIDE_LINE + k, (long)i + 1, "keys are names joined by dots, "
                       "got '%c' in '%.*s'", c, (int)*plen, t + at);
            return -1;
        }
    }
    return (int)at;
}

/* The mapping that holds the last key of the path (created on the way for
 * OV_SET / OV_ADD); 0 after an error. */
static int parent_of(yaml_document_t *doc, int root, const char *t, size_t at, size_t plen,
                     ov_op op, int k, size_t *last, ns_errs *e)
{
    int id = root;
    size_t s = at;
    for (size_t i = at; i < at + plen; i++) {
        if (t[i] != '.') continue;
        yaml_node_pair_t *p = find_pair(doc, id, t + s, i - s);
        int next = p ? p->value : 0;
        yaml_node_t *nn = next ? yaml_document_get_node(doc, next) : NULL;
        if (nn && nn->type != YAML_MAPPING_NODE) {
            ns_errs_at(e, NS_OVERRIDE_LINE + k, (long)s + 1, "'%.*s' is %s, not a mapping: it "
                       "has no key '%.*s'", (int)(i - at), t + at, ny_kind(nn),
                       (int)(at + plen - i - 1), t + i + 1);
            return 0;
        }
        if (!nn && op == OV_REMOVE) {
            ns_errs_at(e, NS_OVERRIDE_LINE + k, (long)s + 1, "no key '%.*s' to remove",
                       (int)(i - at), t + at);
            return 0;
        }
        if (!nn) { /* create the mapping on the way */
            int key = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)(t + s), (int)(i - s),
                                               YAML_PLAIN_SCALAR_STYLE);
            next = yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
            if (!key || !next || !yaml_document_append_mapping_pair(doc, id, key, next)) return 0;
            set_mark(doc, key, mark_of(k, s + 1));
            set_mark(doc, next, mark_of(k, s + 1));
        }
        id = next;
        s = i + 1;
    }
    *last = s;
    return id;
}

/* Apply override k (1-based) t to the document. */
static void apply_one(yaml_document_t *doc, const char *t, int k, ns_errs *e)
{
    ov_op op;
    size_t plen, last;
    const char *value;
    int at = parse_override(t, k, &op, &plen, &value, e);
    if (at < 0) return;
    int map = parent_of(doc, 1, t, (size_t)at, plen, op, k, &last, e);
    if (!map) return;
    size_t klen = (size_t)at + plen - last;
    yaml_node_pair_t *p = find_pair(doc, map, t + last, klen);
    if (op == OV_REMOVE) {
        yaml_node_t *m = yaml_document_get_node(doc, map);
        if (!p) {
            ns_errs_at(e, NS_OVERRIDE_LINE + k, (long)last + 1, "no key '%.*s' to remove",
                       (int)plen, t + at);
            return;
        }
        memmove(p, p + 1, (size_t)(m->data.mapping.pairs.top - p - 1) * sizeof *p);
        m->data.mapping.pairs.top--;
        return;
    }
    if (p && op == OV_ADD) {
        ns_errs_at(e, NS_OVERRIDE_LINE + k, 1, "'%.*s' is already set (+ adds a new key; use "
                   "%.*s=... or ++%.*s=... to change it)", (int)plen, t + at, (int)plen, t + at,
                   (int)plen, t + at);
        return;
    }
    size_t vcol = (size_t)(value - t) + 1;
    int v = value_node(doc, value, k, vcol, e);
    if (!v) return;
    p = find_pair(doc, map, t + last, klen); /* adding nodes may move the node array */
    if (p) {
        p->value = v;
        return;
    }
    int key = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)(t + last), (int)klen,
                                       YAML_PLAIN_SCALAR_STYLE);
    if (!key || !yaml_document_append_mapping_pair(doc, map, key, v)) return;
    set_mark(doc, key, mark_of(k, last + 1));
}

void ns_overrides_apply(yaml_document_t *doc, const char *const *ov, int n, ns_errs *e)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE) return; /* reported by the reader */
    for (int k = 0; k < n; k++) apply_one(doc, ov[k], k + 1, e);
}

int ns_spec_is_override(const char *arg)
{
    return arg && arg[0] != '-' && (arg[0] == '~' || strchr(arg, '=') != NULL);
}

static int write_sbuf(void *data, unsigned char *buffer, size_t size)
{
    ns_sbuf *b = data;
    ns_sbuf_printf(b, "%.*s", (int)size, (const char *)buffer);
    return !b->oom;
}

char *ns_overrides_text(const char *text, const char *path, const char *name,
                        const char *const *ov, int n)
{
    yaml_parser_t p;
    yaml_emitter_t em;
    yaml_document_t doc;
    ns_sbuf b = {0};
    ns_errs ignored = {.file = path};
    if (!yaml_parser_initialize(&p)) return NULL;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    int ok = yaml_parser_load(&p, &doc);
    yaml_parser_delete(&p);
    if (!ok) return NULL;
    ns_overrides_apply(&doc, ov, n, &ignored); /* the same edits: they applied cleanly */
    free(ns_errs_take(&ignored));
    if (!find_pair(&doc, 1, "name", 4)) { /* keep the name the file name gave */
        int k = yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)"name", 4, YAML_PLAIN_SCALAR_STYLE);
        int v = yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)name, (int)strlen(name),
                                         YAML_DOUBLE_QUOTED_SCALAR_STYLE);
        if (k && v) yaml_document_append_mapping_pair(&doc, 1, k, v);
    }
    /* a null written as nothing ("eta:") would come out as '' (text) inside a
     * flow mapping: write it as ~ (the document owns its strings, libyaml
     * frees them with free()) */
    for (yaml_node_t *x = doc.nodes.start; x < doc.nodes.top; x++)
        if (x->type == YAML_SCALAR_NODE && x->data.scalar.length == 0 &&
            x->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            unsigned char *tilde = (unsigned char *)strdup("~");
            if (!tilde) continue;
            free(x->data.scalar.value);
            x->data.scalar.value = tilde;
            x->data.scalar.length = 1;
        }
    ns_sbuf_printf(&b, "# ");
    ns_sbuf_escaped(&b, path);
    ns_sbuf_printf(&b, " with command-line overrides:\n");
    for (int k = 0; k < n; k++) {
        ns_sbuf_printf(&b, "#   ");
        ns_sbuf_escaped(&b, ov[k]);
        ns_sbuf_printf(&b, "\n");
    }
    ok = yaml_emitter_initialize(&em);
    if (ok) {
        yaml_emitter_set_output(&em, write_sbuf, &b);
        yaml_emitter_set_unicode(&em, 1);
        yaml_emitter_set_width(&em, -1);
        ok = yaml_emitter_open(&em) && yaml_emitter_dump(&em, &doc) && yaml_emitter_close(&em);
        yaml_emitter_delete(&em);
    } else {
        yaml_document_delete(&doc);
    }
    if (!ok || b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
