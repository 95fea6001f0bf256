/* test_spec_errors.c - every kind of bad sweep file gives the exact expected
 * "file:line:col: message" lines, all of them at once, in file order. */
#include "ns_test.h"
#include "normsweep/spec.h"
#include "sweep/sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse text as "t.yaml"; the error list must equal `want` exactly. */
static void expect_errors(const char *text, const char *want)
{
    ns_spec *s = (ns_spec *)1;
    char *errors = NULL;
    ns_status st = ns_spec_parse(text, "t.yaml", &s, &errors);
    ck_assert_int_eq(st, NS_ERR_ARG);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(errors);
    ck_assert_msg(strcmp(errors, want) == 0, "errors:\n%s\nwanted:\n%s", errors, want);
    /* ns_error_msg() holds the first line, flagged when more follow */
    size_t first = strcspn(want, "\n");
    ck_assert_int_eq(strncmp(ns_error_msg(), want, first), 0);
    int more = want[first + 1] != '\0';
    ck_assert_str_eq(ns_error_msg() + first, more ? " (and more errors)" : "");
    free(errors);
}

START_TEST(unknown_keys)
{
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10, bacth: 64}\n"
                  "grid: {lr: 0.1, arch: \"mlp:784-10\", norm: none, sed: [1]}\n"
                  "probes: {every: 5, hessain: {}}\n"
                  "extra: 1\n",
                  "t.yaml:2:20: train: unknown key 'bacth' (did you mean 'batch'?)\n"
                  "t.yaml:3:49: grid: unknown key 'sed' (did you mean 'seed'?)\n"
                  "t.yaml:4:20: probes: unknown key 'hessain' (did you mean 'hessian'?)\n"
                  "t.yaml:5:1: sweep file: unknown key 'extra' (expected one of: name, description, "
                  "data, data_seed, train, grid, search, overrides, probes, checkpoint, save_weights)\n");
}
END_TEST

START_TEST(wrong_types)
{
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: ten, momentum: [0.9], log_every: 1.5, weight_decay: \"0.1\"}\n"
                  "grid: {lr: {a: 1}, arch: \"mlp:784-10\", norm: none, seed: [x]}\n"
                  "probes: {every: 5, random_direction: yes}\n",
                  "t.yaml:2:16: train.steps: expected an integer, got 'ten'\n"
                  "t.yaml:2:31: train.momentum: expected a number, got a list\n"
                  "t.yaml:2:49: train.log_every: expected an integer, got '1.5'\n"
                  "t.yaml:2:68: train.weight_decay: expected a number, got the quoted text '0.1' "
                  "(remove the quotes)\n"
                  "t.yaml:3:12: grid.lr: missing key 'log_range' ([lo, hi])\n"
                  "t.yaml:3:12: grid.lr: missing key 'count'\n"
                  "t.yaml:3:13: grid.lr: unknown key 'a' (expected one of: log_range, count)\n"
                  "t.yaml:3:59: grid.seed[0]: expected an integer, got 'x'\n"
                  "t.yaml:4:38: probes.random_direction: expected true or false, got 'yes'\n");
    expect_errors("- data: fashion-mnist\n",
                  "t.yaml:1:1: sweep file: expected a mapping (key: value lines), got a list\n");
}
END_TEST

START_TEST(empty_axes)
{
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid:\n"
                  "  lr: []\n"
                  "  arch: []\n"
                  "  norm:\n"
                  "  seed: {count: 0}\n",
                  "t.yaml:4:7: grid.lr: must not be empty\n"
                  "t.yaml:5:9: grid.arch: must not be empty\n"
                  "t.yaml:6:8: grid.norm: expected a list of values, got nothing (null)\n"
                  "t.yaml:7:17: grid.seed.count: must be in 1..256, got 0\n");
    /* missing sections and required keys */
    expect_errors("data: fashion-mnist\n"
                  "grid: {norm: none}\n",
                  "t.yaml:1:1: missing section 'train' (at least train.steps is needed)\n"
                  "t.yaml:2:7: grid: missing key 'arch'\n"
                  "t.yaml:2:7: grid: missing key 'lr' (or search.lr drawing learning rates)\n");
}
END_TEST

START_TEST(impossible_values)
{
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 0, momentum: 1.0, weight_decay: -1}\n"
                  "grid:\n"
                  "  lr: [-0.1, 0, .inf, 1e-2, 1e-2]\n"
                  "  batch: [60001, 0, 60000]\n"
                  "  seed: [-1]\n"
                  "  arch: [\"mlp:784-10\"]\n"
                  "  norm: [none]\n",
                  "t.yaml:2:16: train.steps: must be >= 1, got 0\n"
                  "t.yaml:2:29: train.momentum: momentum must be in [0, 1), got '1.0'\n"
                  "t.yaml:2:48: train.weight_decay: weight decay must be a finite number >= 0, got '-1'\n"
                  "t.yaml:4:8: grid.lr[0]: learning rate must be a finite number > 0, got '-0.1'\n"
                  "t.yaml:4:14: grid.lr[1]: learning rate must be a finite number > 0, got '0'\n"
                  "t.yaml:4:17: grid.lr[2]: learning rate must be a finite number > 0, got '.inf'\n"
                  "t.yaml:4:29: grid.lr[4]: duplicate value (same as item 3)\n"
                  "t.yaml:5:11: grid.batch[0]: batch 60001 is larger than the training set (60000 "
                  "samples in 'fashion-mnist')\n"
                  "t.yaml:5:18: grid.batch[1]: batch must be >= 1, got '0'\n"
                  "t.yaml:6:10: grid.seed[0]: seed must be >= 0, got '-1'\n");
    /* a value set in both train and grid is ambiguous */
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10, batch: 64}\n"
                  "grid: {lr: 0.1, arch: \"mlp:784-10\", norm: none, batch: [32, 64]}\n",
                  "t.yaml:3:56: grid.batch: also set in train.batch (line 2); keep one\n");
}
END_TEST

/* The text after "grid.arch[i]: " comes from the arch/norm/data modules:
 * take it from them, so this test pins our
 * part (position, key path, which values, all at once) and survives their
 * wording. */
static char *ref_msg(int what, const char *text)
{
    static char buf[4][512];
    static int slot;
    char *b = buf[slot++ % 4];
    ns_status st;
    double f;
    int layers;
    ns_ref_data d;
    if (what == 'a') st = ns_ref_arch(text, (ns_shape){1, 28, 28}, 10, &f, &layers);
    else if (what == 'n') st = ns_ref_norm(text);
    else st = ns_ref_data_info(text, &d);
    ck_assert_int_eq(st, NS_ERR_ARG);
    snprintf(b, 512, "%s", ns_error_msg());
    return b;
}

START_TEST(unknown_arch_norm_data)
{
    char want[4096];
    snprintf(want, sizeof want,
             "t.yaml:5:10: grid.arch[0]: %s\n"
             "t.yaml:5:20: grid.arch[1]: %s\n"
             "t.yaml:5:41: grid.arch[3]: duplicate value 'vgg11'\n"
             "t.yaml:6:17: grid.norm[1]: %s\n",
             ref_msg('a', "resnet50"), ref_msg('a', "mlp:100-10"), ref_msg('n', "bn"));
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid:\n"
                  "  lr: [0.1]\n"
                  "  arch: [resnet50, \"mlp:100-10\", vgg11, vgg11]\n"
                  "  norm: [batch, bn]\n",
                  want);
    /* unknown data: arch and batch cannot be checked, everything else is */
    snprintf(want, sizeof want,
             "t.yaml:1:7: data: %s\n"
             "t.yaml:3:12: grid.lr[0]: learning rate must be a finite number > 0, got '-1'\n"
             "t.yaml:3:38: grid.norm[0]: %s\n",
             ref_msg('d', "imagenet"), ref_msg('n', "bn"));
    expect_errors("data: imagenet\n"
                  "train: {steps: 10, batch: 100000}\n"
                  "grid: {lr: -1, arch: \"resnet\", norm: bn}\n",
                  want);
}
END_TEST

START_TEST(malformed_yaml)
{
    expect_errors("data: fashion-mnist\ngrid: {lr: [0.1, 0.2}\n",
                  "t.yaml:2:21: YAML syntax error: did not find expected ',' or ']' while parsing a "
                  "flow sequence (started at line 2, column 12)\n");
    expect_errors("data: fashion-mnist\ntrain:\n  steps: 10\n   batch: 5\n",
                  "t.yaml:4:9: YAML syntax error: mapping values are not allowed in this context\n");
    expect_errors("data: fashion-mnist\ntrain:\n\tsteps: 10\n",
                  "t.yaml:3:1: YAML syntax error: found character that cannot start any token while "
                  "scanning for the next token (started at line 3, column 1)\n");
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {lr: 0.1, arch: \"mlp:784-10\", norm: none, lr: 0.2}\n",
                  "t.yaml:3:49: grid: duplicate key 'lr' (first at line 3)\n");
    expect_errors("", "t.yaml:1:1: the sweep file is empty\n");
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {lr: 0.1, arch: \"mlp:784-10\", norm: none}\n"
                  "---\n"
                  "data: other\n",
                  "t.yaml:5:1: only one YAML document per sweep file (found a second one)\n");
}
END_TEST

START_TEST(overrides_and_random)
{
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {lr: 0.1, arch: \"mlp:784-10\", norm: [none, batch]}\n"
                  "overrides:\n"
                  "  - match: {arch: \"dln:*\"}\n"
                  "    lr: [1.0e-6]\n"
                  "  - lr: [0.5]\n"
                  "  - match: {norm: batch}\n"
                  "    random_lr: [0.1, 1]\n"
                  "  - match: {norm: batch}\n",
                  "t.yaml:5:5: overrides[0]: matches no arch/norm pair of the grid (check the patterns)\n"
                  "t.yaml:7:5: overrides[1]: missing key 'match' (e.g. match: {arch: \"dln:*\"})\n"
                  "t.yaml:9:16: overrides[2].random_lr: no search.lr range (uniform or log_uniform) to "
                  "override\n"
                  "t.yaml:10:5: overrides[3]: sets nothing (give lr, seed, batch, ...)\n");
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none}\n"
                  "random: {seed: 1, lr: {uniform: [1, 2]}}\n",
                  "t.yaml:4:9: random: missing key 'count'\n"
                  "t.yaml:4:23: random.lr: missing key 'log_uniform' ([lo, hi])\n"
                  "t.yaml:4:24: random.lr: unknown key 'uniform' (expected one of: log_uniform)\n");
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none}\n"
                  "random: {count: 2, lr: {log_uniform: [1, 0.1]}}\n",
                  "t.yaml:4:38: random.lr.log_uniform: lo (1) must be <= hi (0.1)\n");
}
END_TEST

START_TEST(bad_probes)
{
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 100}\n"
                  "grid: {lr: 0.1, arch: [\"mlp:784-10\", vgg11], norm: batch}\n"
                  "probes:\n"
                  "  every: 5\n"
                  "  log_count: 3\n"
                  "  ics: {layers: [3, 12]}\n"
                  "  activations: {units: 0, quantiles: [0.5, 0.2, 1.5]}\n"
                  "  eta: {relative: [0.5]}\n",
                  "t.yaml:5:3: probes: give exactly one schedule: every, at or log_count (got 2)\n"
                  "t.yaml:7:17: probes.ics.layers: layer 12 does not exist in 'mlp:784-10' (it has "
                  "1 measured layer)\n"
                  "t.yaml:7:17: probes.ics.layers: layer 12 does not exist in 'vgg11' (it has 9 "
                  "measured layers)\n"
                  "t.yaml:8:24: probes.activations.units: must be in 1..4096, got 0\n"
                  "t.yaml:8:44: probes.activations.quantiles[1]: quantiles must be strictly increasing\n"
                  "t.yaml:8:49: probes.activations.quantiles[2]: a quantile must be in [0, 1], got '1.5'\n"
                  "t.yaml:9:19: probes.eta.relative: expected [lo, hi] (multiples of lr), got a list\n");
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 100}\n"
                  "grid: {lr: 0.1, arch: \"mlp:784-10\", norm: batch}\n"
                  "probes: {at: [0, 50, 50, 100], random_direction: true}\n",
                  "t.yaml:4:22: probes.at[2]: steps must be strictly increasing (50 after 50)\n"
                  "t.yaml:4:26: probes.at[3]: step 100 is outside [0, train.steps = 100)\n"
                  "t.yaml:4:50: probes.random_direction: needs probes.eta (the step sizes to evaluate)\n");
}
END_TEST

START_TEST(too_many_runs)
{
    expect_errors("data: fashion-mnist\n"
                  "train: {steps: 10}\n"
                  "grid: {lr: {log_range: [1.0e-4, 1.0], count: 256}, seed: {count: 256},\n"
                  "       arch: \"mlp:784-10\", norm: [none, batch]}\n",
                  "t.yaml:3:7: grid: the sweep expands to more than 100000 runs (split it into "
                  "several sweeps)\n");
}
END_TEST

START_TEST(load_errors)
{
    ns_spec *s = (ns_spec *)1;
    char *errors = (char *)1;
    ck_assert_int_eq(ns_spec_load("/nonexistent/sweep.yaml", &s, &errors), NS_ERR_IO);
    ck_assert_ptr_null(s);
    ck_assert_ptr_null(errors);
    ck_assert_str_eq(ns_error_msg(), "/nonexistent/sweep.yaml: cannot open: No such file or directory");

    const char *dir = ns_test_tmpdir("spec");
    char path[600];
    snprintf(path, sizeof path, "%s/nul.yaml", dir);
    ck_assert_int_eq(ns_test_write_file(path, "data: x\0y\n", 10), 0);
    ck_assert_int_eq(ns_spec_load(path, &s, &errors), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "nul.yaml: byte offset 7: NUL byte"));

    /* file errors carry the path given */
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    const char *bad = "data: fashion-mnist\ntrain: {steps: -5}\n";
    ck_assert_int_eq(ns_test_write_file(path, bad, strlen(bad)), 0);
    ck_assert_int_eq(ns_spec_load(path, &s, &errors), NS_ERR_ARG);
    char want[1400];
    snprintf(want, sizeof want,
             "%s:1:1: missing section 'grid' (at least grid.arch and grid.norm are needed)\n"
             "%s:2:16: train.steps: must be >= 1, got -5\n", path, path);
    ck_assert_str_eq(errors, want);
    free(errors);
    /* errors == NULL is allowed */
    ck_assert_int_eq(ns_spec_load(path, &s, NULL), NS_ERR_ARG);
    ns_test_rmtree(dir);
}
END_TEST

static Suite *spec_errors_suite(void)
{
    Suite *s = suite_create("spec_errors");
    TCase *tc = tcase_create("validate");
    tcase_add_test(tc, unknown_keys);
    tcase_add_test(tc, wrong_types);
    tcase_add_test(tc, empty_axes);
    tcase_add_test(tc, impossible_values);
    tcase_add_test(tc, unknown_arch_norm_data);
    tcase_add_test(tc, malformed_yaml);
    tcase_add_test(tc, overrides_and_random);
    tcase_add_test(tc, bad_probes);
    tcase_add_test(tc, too_many_runs);
    tcase_add_test(tc, load_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(spec_errors_suite(), argc, argv); }
