/* test_results_schema.c - the results file's schema table (src/store/schema.c):
 * internally consistent (names, dims, field kinds vs types), its "exists when"
 * rule on hand-made sweeps, and docs/hdf5-schema.md carries exactly the tables
 * it generates (between the schema:begin / schema:end markers).
 *
 * After changing the table, regenerate the docs' section from the repository
 * root with
 *     build/test_results_schema --write-doc
 * (it rewrites the section of $NS_SOURCE_DIR/docs/hdf5-schema.md, default ./). */
#define _POSIX_C_SOURCE 200809L
#include "ns_test.h"

#include "store/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC "docs/hdf5-schema.md"
#define BEGIN_MARK "<!-- schema:begin"
#define END_MARK "<!-- schema:end -->"

static const char *source_dir(void)
{
    const char *d = getenv("NS_SOURCE_DIR");
    return d && *d ? d : ".";
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

static char *generated(void)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    ns_schema_markdown(f);
    fclose(f);
    return text;
}

/* The section of the doc between the markers: [*from, *to). */
static int doc_section(const char *doc, const char **from, const char **to)
{
    const char *b = strstr(doc, BEGIN_MARK), *e = strstr(doc, END_MARK);
    if (!b || !e || e < b) return 0;
    b = strchr(b, '\n');
    if (!b) return 0;
    *from = b + 1;
    *to = e;
    return 1;
}

START_TEST(docs_show_the_schema_table)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", source_dir(), DOC);
    char *doc = read_all(path), *gen = generated();
    ck_assert_msg(doc != NULL, "cannot read %s", path);
    const char *from, *to;
    ck_assert_msg(doc_section(doc, &from, &to), "%s has no '%s ...' / '%s' section", path,
                  BEGIN_MARK, END_MARK);
    size_t len = (size_t)(to - from);
    if (len != strlen(gen) || memcmp(from, gen, len) != 0) {
        size_t i = 0;
        while (i < len && from[i] == gen[i]) i++;
        ck_abort_msg("%s disagrees with the schema table in src/store/schema.c at byte %zu of "
                     "the section (doc: '%.60s' / table: '%.60s'); regenerate it with "
                     "build/test_results_schema --write-doc (from the repository root)",
                     path, i, from + i, gen + i);
    }
    free(doc);
    free(gen);
}
END_TEST

/* Rewrite the doc's section from the table; returns 0 on success. */
static int write_doc(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", source_dir(), DOC);
    char *doc = read_all(path), *gen = generated();
    const char *from, *to;
    if (!doc || !doc_section(doc, &from, &to)) {
        fprintf(stderr, "%s: no schema section (markers '%s ...' and '%s')\n", path, BEGIN_MARK,
                END_MARK);
        return 1;
    }
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(doc, 1, (size_t)(from - doc), f) != (size_t)(from - doc) ||
              fputs(gen, f) < 0 || fputs(to, f) < 0;
    if (f && fclose(f) != 0) bad = 1;
    fprintf(bad ? stderr : stdout, "%s: %s\n", path, bad ? "write failed" : "schema section rewritten");
    free(doc);
    free(gen);
    return bad;
}

START_TEST(table_is_consistent)
{
    for (int i = 0; i < ns_schema_nvars; i++) {
        const ns_var_def *v = &ns_schema_vars[i];
        ck_assert_msg(ns_schema_find(v->name) == i, "'%s' appears twice", v->name);
        for (int d = 0; d < NS_D_COUNT; d++)
            ck_assert_msg(strcmp(v->name, ns_schema_dims[d].name) != 0, "'%s' is a dim", v->name);
        ns_dim_id ids[NS_H5_MAX_DIMS];
        int nd = ns_schema_var_dims(v, ids);
        ck_assert_msg(nd >= 1 && ids[0] == NS_D_RUN, "'%s' must lead with dim run", v->name);
        ck_assert_ptr_nonnull(v->long_name);
        ck_assert_ptr_nonnull(v->from);
        ns_h5_type want = v->type;
        switch (v->field) {
        case NS_F_F64: case NS_F_F64S: want = NS_H5_F64; break;
        case NS_F_INT: case NS_F_INTS: want = NS_H5_I32; break;
        case NS_F_I64: case NS_F_U64: case NS_F_SIZE: want = NS_H5_I64; break;
        case NS_F_CHARS: case NS_F_STRS: case NS_F_INIT: want = NS_H5_STR; break;
        case NS_F_SPECIAL: break;
        }
        if (want == NS_H5_STR && v->type == NS_H5_VSTR) want = NS_H5_VSTR; /* text either way */
        ck_assert_msg(v->type == want, "'%s': field kind %d does not fit type %d", v->name,
                      (int)v->field, (int)v->type);
        /* parallel HDF5 cannot write variable-length strings: only values known
         * when the file is made (the settings) may be of that type */
        ck_assert_msg(v->type != NS_H5_VSTR || v->src == NS_SRC_CONFIG,
                      "'%s': variable-length strings can only be written at creation", v->name);
        /* every variable carries units and long_name (CF) */
        ck_assert_msg(v->units && *v->units && *v->long_name, "'%s' lacks units or long_name",
                      v->name);
        ck_assert_msg(v->type != NS_H5_STR || v->str_len > 0, "'%s' has no cell size", v->name);
        /* scalars per run (or per probe step) and arrays over the trailing dims */
        int array = v->field == NS_F_F64S || v->field == NS_F_INTS || v->field == NS_F_STRS;
        int lead = v->src == NS_SRC_PROBE || v->src == NS_SRC_STEP || v->src == NS_SRC_EVAL;
        if (v->field != NS_F_SPECIAL)
            ck_assert_msg(array == (nd > 1 + lead), "'%s': %d dims for a %s field", v->name, nd,
                          array ? "array" : "scalar");
    }
}
END_TEST

/* A sweep with every dim present and every probe on, to switch things off from. */
static ns_schema_sweep full_sweep(ns_run_config *c)
{
    memset(c, 0, sizeof *c);
    c->probe.random_direction = c->probe.ics = c->probe.hessian = c->probe.thm41 = 1;
    c->probe.hess_trace_samples = 2;
    c->probe.curv = c->probe.curv_slq = c->probe.curv_layers = c->probe.curv_fd_check = 1;
    c->probe.curv_mode = NS_CURV_MODE_BOTH;
    c->probe.curv_hutchinson = 2;
    ns_schema_sweep sw;
    memset(&sw, 0, sizeof sw);
    for (int d = 0; d < NS_D_COUNT; d++) sw.size[d] = 3;
    sw.settings = c;
    return sw;
}

static int has(const ns_schema_sweep *sw, const char *name)
{
    int i = ns_schema_find(name);
    ck_assert_msg(i >= 0, "no variable '%s' in the table", name);
    return ns_schema_has_var(sw, &ns_schema_vars[i]);
}

START_TEST(exists_when_rule)
{
    ns_run_config c;
    ns_schema_sweep sw = full_sweep(&c);
    for (int i = 0; i < ns_schema_nvars; i++) ck_assert(ns_schema_has_var(&sw, &ns_schema_vars[i]));
    /* no landscape: eta gone, and with it beta_eff (over run,probe but needs eta) */
    sw.size[NS_D_ETA] = 0;
    ck_assert(!has(&sw, "landscape_loss") && !has(&sw, "beta_eff") && !has(&sw, "rand_beta_eff"));
    ck_assert(has(&sw, "probe_loss") && has(&sw, "hess_top_eig"));
    /* no probes at all: eta and quantile need the probe dim, so they go even with sizes */
    sw = full_sweep(&c);
    sw.size[NS_D_PROBE] = 0;
    ck_assert(!ns_schema_has_dim(&sw, NS_D_ETA) && !ns_schema_has_dim(&sw, NS_D_QUANTILE));
    ck_assert(ns_schema_has_dim(&sw, NS_D_UNIT) && has(&sw, "act_unit_index"));
    ck_assert(!has(&sw, "act_mean") && !has(&sw, "thm41_lhs"));
    /* no tracked layers: unit needs act_layer */
    sw = full_sweep(&c);
    sw.size[NS_D_ACT_LAYER] = 0;
    ck_assert(!ns_schema_has_dim(&sw, NS_D_UNIT) && !has(&sw, "act_unit_index"));
    /* switches */
    sw = full_sweep(&c);
    c.probe.hess_trace_samples = 0;
    ck_assert(has(&sw, "hess_top_eig") && !has(&sw, "hess_trace"));
    c.probe.hessian = 0;
    c.probe.hess_trace_samples = 2;
    ck_assert(!has(&sw, "hess_top_eig") && !has(&sw, "hess_trace"));
    c.probe.random_direction = c.probe.ics = c.probe.thm41 = 0;
    ck_assert(!has(&sw, "rand_landscape_loss") && !has(&sw, "ics_cos") && !has(&sw, "thm41_rhs"));
    ck_assert(has(&sw, "landscape_loss") && has(&sw, "weights") && has(&sw, "status"));
}
END_TEST

static Suite *schema_suite(void)
{
    Suite *s = suite_create("results_schema");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, table_is_consistent);
    tcase_add_test(tc, exists_when_rule);
    tcase_add_test(tc, docs_show_the_schema_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--write-doc") == 0) return write_doc();
    return ns_test_main(schema_suite(), argc, argv);
}
