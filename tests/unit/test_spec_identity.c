/* test_spec_identity.c - run identity (src/sweep/identity.c): which settings
 * make a run the run it is, and the matching of an older sweep's runs to an
 * extended one's (run --extend), with its refusals. */
#include "spec_expect.h"
#include "normsweep/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASE "data: fashion-mnist\ntrain: {steps: 10, batch: 16}\n" \
             "probes: {every: 5, eta: {count: 2}, hessian: {iters: 3}}\n"

/* Each setting in the table is part of a run's identity and is named as the
 * sweep file names it; index and checkpoint_every are not. */
START_TEST(fields_and_names)
{
    ns_spec *s = spec_ok(BASE "grid: {arch: \"mlp:784-16-10\", norm: none, lr: 0.1}\n", NULL);
    const ns_run_config *a = &s->runs[0];
    ns_run_config b;
    char key[64];
#define DIFFERS(change, name)                                                  \
    do {                                                                       \
        b = *a;                                                                \
        change;                                                                \
        ck_assert_int_eq(ns_run_same(a, &b, key, sizeof key), 0);              \
        ck_assert_str_eq(key, name);                                           \
    } while (0)
    DIFFERS(b.steps = 11, "train.steps");
    DIFFERS(b.data_seed = 1, "data_seed");
    DIFFERS(snprintf(b.data, sizeof b.data, "mnist"), "data");
    DIFFERS(b.optimizer = NS_OPTIM_ADAM, "train.optimizer");
    DIFFERS(b.beta2 = 0.5, "train.beta2");
    DIFFERS(b.schedule.gamma = 0.5, "train.schedule");
    DIFFERS(b.log_every = 2, "train.log_every");
    DIFFERS(b.diverge_above = 5, "train.diverge_above");
    DIFFERS(b.probe.every = 4, "probes (schedule)");
    DIFFERS(b.probe.eta_count = 3, "probes.eta");
    DIFFERS(b.probe.ics = 1, "probes.ics");
    DIFFERS(b.probe.act_units = 4, "probes.activations");
    DIFFERS(b.probe.hess_tol = 0.5, "probes.hessian");
    DIFFERS(b.probe.thm41 = 1, "probes.thm41");
    DIFFERS(b.probe.curv = 1, "probes.curvature");
    DIFFERS((b.nsave = 1, b.save_at[0] = 0), "save_weights.at");
    DIFFERS(snprintf(b.arch, sizeof b.arch, "mlp:784-8-10"), "arch");
    DIFFERS(snprintf(b.norm, sizeof b.norm, "batch"), "norm");
    DIFFERS(b.lr = 0.2, "lr");
    DIFFERS(b.momentum = 0.9, "momentum");
    DIFFERS(b.init = NS_INIT_HE, "init");
    DIFFERS(b.seed = 7, "seed");
    DIFFERS(b.random_sample = 0, "random_sample");
    /* several differences: the first in table order (a sweep setting first) */
    DIFFERS((b.lr = 0.2, b.steps = 5), "train.steps");
#undef DIFFERS
    b = *a;
    b.index = 99;
    b.checkpoint_every = 3;
    ck_assert_int_eq(ns_run_same(a, &b, key, sizeof key), 1);
    ck_assert_str_eq(key, "");
    ns_spec_free(s);
}
END_TEST

/* old_of_new maps every run of the old sweep to its twin in the extended one
 * (by settings: the indices differ), and nothing else. */
static void assert_extends(const ns_spec *old, const ns_spec *ext)
{
    int *map = malloc(sizeof *map * (size_t)ext->nruns);
    ck_assert_ptr_nonnull(map);
    ck_assert_msg(ns_spec_match_runs(old, "old.h5", ext, "new.yaml", map) == NS_OK, "%s",
                  ns_error_msg());
    int found = 0;
    for (int j = 0; j < ext->nruns; j++) {
        if (map[j] < 0) {
            for (int i = 0; i < old->nruns; i++)
                ck_assert(!ns_run_same(&old->runs[i], &ext->runs[j], NULL, 0));
            continue;
        }
        ck_assert(ns_run_same(&old->runs[map[j]], &ext->runs[j], NULL, 0));
        found++;
    }
    ck_assert_int_eq(found, old->nruns);
    free(map);
}

START_TEST(grid_extensions)
{
    ns_spec *old = spec_ok(BASE "grid: {arch: \"mlp:784-16-10\", norm: none, lr: 0.1, "
                                "seed: [0, 1]}\n", NULL);
    ns_spec *ext = spec_ok(BASE "checkpoint: {every: 3}\n"
                                "grid: {arch: [\"mlp:784-16-10\", \"mlp:784-8-10\"], "
                                "norm: [batch, none], lr: [0.01, 0.1], seed: [2, 1, 0]}\n", NULL);
    ck_assert_int_eq(ext->nruns, 24);
    /* the old run 0 (none, 0.1, seed 0) is run 11 now: norm batch and lr 0.01 come first */
    int map[24];
    ck_assert_int_eq(ns_spec_match_runs(old, "old.h5", ext, "new.yaml", map), NS_OK);
    ck_assert_int_eq(map[11], 0);
    ck_assert_int_eq(map[10], 1);
    assert_extends(old, ext);
    ns_spec_free(ext);
    ns_spec_free(old);
}
END_TEST

START_TEST(search_extensions)
{
    const char *lr = "  lr: {log_uniform: [1.0e-3, 1.0]}\n";
    char a[512], b[512];
    snprintf(a, sizeof a, BASE "grid: {arch: \"mlp:784-16-10\", norm: none}\n"
                          "search:\n  per_grid_point: 2\n  seed: 5\n%s", lr);
    snprintf(b, sizeof b, BASE "grid: {arch: \"mlp:784-16-10\", norm: [none, l2]}\n"
                          "search:\n  per_grid_point: 4\n  seed: 5\n%s", lr);
    ns_spec *old = spec_ok(a, NULL), *ext = spec_ok(b, NULL);
    assert_extends(old, ext);
    ns_spec_free(ext);
    ns_spec_free(old);
    snprintf(a, sizeof a, BASE "grid: {arch: \"mlp:784-16-10\", norm: [none, l2], lr: 0.1}\n"
                          "search:\n  count: 3\n  seed: 5\n%s", lr);
    snprintf(b, sizeof b, BASE "grid: {arch: \"mlp:784-16-10\", norm: [none, l2], lr: 0.1}\n"
                          "search:\n  count: 9\n  seed: 5\n%s", lr);
    old = spec_ok(a, NULL), ext = spec_ok(b, NULL);
    assert_extends(old, ext);
    ns_spec_free(ext);
    ns_spec_free(old);
}
END_TEST

static void assert_refused(const char *old_text, const char *ext_text, const char *want)
{
    ns_spec *old = spec_ok(old_text, NULL), *ext = spec_ok(ext_text, NULL);
    int *map = malloc(sizeof *map * (size_t)ext->nruns);
    ck_assert_ptr_nonnull(map);
    ck_assert_int_eq(ns_spec_match_runs(old, "old.h5", ext, "new.yaml", map), NS_ERR_ARG);
    ck_assert_msg(strcmp(ns_error_msg(), want) == 0, "got:  %s\nwant: %s", ns_error_msg(), want);
    free(map);
    ns_spec_free(ext);
    ns_spec_free(old);
}

START_TEST(refusals)
{
    const char *grid = "grid: {arch: \"mlp:784-16-10\", norm: [none, batch], lr: 0.1, seed: [0, 1]}\n";
    char a[512], b[512];
    snprintf(a, sizeof a, BASE "%s", grid);
    snprintf(b, sizeof b, "data: fashion-mnist\ntrain: {steps: 12, batch: 16}\n"
                          "probes: {every: 5, eta: {count: 2}, hessian: {iters: 3}}\n%s", grid);
    assert_refused(a, b, "old.h5 has train.steps = 10, new.yaml gives 12: --extend adds runs, it "
                         "never changes a run of the file (its run 0: lr=0.1 arch=mlp:784-16-10 "
                         "norm=none seed=0)");
    snprintf(b, sizeof b, "data: fashion-mnist\ntrain: {steps: 10, batch: 16}\n"
                          "probes: {every: 5, eta: {count: 3}, hessian: {iters: 3}}\n%s", grid);
    assert_refused(a, b, "old.h5 has probes.eta = {relative: [0.5, 4], count: 2}, new.yaml gives "
                         "{relative: [0.5, 4], count: 3}: --extend adds runs, it never changes a "
                         "run of the file (its run 0: lr=0.1 arch=mlp:784-16-10 norm=none seed=0)");
    snprintf(b, sizeof b, BASE "grid: {arch: \"mlp:784-16-10\", norm: [none, batch], lr: 0.1, "
                          "seed: [0, 2]}\n");
    assert_refused(a, b, "new.yaml drops run 1 of old.h5 (lr=0.1 arch=mlp:784-16-10 norm=none "
                         "seed=1): its nearest run has seed 0 instead of 1; --extend adds grid "
                         "values, it never removes one");
    snprintf(b, sizeof b, BASE "grid: {arch: \"mlp:784-16-10\", norm: [none, l2], lr: 0.1, "
                          "seed: [0, 1]}\n");
    assert_refused(a, b, "new.yaml drops run 2 of old.h5 (lr=0.1 arch=mlp:784-16-10 norm=batch "
                         "seed=0): its nearest run has norm none instead of batch; --extend adds "
                         "grid values, it never removes one");
    /* an override that changes a pair's lr list */
    snprintf(b, sizeof b, BASE "%soverrides:\n  - match: {norm: batch}\n    lr: [0.2]\n", grid);
    assert_refused(a, b, "new.yaml drops run 2 of old.h5 (lr=0.1 arch=mlp:784-16-10 norm=batch "
                         "seed=0): its nearest run has lr 0.2 instead of 0.1; --extend adds grid "
                         "values, it never removes one");
}
END_TEST

static Suite *spec_identity_suite(void)
{
    Suite *s = suite_create("spec_identity");
    TCase *tc = tcase_create("identity");
    tcase_add_test(tc, fields_and_names);
    tcase_add_test(tc, grid_extensions);
    tcase_add_test(tc, search_extensions);
    tcase_add_test(tc, refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(spec_identity_suite(), argc, argv); }
