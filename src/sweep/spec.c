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
    "arch", "norm", "lr", "batch", "momentum", "weight_decay", "init", "seed", "optimizer",
    "schedule"};
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

/* Line and column (1-based, columns in characters as libyaml counts them)
 * of byte offset `at` of text. */
static void position_of(const char *text, size_t at, int *line, int *col)
{
    *line = 1, *col = 1;
    for (size_t i = 0; i < at && text[i]; i++) {
        if (text[i] == '\n') ++*line, *col = 1;
        else if (((unsigned char)text[i] & 0xC0) != 0x80) ++*col; /* not a continuation byte */
    }
}

static void yaml_syntax_error(ns_errs *e, const yaml_parser_t *p, const char *text)
{
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_READER_ERROR) {
        /* the reader (encoding) reports a byte offset, not a mark */
        int line, col;
        position_of(text, p->problem_offset, &line, &col);
        if (p->problem_value >= 0)
            ns_errs_at(e, line, col, "YAML syntax error: %s (byte 0x%02X at byte offset %zu; a "
                       "sweep file must be UTF-8 text)", problem, (unsigned)p->problem_value,
                       p->problem_offset);
        else
            ns_errs_at(e, line, col, "YAML syntax error: %s (at byte offset %zu)", problem,
                       p->problem_offset);
        return;
    }
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    if (p->context)
        ns_errs_at(e, (int)m->line + 1, (int)m->column + 1,
                   "YAML syntax error: %s %s (started at line %d, column %d)", problem,
                   p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    else
        ns_errs_at(e, (int)m->line + 1, (int)m->column + 1, "YAML syntax error: %s", problem);
}

/* One parse: errors, warnings, options. */
typedef struct parse_job {
    ns_errs e, w;
    const ns_spec_options *opt;
    ns_spec *s;
} parse_job;

/* Read, validate and expand the document into s; problems go to e. */
static void read_document(yaml_document_t *doc, const yaml_node_t *root, parse_job *j)
{
    ns_spec *s = j->s;
    ns_reader *r = calloc(1, sizeof *r);
    if (!r) {
        j->e.oom = 1;
        return;
    }
    r->c.doc = doc, r->c.e = &j->e;
    r->s = s, r->root = root;
    r->warnings = &j->w;
    r->allow_missing_data = j->opt->allow_missing_data;
    s->base.index = -1;
    s->base.random_sample = -1;
    ns_keys_defaults(r);
    if (ny_expect_map(&r->c, root, "sweep file")) {
        ns_read_section(r, "", root, "", NULL);
        ns_spec_validate(r);
    }
    if (j->e.n == 0 && ns_spec_expand(s, &j->e) == NS_ERR_NOMEM) j->e.oom = 1;
    if (j->e.n == 0 && !j->e.oom) ns_spec_check_runs(r);
    free(r);
}

/* With overrides, the text the spec keeps is the spec after them. */
static void record_overrides(parse_job *j)
{
    const ns_spec_options *o = j->opt;
    ns_spec *s = j->s;
    if (o->noverrides == 0) return;
    char *text = ns_overrides_text(s->text, s->path, s->name, o->overrides, o->noverrides);
    ns_sbuf list = {0};
    for (int k = 0; k < o->noverrides; k++) ns_sbuf_printf(&list, "%s\n", o->overrides[k]);
    if (!text || list.oom) {
        free(text);
        free(list.p);
        j->e.oom = 1;
        return;
    }
    free(s->text);
    s->text = text;
    s->overrides = list.p;
}

static ns_status finish(parse_job *j, ns_spec **out, char **errors)
{
    ns_spec *s = j->s;
    char *warnings = ns_errs_take(&j->w), *text = ns_errs_take(&j->e);
    if (j->e.oom || j->w.oom) {
        free(warnings);
        free(text);
        ns_spec_free(s);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory while reading the sweep file",
                            j->e.file);
    }
    if (!text) {
        s->warnings = warnings;
        *out = s;
        return NS_OK;
    }
    free(warnings);
    ns_spec_free(s);
    size_t first = strcspn(text, "\n");
    ns_error_set(NS_ERR_ARG, "%.*s%s", (int)first, text, text[first + 1] ? " (and more errors)" : "");
    if (errors) *errors = text;
    else free(text);
    return NS_ERR_ARG;
}

/* The document: one, not empty, with the overrides applied; then read. */
static void parse_document(parse_job *j, yaml_parser_t *parser, const char *text)
{
    yaml_document_t doc, doc2;
    if (!yaml_parser_load(parser, &doc)) {
        yaml_syntax_error(&j->e, parser, text);
        return;
    }
    if (!yaml_document_get_root_node(&doc)) {
        ns_errs_at(&j->e, 1, 1, "the sweep file is empty");
        yaml_document_delete(&doc);
        return;
    }
    /* a second document ("---") would be silently ignored: refuse it */
    if (!yaml_parser_load(parser, &doc2)) {
        yaml_syntax_error(&j->e, parser, text);
    } else {
        yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
        if (r2) ns_errs_node(&j->e, r2, "only one YAML document per sweep file (found a second one)");
        yaml_document_delete(&doc2);
    }
    ns_overrides_apply(&doc, j->opt->overrides, j->opt->noverrides, &j->e);
    read_document(&doc, yaml_document_get_root_node(&doc), j); /* the root may have moved */
    yaml_document_delete(&doc);
}

ns_status ns_spec_parse_opts(const char *text, const char *name, const ns_spec_options *opt,
                             ns_spec **out, char **errors)
{
    static const ns_spec_options none;
    *out = NULL;
    if (errors) *errors = NULL;
    if (!name) name = "<string>";
    parse_job j = {.e = {.file = name}, .w = {.file = name, .prefix = "warning: "},
                   .opt = opt ? opt : &none};
    ns_spec *s = j.s = calloc(1, sizeof *s);
    if (s) s->priv = calloc(1, sizeof *s->priv);
    if (s) s->path = strdup(name), s->text = strdup(text);
    if (!s || !s->priv || !s->path || !s->text) {
        ns_spec_free(s);
        return ns_error_set(NS_ERR_NOMEM, "%s: out of memory", name);
    }
    char nb[128];
    snprintf(s->name, sizeof s->name, "%s", base_name(name, nb, sizeof nb));
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        ns_spec_free(s);
        return ns_error_set(NS_ERR_NOMEM, "%s: cannot initialize the YAML parser", name);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    parse_document(&j, &parser, text);
    yaml_parser_delete(&parser);
    if (j.e.n == 0 && !j.e.oom && ns_spec_build_canonical(s) != NS_OK) j.e.oom = 1;
    if (j.e.n == 0 && !j.e.oom) record_overrides(&j);
    return finish(&j, out, errors);
}

ns_status ns_spec_parse(const char *text, const char *name, ns_spec **out, char **errors)
{
    return ns_spec_parse_opts(text, name, NULL, out, errors);
}

ns_status ns_spec_load(const char *path, ns_spec **out, char **errors)
{
    return ns_spec_load_opts(path, NULL, out, errors);
}

ns_status ns_spec_load_opts(const char *path, const ns_spec_options *opt, ns_spec **out,
                            char **errors)
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
    ns_status st = ns_spec_parse_opts(text, path, opt, out, errors);
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
    free(s->overrides);
    free(s->warnings);
    free(s->runs);
    free(s->train_flops);
    free(s->measured_layers);
    free(s);
}
