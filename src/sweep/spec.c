/* spec.c - sweep file (YAML) -> validated ns_spec: the entry points.
 *
 * Reads the whole file with libyaml's document API (every node keeps its
 * line/column), reads every section through the key table (keys.c), runs the
 * checks across sections (validate.c), and reports EVERY problem it finds as
 * "file:line:col: section.key: message" before giving up: a user fixing a
 * sweep file sees all mistakes in one go. Then expand.c turns the axes into
 * runs. The schema is documented in docs/sweep-format.md; keep them in step.
 */
#include "sweep_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const axis_names[NS_AXIS_COUNT] = {
    "arch", "norm", "lr", "batch", "momentum", "weight_decay", "init", "seed", "optimizer"};
const char *ns_spec_axis_name(int axis)
{
    return axis >= 0 && axis < NS_AXIS_COUNT ? axis_names[axis] : "?";
}

/* ------------------------------------------------------------ entry points */
static const char *base_name(const char *path, char *buf, size_t cap)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, cap, "%s", b);
    char *dot = strrchr(buf, '.');
    if (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"))) *dot = '\0';
    return buf;
}

static void yaml_syntax_error(ns_errs *e, const yaml_parser_t *p)
{
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    if (p->context)
        ns_errs_at(e, (int)m->line + 1, (int)m->column + 1,
                   "YAML syntax error: %s %s (started at line %d, column %d)",
                   p->problem ? p->problem : "unknown problem", p->context,
                   (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    else
        ns_errs_at(e, (int)m->line + 1, (int)m->column + 1, "YAML syntax error: %s",
                   p->problem ? p->problem : "unknown problem");
}

/* Read and validate the document into s; problems go to e. */
static void read_document(yaml_document_t *doc, const yaml_node_t *root, ns_errs *e, ns_spec *s)
{
    ns_reader *r = calloc(1, sizeof *r);
    if (!r) {
        e->b.oom = 1;
        return;
    }
    r->c.doc = doc, r->c.e = e;
    r->s = s, r->root = root;
    s->base.index = -1;
    s->base.random_sample = -1;
    ns_keys_defaults(r);
    if (ny_expect_map(&r->c, root, "sweep file")) {
        ns_read_section(r, "", root, "", NULL);
        ns_spec_validate(r);
    }
    free(r);
}

static ns_status finish(ns_errs *e, ns_spec *s, ns_spec **out, char **errors)
{
    if (e->b.oom) {
        free(e->b.p);
        ns_spec_free(s);
        if (errors) *errors = NULL;
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory while reading the sweep file", e->file);
    }
    if (e->n == 0) {
        free(e->b.p);
        *out = s;
        if (errors) *errors = NULL;
        return NS_OK;
    }
    ns_spec_free(s);
    ns_errs_sort(e);
    size_t first = strcspn(e->b.p, "\n");
    ns_error_set(NS_ERR_ARG, "%.*s%s", (int)first, e->b.p,
                 e->n > 1 ? " (and more errors)" : "");
    if (errors) *errors = e->b.p;
    else free(e->b.p);
    return NS_ERR_ARG;
}

ns_status ns_spec_parse(const char *text, const char *name, ns_spec **out, char **errors)
{
    *out = NULL;
    if (errors) *errors = NULL;
    if (!name) name = "<string>";
    ns_errs e = {.file = name};
    ns_spec *s = calloc(1, sizeof *s);
    if (s) s->priv = calloc(1, sizeof *s->priv);
    if (s) s->path = strdup(name), s->text = strdup(text);
    if (!s || !s->priv || !s->path || !s->text) {
        ns_spec_free(s);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory", name);
    }
    char nb[128];
    snprintf(s->name, sizeof s->name, "%s", base_name(name, nb, sizeof nb));

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        ns_spec_free(s);
        return ns_error_set(NS_ERR_NOMEM, "%s: cannot initialize the YAML parser", name);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_syntax_error(&e, &parser);
        yaml_parser_delete(&parser);
        return finish(&e, s, out, errors);
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        ns_errs_at(&e, 1, 1, "the sweep file is empty");
    } else {
        /* a second document ("---") would be silently ignored: refuse it */
        yaml_document_t doc2;
        if (!yaml_parser_load(&parser, &doc2)) {
            yaml_syntax_error(&e, &parser);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
            if (r2) ns_errs_node(&e, r2, "only one YAML document per sweep file (found a second one)");
            yaml_document_delete(&doc2);
        }
        read_document(&doc, root, &e, s);
        if (e.n == 0 && ns_spec_expand(s, &e) == NS_ERR_NOMEM) e.b.oom = 1;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (e.n == 0 && ns_spec_build_canonical(s) != NS_OK) e.b.oom = 1;
    return finish(&e, s, out, errors);
}

ns_status ns_spec_load(const char *path, ns_spec **out, char **errors)
{
    *out = NULL;
    if (errors) *errors = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ns_error_set(NS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);
    while (text) {
        len += fread(text + len, 1, cap - 1 - len, f);
        if (len < cap - 1) break;
        char *t = realloc(text, cap * 2);
        if (!t) free(text);
        text = t, cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!text) return ns_error_set(NS_ERR_NOMEM, "%s: out of memory reading the file", path);
    text[len] = '\0';
    if (err) {
        free(text);
        return ns_error_set(NS_ERR_IO, "%s: read error", path);
    }
    if (strlen(text) != len) {
        size_t at = strlen(text);
        free(text);
        return ns_error_set(NS_ERR_ARG, "%s: byte offset %zu: NUL byte (not a text file?)", path, at);
    }
    ns_status st = ns_spec_parse(text, path, out, errors);
    free(text);
    return st;
}

void ns_spec_free(ns_spec *s)
{
    if (!s) return;
    if (s->priv) free(s->priv->canonical);
    free(s->priv);
    free(s->path);
    free(s->text);
    free(s->runs);
    free(s->train_flops);
    free(s->measured_layers);
    free(s);
}
