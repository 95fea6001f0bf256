/* test_spec_keys.c - the key table of src/sweep/keys.c: every key is
 * documented, defaults come from it, the order of sections does not matter,
 * and unknown keys get a "did you mean" from it. */
#include "spec_expect.h"
#include "normsweep/spec.h"
#include "sweep/sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(t, 1, (size_t)n, f), n);
    t[n] = '\0';
    fclose(f);
    return t;
}

/* docs/sweep-format.md names every key of the table (`key` or `key: ...`) and states
 * every default the table holds. */
START_TEST(every_key_is_documented)
{
    const char *src = getenv("NS_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/sweep-format.md", src ? src : ".");
    char *doc = read_text(path);
    int n;
    const ns_key *k = ns_keys_all(&n);
    ck_assert_int_gt(n, 40);
    for (int i = 0; i < n; i++) {
        if (k[i].kind == NK_MISPLACED) continue;
        char quoted[80], with_value[80]; /* `key` or `key: value` */
        snprintf(quoted, sizeof quoted, "`%s`", k[i].key);
        snprintf(with_value, sizeof with_value, "`%s:", k[i].key);
        ck_assert_msg(strstr(doc, quoted) || strstr(doc, with_value),
                      "key %s.%s is not in docs/sweep-format.md", k[i].section, k[i].key);
        if (k[i].def)
            ck_assert_msg(strstr(doc, k[i].def), "default '%s' of %s.%s is not in the docs",
                          k[i].def, k[i].section, k[i].key);
    }
    free(doc);
}
END_TEST


/* The same sections in opposite orders give the same spec, byte for byte. */
START_TEST(section_order_does_not_matter)
{
    const char *sec[] = {
        "data: synthetic-dln:n=100,d=10\n",
        "train: {steps: 20, batch: full}\n",
        "grid: {arch: \"dln:depth=3,width=10\", norm: [none, batch], lr: [0.1, 0.01]}\n",
        "probes: {at: [0, 19], ics: {layers: [2]}}\n",
        "overrides:\n  - match: {norm: batch}\n    batch: [50, full]\n",
    };
    char fwd[1024] = "", rev[1024] = "";
    for (int i = 0; i < 5; i++) strcat(fwd, sec[i]), strcat(rev, sec[4 - i]);
    ns_spec *a = spec_ok(fwd, NULL), *b = spec_ok(rev, NULL);
    ck_assert_int_eq(a->nruns, 2 + 2 * 2);
    spec_assert_same(a, b);
    ck_assert_int_eq(a->runs[0].batch, 100); /* full, resolved after the data set */
    ck_assert_int_eq(a->runs[4].batch, 50);
    ck_assert_int_eq(a->runs[5].batch, 100);
    ns_spec_free(a);
    ns_spec_free(b);
}
END_TEST


/* A key of another section is named there; an lr under train is ONE error,
 * not also "grid: missing key 'lr'". */
START_TEST(did_you_mean_elsewhere)
{
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 10, lr: 0.1}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, steps: 5}\n",
                  "t.yaml:2:20: train: unknown key 'lr' (did you mean 'grid.lr'? learning rates "
                  "are a grid axis)\n"
                  "t.yaml:3:40: grid: unknown key 'steps' (did you mean 'train.steps'?)\n");
    /* 'every' exists in probes and checkpoint: no guess, the list */
    EXPECT_ERRORS("data: fashion-mnist\n"
                  "train: {steps: 10, every: 2}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, lr: 0.1}\n",
                  "t.yaml:2:20: train: unknown key 'every' (expected one of: steps, batch, "
                  "optimizer, momentum, weight_decay, init, eval_every, log_every, diverge_above, "
                  "betas, eps, schedule)\n");
}
END_TEST

/* "batch: full" next to an explicit batch of the same size is a duplicate. */
START_TEST(full_batch_duplicate)
{
    EXPECT_ERRORS("data: synthetic-dln:n=100,d=10\n"
                  "train: {steps: 10}\n"
                  "grid: {arch: \"dln:depth=2,width=10\", norm: none, lr: 0.1, batch: [100, full]}\n",
                  "t.yaml:3:72: grid.batch[1]: duplicate value (same as item 0)\n");
}
END_TEST

/* Norm names: the nearest kind or the usual alias, else the list of kinds
 * (which norm.c builds from its own name table). */
START_TEST(norm_did_you_mean)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"bn", "norm \"bn\": unknown normalization 'bn' (did you mean 'batch'?)"},
        {"batx", "norm \"batx\": unknown normalization 'batx' (did you mean 'batch'?)"},
        {"LayerNorm", "norm \"LayerNorm\": unknown normalization 'LayerNorm' (did you mean 'layer'?)"},
        {"nosiy_batch:eps=1", "norm \"nosiy_batch:eps=1\": unknown normalization 'nosiy_batch' "
                              "(did you mean 'noisy_batch'?)"},
        {"xyz", "norm \"xyz\": unknown normalization 'xyz' (expected none, batch, noisy_batch, l1, "
                "l2, linf, layer or group)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(ns_ref_norm(cases[i].text), NS_ERR_ARG);
        ck_assert_str_eq(ns_error_msg(), cases[i].want);
    }
    /* a known name with a bad option keeps the norm module's own message */
    ck_assert_int_eq(ns_ref_norm("group:grops=2"), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "unknown option 'grops' for 'group'"));
    ck_assert_int_eq(ns_ref_norm("group:groups=2"), NS_OK);
}
END_TEST

static Suite *spec_keys_suite(void)
{
    Suite *s = suite_create("spec_keys");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, every_key_is_documented);
    tcase_add_test(tc, section_order_does_not_matter);
    tcase_add_test(tc, did_you_mean_elsewhere);
    tcase_add_test(tc, full_batch_duplicate);
    tcase_add_test(tc, norm_did_you_mean);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(spec_keys_suite(), argc, argv); }
