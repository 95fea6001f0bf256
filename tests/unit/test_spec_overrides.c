/* test_spec_overrides.c - Hydra-style command-line overrides: the same spec
 * as editing the file, recorded in the spec text (which parses back to the
 * same spec), and every kind of mistake reported as <override K>:1:COL. */
#include "spec_expect.h"
#include "normsweep/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *BASE = "# a comment\n"
                          "data: fashion-mnist\n"
                          "train: {steps: 100, batch: 32}\n"
                          "grid:\n"
                          "  arch: [\"mlp:784-10\"]\n"
                          "  norm: [none, batch]\n"
                          "  lr: [0.1]\n"
                          "probes: {every: 10, hessian: {iters: 5}}\n";

/* The options for overrides ov[0..n). */
static ns_spec_options ovs(const char *const *ov, int n)
{
    return (ns_spec_options){.overrides = ov, .noverrides = n};
}

static ns_spec *with(const char *text, const char *const *ov, int n)
{
    ns_spec_options o = ovs(ov, n);
    return spec_ok(text, &o);
}

static void expect_errors(const char *text, const char *const *ov, int n, const char *want)
{
    ns_spec_options o = ovs(ov, n);
    spec_errors(text, &o, want);
}

static char *canonical_of(const char *text)
{
    ns_spec *s = with(text, NULL, 0);
    char *c = ns_spec_canonical(s);
    ns_spec_free(s);
    return c;
}

/* Overrides give exactly the spec of the edited file. */
START_TEST(same_as_editing_the_file)
{
    const char *ov[] = {"train.steps=500", "grid.seed=[0,1]", "+probes.thm41=true",
                        "~probes.hessian", "probes.eta=", "checkpoint.every=50",
                        "grid.lr={log_range: [1.0e-3, 1], count: 4}"};
    ns_spec *s = with(BASE, ov, 7);
    char *got = ns_spec_canonical(s);
    char *want = canonical_of("data: fashion-mnist\n"
                              "train: {steps: 500, batch: 32}\n"
                              "grid:\n"
                              "  arch: [\"mlp:784-10\"]\n"
                              "  norm: [none, batch]\n"
                              "  lr: {log_range: [1.0e-3, 1], count: 4}\n"
                              "  seed: [0, 1]\n"
                              "probes:\n"
                              "  every: 10\n"
                              "  thm41: true\n"
                              "  eta:\n"
                              "checkpoint: {every: 50}\n");
    ck_assert_str_eq(got, want);
    ck_assert_int_eq(s->nruns, 2 * 4 * 2);
    ck_assert_int_eq(s->runs[0].steps, 500);
    ck_assert_int_eq(s->runs[0].probe.hessian, 0);
    ck_assert_int_eq(s->runs[0].probe.landscape, 1);
    ck_assert_int_eq(s->runs[0].checkpoint_every, 50);
    ck_assert_str_eq(s->overrides, "train.steps=500\ngrid.seed=[0,1]\n+probes.thm41=true\n"
                                   "~probes.hessian\nprobes.eta=\ncheckpoint.every=50\n"
                                   "grid.lr={log_range: [1.0e-3, 1], count: 4}\n");
    /* the recorded text: the override list, then a spec that parses back to this one */
    ck_assert_int_eq(strncmp(s->text, "# t.yaml with command-line overrides:\n"
                                      "#   train.steps=500\n#   grid.seed=[0,1]\n", 77), 0);
    ck_assert_ptr_null(strstr(s->text, "a comment"));
    char *again = canonical_of(s->text);
    ck_assert_str_eq(again, got);
    ns_spec *t = with(s->text, NULL, 0);
    ck_assert_str_eq(t->name, "t"); /* the file's name, written in */
    ns_spec_free(t);
    free(again);
    free(got);
    free(want);
    ns_spec_free(s);
}
END_TEST

/* Without overrides the text is the file as read. */
START_TEST(no_overrides_no_change)
{
    ns_spec *s = with(BASE, NULL, 0);
    ck_assert_str_eq(s->text, BASE);
    ck_assert_ptr_null(s->overrides);
    ns_spec_free(s);
}
END_TEST


START_TEST(override_mistakes)
{
    const char *ov[] = {"train.steps=-5",     "grid.seed=[0, x]",   "train.stpes=3",
                        "+train.batch=64",    "~probes.nope",       "grid..lr=1",
                        "probes.every.k=2",   "grid.lr=[0.1",       "steps",
                        "grid.arch=\"vgg\\e[2J\"", "train.b@tch=1"};
    expect_errors("data: fashion-mnist\ntrain: {steps: 10, batch: [1]}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none, lr: 0.1}\nprobes: {every: 5}\n",
                  ov, 11,
                  "t.yaml:2:27: train.batch: expected an integer, got a list\n"
                  "<override 1>:1:13: train.steps: must be >= 1, got -5\n"
                  "<override 2>:1:15: grid.seed[1]: expected an integer, got 'x'\n"
                  "<override 3>:1:7: train: unknown key 'stpes' (did you mean 'steps'?)\n"
                  "<override 4>:1:1: 'train.batch' is already set (+ adds a new key; use "
                  "train.batch=... or ++train.batch=... to change it)\n"
                  "<override 5>:1:9: no key 'probes.nope' to remove\n"
                  "<override 6>:1:6: empty key in 'grid..lr'\n"
                  "<override 7>:1:8: 'probes.every' is '5', not a mapping: it has no key 'k'\n"
                  "<override 8>:1:9: YAML syntax error in the value: did not find expected ',' "
                  "or ']'\n"
                  "<override 9>:1:1: expected key=value or ~key (e.g. train.steps=500, "
                  "grid.seed=[0,1]), got 'steps'\n"
                  "<override 10>:1:11: grid.arch[0]: arch 'vgg\\x1b[2J': unknown architecture "
                  "'vgg\\x1b[2J' (expected vgg11|vgg13|vgg16|vgg19[:width=F], mlp:N0-N1-..., "
                  "dln:depth=D,width=W)\n"
                  "<override 11>:1:8: keys are names joined by dots, got '@' in 'train.b@tch'\n");
}
END_TEST

/* A value nested deeper than the override limit, and an alias that would
 * multiply nodes, are handled without blowing up. */
START_TEST(hostile_values)
{
    char deep[400] = "grid.lr=";
    for (int i = 0; i < 100; i++) strcat(deep, "[");
    for (int i = 0; i < 100; i++) strcat(deep, "]");
    const char *ov[] = {deep};
    expect_errors(BASE, ov, 1,
                  "<override 1>:1:9: the value is nested more than 64 deep (or memory ran out)\n");
    const char *bomb[] = {"description=[&a [x, x, x, x], &b [*a, *a, *a, *a], &c [*b, *b, *b, *b], "
                          "&d [*c, *c, *c, *c], &e [*d, *d, *d, *d]]"};
    expect_errors(BASE, bomb, 1, /* copied once per node: 5 lists, not 4^5 */
                  "<override 1>:1:13: description: expected a text value, got a list\n");
}
END_TEST

static Suite *spec_overrides_suite(void)
{
    Suite *s = suite_create("spec_overrides");
    TCase *tc = tcase_create("overrides");
    tcase_add_test(tc, same_as_editing_the_file);
    tcase_add_test(tc, no_overrides_no_change);
    tcase_add_test(tc, override_mistakes);
    tcase_add_test(tc, hostile_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(spec_overrides_suite(), argc, argv); }
