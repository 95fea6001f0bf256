/* test_spec_search.c - random search (the `search` section): W&B-style
 * count as the total, per_grid_point as the old random.count, draws from
 * their rng streams, and the deprecated `random` section. */
#include "spec_expect.h"
#include "normsweep/rng.h"
#include "normsweep/spec.h"
#include "sweep/sweep_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GRID2 "grid: {arch: \"mlp:784-16-10\", norm: [none, batch, l2], seed: [0, 1, 2], lr: 0.1}\n"

/* count is the TOTAL: 7 runs after the grid's 9, whatever the grid's size;
 * every draw follows the documented stream and formula. */
START_TEST(count_is_the_total)
{
    ns_spec *s = spec_ok("data: fashion-mnist\ntrain: {steps: 10}\n" GRID2
                          "search:\n  count: 7\n  seed: 11\n"
                          "  lr: {log_uniform: [1.0e-4, 1.0]}\n"
                          "  momentum: {uniform: [0.5, 0.9]}\n"
                          "  batch: {log_uniform: [16, 256]}\n"
                          "  weight_decay: {choice: [0, 1.0e-4, 1.0e-3]}\n", NULL);
    ck_assert_int_eq(s->nruns, 9 + 7);
    static const char *norms[3] = {"none", "batch", "l2"};
    static const double wd[3] = {0, 1e-4, 1e-3};
    for (int k = 0; k < 7; k++) {
        const ns_run_config *r = &s->runs[9 + k];
        ck_assert_int_eq(r->index, 9 + k);
        ck_assert_int_eq(r->random_sample, k);
        ck_assert_double_eq(r->lr, exp(log(1e-4) + spec_draw(11, 0, k) * (log(1.0) - log(1e-4))));
        ck_assert_double_eq(r->momentum, 0.5 + spec_draw(11, 1 + NS_AXIS_MOMENTUM, k) * 0.4);
        double b = exp(log(16.0) + spec_draw(11, 1 + NS_AXIS_BATCH, k) * (log(256.0) - log(16.0)));
        ck_assert_int_eq(r->batch, (int)nearbyint(b));
        ck_assert_double_eq(r->weight_decay, wd[(int)(spec_draw(11, 1 + NS_AXIS_WEIGHT_DECAY, k) * 3)]);
        /* grid axes are drawn too: norm and seed uniformly from their lists */
        ck_assert_str_eq(r->norm, norms[(int)(spec_draw(11, 16 + NS_AXIS_NORM, k) * 3)]);
        ck_assert_uint_eq(r->seed, (uint64_t)(spec_draw(11, 16 + NS_AXIS_SEED, k) * 3));
    }
    /* a draw depends on (seed, axis, k) only: count 3 gives the first 3 of count 7 */
    ns_spec *t = spec_ok("data: fashion-mnist\ntrain: {steps: 10}\n" GRID2
                          "search:\n  count: 3\n  seed: 11\n"
                          "  lr: {log_uniform: [1.0e-4, 1.0]}\n"
                          "  momentum: {uniform: [0.5, 0.9]}\n"
                          "  batch: {log_uniform: [16, 256]}\n"
                          "  weight_decay: {choice: [0, 1.0e-4, 1.0e-3]}\n", NULL);
    ck_assert_int_eq(t->nruns, 9 + 3);
    ck_assert_int_eq(memcmp(t->runs, s->runs, sizeof *s->runs * 12), 0);
    ns_spec_free(t);
    ns_spec_free(s);
}
END_TEST

/* per_grid_point is the old random.count: the deprecated section and its new
 * spelling give the same runs, byte for byte, and the same canonical text;
 * the old one warns and says the new name. */
START_TEST(per_grid_point_is_old_random)
{
    const char *head = "data: fashion-mnist\ntrain: {steps: 10}\n"
                       "grid: {arch: \"mlp:784-10\", norm: [none, batch], lr: [0.1]}\n";
    char a[512], b[512];
    snprintf(a, sizeof a, "%srandom: {count: 3, seed: 7, lr: {log_uniform: [1.0e-3, 1.0]}}\n", head);
    snprintf(b, sizeof b, "%ssearch: {per_grid_point: 3, seed: 7, lr: {log_uniform: [1.0e-3, 1.0]}}\n",
             head);
    ns_spec *old = spec_ok(a, NULL), *neu = spec_ok(b, NULL);
    ck_assert_int_eq(old->nruns, 2 + 2 * 3);
    spec_assert_same(old, neu);
    char *ca = ns_spec_canonical(old);
    ck_assert_ptr_nonnull(strstr(ca, "\"random\":{\"count\":3,\"seed\":7,\"lr\":{\"log_uniform\""));
    ck_assert_ptr_null(strstr(ca, "\"search\""));
    ck_assert_ptr_null(neu->warnings);
    ck_assert_str_eq(old->warnings,
                     "t.yaml:4:9: warning: random: deprecated (its count multiplies with every "
                     "grid axis): the same runs are search: {per_grid_point: 3, seed: 7, lr: "
                     "{log_uniform: [0.001, 1]}}; search.count is the total number of runs, as in "
                     "W&B\n");
    free(ca);
    ns_spec_free(old);
    ns_spec_free(neu);
}
END_TEST

/* per_grid_point with more sampled axes: sample k fixes all of them, and is
 * crossed with the other axes of every pair; a sampled width goes into the
 * arch string, whose cost is the run's own. */
START_TEST(per_grid_point_crosses)
{
    ns_spec *s = spec_ok("data: fashion-mnist\ntrain: {steps: 10}\n"
                          "grid: {arch: vgg11, norm: [none, batch], seed: [0, 1]}\n"
                          "search:\n  per_grid_point: 2\n"
                          "  lr: {choice: [0.1, 0.2, 0.3]}\n"
                          "  width: {uniform: [0.0625, 0.125]}\n", NULL);
    ck_assert_int_eq(s->nruns, 2 * 2 * 2); /* pairs x samples x seeds, no grid lr */
    for (int i = 0; i < s->nruns; i++) {
        const ns_run_config *r = &s->runs[i];
        int k = (i / 2) % 2;
        ck_assert_int_eq(r->random_sample, k);
        ck_assert_uint_eq(r->seed, (uint64_t)(i % 2));
        ck_assert_str_eq(r->norm, i < 4 ? "none" : "batch");
        char want[64];
        snprintf(want, sizeof want, "vgg11:width=%.4g",
                 0.0625 + spec_draw(0, 9, k) * 0.0625); /* width: stream 9 */
        ck_assert_str_eq(r->arch, want);
        static const double lr[3] = {0.1, 0.2, 0.3};
        ck_assert_double_eq(r->lr, lr[(int)(spec_draw(0, 0, k) * 3)]);
        double f;
        int layers;
        ck_assert_int_eq(ns_ref_arch(r->arch, (ns_shape){1, 28, 28}, 10, &f, &layers), NS_OK);
        ck_assert_double_eq(s->train_flops[i], f);
        ck_assert_int_eq(s->measured_layers[i], 9);
    }
    ck_assert(strcmp(s->runs[0].arch, s->runs[2].arch) != 0);
    char *c = ns_spec_canonical(s);
    ck_assert_ptr_nonnull(strstr(c, "\"random\":null,\"search\":{\"per_grid_point\":2,\"seed\":0,"
                                    "\"lr\":{\"choice\":[0.10000000000000001,0.20000000000000001,"
                                    "0.29999999999999999]},\"width\":{\"uniform\":[0.0625,0.125]}}"));
    free(c);
    ns_spec_free(s);
}
END_TEST

START_TEST(search_errors)
{
    EXPECT_ERRORS("data: fashion-mnist\ntrain: {steps: 10, momentum: 0.5}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none}\n"
                  "search:\n"
                  "  count: 3\n"
                  "  per_grid_point: 2\n"
                  "  lr: {uniform: [0.1, 1], choice: [0.5]}\n"
                  "  momentum: {log_uniform: [0, 0.9]}\n"
                  "  batch: {uniform: [8, full]}\n"
                  "  width: {choice: [0.5]}\n"
                  "  weight_decay: {normal: [0, 1]}\n",
                  "t.yaml:5:3: search: give count (runs in total, as W&B's count) or "
                  "per_grid_point (draws, each crossed with every grid point), not both\n"
                  "t.yaml:7:7: search.lr: give one distribution: uniform: [lo, hi], log_uniform: "
                  "[lo, hi] or choice: [values] (got 2)\n"
                  "t.yaml:8:13: search.momentum: also set in train.momentum (line 2); keep one\n"
                  "t.yaml:8:27: search.momentum.log_uniform: log_uniform needs lo > 0, got 0\n"
                  "t.yaml:9:24: search.batch.uniform[1]: 'full' is not a number: use choice: "
                  "[..., full]\n"
                  "t.yaml:10:10: search.width: 'mlp:784-10' has no width to sample (only vgg archs "
                  "take width=)\n"
                  "t.yaml:11:17: search.weight_decay: give one distribution: uniform: [lo, hi], "
                  "log_uniform: [lo, hi] or choice: [values] (got 0)\n"
                  "t.yaml:11:18: search.weight_decay: unknown key 'normal' (expected one of: "
                  "uniform, log_uniform, choice)\n");
    EXPECT_ERRORS("data: fashion-mnist\ntrain: {steps: 10}\n"
                  "grid: {arch: \"mlp:784-10\", norm: none}\n"
                  "search: {per_grid_point: 2}\n"
                  "random: {count: 2, lr: {log_uniform: [0.1, 1]}}\n",
                  "t.yaml:4:9: search: per_grid_point draws nothing (give lr, batch, momentum, "
                  "weight_decay, optimizer, schedule or width)\n"
                  "t.yaml:5:9: random: give search or random (deprecated), not both\n");
    /* a width range is checked at both ends against the data set and the limits */
    EXPECT_ERRORS("data: fashion-mnist\ntrain: {steps: 10}\n"
                  "grid: {arch: vgg11, norm: none, lr: 0.1}\n"
                  "search: {count: 2, width: {uniform: [0.001, 200]}}\n",
                  "t.yaml:4:27: search.width: arch 'vgg11:width=0.001': width=0.001 rounds a "
                  "64-channel layer to 0 channels\n");
}
END_TEST

/* count with no sampled axis: random points of the grid (W&B over values). */
START_TEST(count_over_grid_values)
{
    ns_spec *s = spec_ok("data: fashion-mnist\ntrain: {steps: 10}\n" GRID2
                          "search: {count: 5, seed: 3}\n", NULL);
    ck_assert_int_eq(s->nruns, 9 + 5);
    for (int k = 0; k < 5; k++) ck_assert_double_eq(s->runs[9 + k].lr, 0.1);
    ns_spec_free(s);
}
END_TEST

/* plan before the data is there: a warning, the published sizes; run: an error. */
START_TEST(missing_data)
{
    const char *text = "data: cifar10:/nonexistent/cifar-10-batches-bin\ntrain: {steps: 10}\n"
                       "grid: {arch: vgg11, norm: batch, lr: 0.1}\n";
    ns_spec *s = NULL;
    char *errors = NULL;
    ck_assert_int_eq(ns_spec_parse(text, "t.yaml", &s, &errors), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(errors, "t.yaml:1:7: data: "));
    free(errors);
    ns_spec_options opt = {.allow_missing_data = 1};
    ck_assert_int_eq(ns_spec_parse_opts(text, "t.yaml", &opt, &s, &errors), NS_OK);
    ck_assert_int_eq(s->data_missing, 1);
    ck_assert_int_eq(s->n_train, 50000);
    ck_assert_int_eq(s->n_test, 10000);
    ck_assert_int_eq(s->in_shape.c, 3);
    ck_assert_int_eq(s->in_shape.h, 32);
    ck_assert_int_eq(s->nclasses, 10);
    ck_assert(s->train_flops[0] > 9e8); /* VGG-11 on 32x32: ~0.92 GFLOP per sample */
    ck_assert_ptr_nonnull(strstr(s->warnings, "t.yaml:1:7: warning: data: the data set cannot be "
                                              "read ("));
    ck_assert_ptr_nonnull(strstr(s->warnings, "): costs use its published size (50000 train, "
                                              "10000 test samples); `normsweep run` needs the files\n"));
    ns_spec_free(s);
    /* files that are there but cannot be read stay an error: a FIFO (it would
     * hang a reader); an empty directory is data not downloaded yet */
    const char *dir = ns_test_tmpdir("specdata");
    char t2[1024], fifo[700];
    snprintf(t2, sizeof t2, "data: \"mnist:%s\"\ntrain: {steps: 1}\n"
             "grid: {arch: \"mlp:784-10\", norm: none, lr: 0.1}\n", dir);
    ck_assert_int_eq(ns_spec_parse_opts(t2, "t.yaml", &opt, &s, NULL), NS_OK);
    ck_assert_int_eq(s->data_missing, 1);
    ns_spec_free(s);
    snprintf(fifo, sizeof fifo, "%s/train-labels-idx1-ubyte", dir);
    ck_assert_int_eq(ns_test_write_file(fifo, "", 0), 0);
    snprintf(fifo, sizeof fifo, "%s/train-images-idx3-ubyte", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(ns_spec_parse_opts(t2, "t.yaml", &opt, &s, &errors), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(errors, "not a regular file"));
    free(errors);
    ns_test_rmtree(dir);
    /* a name that is not a data set is still an error */
    ck_assert_int_eq(ns_spec_parse_opts("data: imagenet\ntrain: {steps: 1}\n"
                                        "grid: {arch: vgg11, norm: none, lr: 0.1}\n",
                                        "t.yaml", &opt, &s, NULL), NS_ERR_ARG);
}
END_TEST

static Suite *spec_search_suite(void)
{
    Suite *s = suite_create("spec_search");
    TCase *tc = tcase_create("search");
    tcase_add_test(tc, count_is_the_total);
    tcase_add_test(tc, per_grid_point_is_old_random);
    tcase_add_test(tc, per_grid_point_crosses);
    tcase_add_test(tc, search_errors);
    tcase_add_test(tc, count_over_grid_values);
    tcase_add_test(tc, missing_data);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(spec_search_suite(), argc, argv); }
