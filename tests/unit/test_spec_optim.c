/* test_spec_optim.c - the optimizer's sweep keys (src/sweep/keys.c rows,
 * read_optim.c): train.optimizer / betas / eps / schedule and the optimizer
 * axis reach the run configs; the canonical text names them only when they
 * are used (an SGD sweep's text is as before); bad values give one line each
 * naming the key. The optimizer and the schedule are also axes (grid,
 * overrides, search choice, count picks) with their own draw streams. */
#define _GNU_SOURCE /* memmem */
#include "spec_expect.h"

#include "normsweep/optim.h"
#include "normsweep/rng.h"
#include "normsweep/spec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA "data: 'synthetic-cls:n=64,test=16,c=1,h=4,w=4,classes=3'\n"
#define GRID "grid: {arch: ['mlp:16-8-3'], norm: [none], lr: [0.1, 0.01]}\n"

START_TEST(defaults_are_sgd_constant_and_canonical_text_unchanged)
{
    ns_spec *s = spec_ok(DATA "train: {steps: 10}\n" GRID, NULL);
    const ns_run_config *r = &s->runs[0];
    ck_assert_int_eq(r->optimizer, NS_OPTIM_SGD);
    ck_assert(r->beta1 == 0.9 && r->beta2 == 0.999 && r->eps == 1e-8);
    ck_assert_int_eq(r->schedule.kind, NS_LR_CONSTANT);
    ck_assert_int_eq(r->schedule.warmup, 0);
    ck_assert(r->schedule.warmup_start == 1.0 / 3.0 && r->schedule.gamma == 0.1);
    char *c = ns_spec_canonical(s);
    ck_assert_ptr_nonnull(strstr(c, ",\"optimizer\":\"sgd\",\"momentum\":0,"));
    ck_assert_ptr_null(strstr(c, "betas"));
    ck_assert_ptr_null(strstr(c, "\"schedule\":{\"kind\""));
    free(c);
    ns_spec_free(s);
}
END_TEST

START_TEST(adamw_with_a_schedule_reaches_the_runs)
{
    ns_spec *s = spec_ok(DATA
                         "train:\n"
                         "  steps: 100\n"
                         "  optimizer: adamw\n"
                         "  weight_decay: 0.01\n"
                         "  betas: [0.8, 0.99]\n"
                         "  eps: 1.0e-6\n"
                         "  schedule: {kind: cosine, warmup: 10, warmup_start: 0.1, "
                         "min_factor: 0.05}\n" GRID, NULL);
    for (int i = 0; i < s->nruns; i++) {
        const ns_run_config *r = &s->runs[i];
        ck_assert_int_eq(r->optimizer, NS_OPTIM_ADAMW);
        ck_assert(r->beta1 == 0.8 && r->beta2 == 0.99 && r->eps == 1e-6);
        ck_assert(r->weight_decay == 0.01);
        ck_assert_int_eq(r->schedule.kind, NS_LR_COSINE);
        ck_assert_int_eq(r->schedule.warmup, 10);
        ck_assert(r->schedule.warmup_start == 0.1 && r->schedule.min_factor == 0.05);
    }
    char *c = ns_spec_canonical(s);
    ck_assert_ptr_nonnull(strstr(c, "\"optimizer\":\"adamw\""));
    ck_assert_ptr_nonnull(strstr(c, "\"betas\":[0.80000000000000004,0.98999999999999999]"));
    ck_assert_ptr_nonnull(strstr(c, "\"schedule\":{\"kind\":\"cosine\",\"warmup\":10,"));
    free(c);
    char text[128];
    ns_lr_schedule_text(&s->runs[0].schedule, text, sizeof text);
    ck_assert_str_eq(text, "cosine:min_factor=0.05,warmup=10,warmup_start=0.1");
    ns_spec_free(s);
    s = spec_ok(DATA "train: {steps: 100, schedule: {kind: step, step_size: 30, gamma: 0.5}}\n"
                     GRID, NULL);
    ck_assert_int_eq(s->runs[1].schedule.kind, NS_LR_STEP);
    ck_assert_int_eq(s->runs[1].schedule.step_size, 30);
    ck_assert(s->runs[1].schedule.gamma == 0.5);
    c = ns_spec_canonical(s);
    ck_assert_ptr_null(strstr(c, "betas")); /* all SGD */
    ck_assert_ptr_nonnull(strstr(c, "\"step_size\":30,\"gamma\":0.5}"));
    free(c);
    ns_spec_free(s);
}
END_TEST

/* grid.optimizer is an axis: lr > optimizer > seed in the run order,
 * overridable per arch/norm, and named in the plan's varied settings. */
START_TEST(optimizer_is_an_axis)
{
    ns_spec *s = spec_ok(DATA "train: {steps: 10}\n"
                              "grid: {arch: ['mlp:16-8-3'], norm: [none, batch], lr: [0.1, 0.01],\n"
                              "       optimizer: [sgd, adam], seed: [0, 1]}\n"
                              "overrides:\n"
                              "  - match: {norm: batch}\n"
                              "    optimizer: [adamw]\n", NULL);
    ck_assert_int_eq(s->nruns, 2 * 2 * 2 + 2 * 1 * 2);
    const int want[] = {NS_OPTIM_SGD, NS_OPTIM_SGD, NS_OPTIM_ADAM, NS_OPTIM_ADAM};
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(s->runs[i].optimizer, want[i % 4]);
        ck_assert(s->runs[i].lr == (i < 4 ? 0.1 : 0.01));
        ck_assert_int_eq((int)s->runs[i].seed, i % 2);
    }
    for (int i = 8; i < 12; i++) ck_assert_int_eq(s->runs[i].optimizer, NS_OPTIM_ADAMW);
    char buf[128];
    ns_plan_varied_text(s, 2, buf, sizeof buf);
    ck_assert_str_eq(buf, "optimizer=adam");
    char *c = ns_spec_canonical(s);
    ck_assert_ptr_nonnull(strstr(c, "\"optimizer\":[\"sgd\",\"adam\"]"));
    ck_assert_ptr_nonnull(strstr(c, "\"optimizer\":[\"adamw\"]"));
    ck_assert_ptr_nonnull(strstr(c, "\"betas\":[0.90000000000000002,0.999]"));
    free(c);
    ns_spec_free(s);
}
END_TEST

/* The optimizer in random search, as the other categorical axes: choice draws
 * from stream 10 (per_grid_point: sample k fixes it for every pair), count
 * picks uniformly from the grid's list (stream 16 + axis = 24); the canonical
 * text names the search, and Adam's settings once a run draws Adam. */
START_TEST(optimizer_in_search)
{
    static const int opt[3] = {NS_OPTIM_SGD, NS_OPTIM_ADAM, NS_OPTIM_ADAMW};
    ns_spec *s = spec_ok(DATA "train: {steps: 10}\n"
                              "grid: {arch: ['mlp:16-8-3'], norm: [none, batch], seed: [0, 1]}\n"
                              "search:\n  per_grid_point: 6\n  seed: 5\n"
                              "  lr: {log_uniform: [1.0e-3, 1.0]}\n"
                              "  optimizer: {choice: [sgd, adam, adamw]}\n", NULL);
    ck_assert_int_eq(s->nruns, 2 * 6 * 2); /* pairs x samples x seeds */
    int seen = 0;
    for (int i = 0; i < s->nruns; i++) {
        const ns_run_config *r = &s->runs[i];
        int k = (i / 2) % 6;
        ck_assert_int_eq(r->random_sample, k);
        ck_assert_int_eq(r->optimizer, opt[(int)(spec_draw(5, 10, k) * 3)]);
        ck_assert_double_eq(r->lr, exp(log(1e-3) + spec_draw(5, 0, k) * (log(1.0) - log(1e-3))));
        seen |= 1 << r->optimizer;
    }
    ck_assert_int_gt(__builtin_popcount((unsigned)seen), 1);
    ck_assert(s->varied & (1u << NS_AXIS_OPTIMIZER));
    char *c = ns_spec_canonical(s);
    ck_assert_ptr_nonnull(strstr(c, ",\"optimizer\":{\"choice\":[\"sgd\",\"adam\",\"adamw\"]}}"));
    ck_assert_ptr_nonnull(strstr(c, "\"betas\":["));
    free(c);
    ns_spec_free(s);

    /* count: the grid's optimizer list, a uniform pick per run; the first runs
     * of a longer count are the runs of a shorter one */
    const char *grid = "grid: {arch: ['mlp:16-8-3'], norm: [none], lr: [0.1],\n"
                       "       optimizer: [sgd, adam, adamw]}\n";
    char text[512];
    snprintf(text, sizeof text, "%strain: {steps: 10}\n%ssearch: {count: 12, seed: 9}\n", DATA, grid);
    s = spec_ok(text, NULL);
    ck_assert_int_eq(s->nruns, 3 + 12);
    for (int k = 0; k < 12; k++)
        ck_assert_int_eq(s->runs[3 + k].optimizer, opt[(int)(spec_draw(9, 16 + NS_AXIS_OPTIMIZER, k) * 3)]);
    snprintf(text, sizeof text, "%strain: {steps: 10}\n%ssearch: {count: 4, seed: 9}\n", DATA, grid);
    ns_spec *t = spec_ok(text, NULL);
    ck_assert_int_eq(memcmp(t->runs, s->runs, sizeof *s->runs * (size_t)t->nruns), 0);
    ns_spec_free(t);
    ns_spec_free(s);
}
END_TEST

/* Command-line overrides set the optimizer like any key: the axis, the
 * train value, and the search's choice. */
START_TEST(optimizer_from_the_command_line)
{
    const char *const ov[] = {"grid.optimizer=[adam,sgd]", "train.betas=[0.5,0.6]"};
    ns_spec_options o = {.overrides = ov, .noverrides = 2};
    ns_spec *s = spec_ok(DATA "train: {steps: 10}\n" GRID, &o);
    ck_assert_int_eq(s->nruns, 4);
    ck_assert_int_eq(s->runs[0].optimizer, NS_OPTIM_ADAM);
    ck_assert_int_eq(s->runs[1].optimizer, NS_OPTIM_SGD);
    ck_assert(s->runs[0].beta1 == 0.5 && s->runs[0].beta2 == 0.6);
    ns_spec_free(s);
    const char *const ov2[] = {"++search={per_grid_point: 2, optimizer: {choice: [adamw]}}"};
    ns_spec_options o2 = {.overrides = ov2, .noverrides = 1};
    s = spec_ok(DATA "train: {steps: 10}\n" GRID, &o2);
    ck_assert_int_eq(s->nruns, 2 + 2 * 2);
    for (int i = 2; i < s->nruns; i++) ck_assert_int_eq(s->runs[i].optimizer, NS_OPTIM_ADAMW);
    ns_spec_free(s);
}
END_TEST

/* grid.schedule is an axis of schedules - kind names or mappings of
 * train.schedule's keys - after the optimizer in the run order, overridable,
 * in the plan's varied settings and the canonical text; two spellings of one
 * schedule are one value (a duplicate). */
START_TEST(schedule_is_an_axis)
{
    ns_spec *s = spec_ok(DATA "train: {steps: 100}\n"
                              "grid: {arch: ['mlp:16-8-3'], norm: [none, batch], lr: [0.1],\n"
                              "       optimizer: [sgd, adam],\n"
                              "       schedule: [constant, {kind: cosine, warmup: 10, min_factor: 0.1},\n"
                              "                  {kind: step, step_size: 30}]}\n"
                              "overrides:\n"
                              "  - match: {norm: batch}\n"
                              "    schedule: {kind: cosine, warmup: 10, min_factor: 0.1}\n", NULL);
    ck_assert_int_eq(s->nruns, 2 * 3 + 2);
    static const ns_lr_kind kind[8] = {NS_LR_CONSTANT, NS_LR_COSINE, NS_LR_STEP, NS_LR_CONSTANT,
                                       NS_LR_COSINE,   NS_LR_STEP,   NS_LR_COSINE, NS_LR_COSINE};
    for (int i = 0; i < 8; i++) {
        const ns_run_config *r = &s->runs[i];
        ck_assert_int_eq(r->schedule.kind, kind[i]);
        ck_assert_int_eq(r->optimizer, i < 6 ? (i < 3 ? NS_OPTIM_SGD : NS_OPTIM_ADAM)
                                              : (i == 6 ? NS_OPTIM_SGD : NS_OPTIM_ADAM));
        ck_assert(r->schedule.warmup == (kind[i] == NS_LR_COSINE ? 10 : 0));
    }
    ck_assert(s->runs[1].schedule.min_factor == 0.1 && s->runs[1].schedule.warmup_start == 1.0 / 3);
    ck_assert(s->runs[2].schedule.step_size == 30 && s->runs[2].schedule.gamma == 0.1);
    char buf[160];
    ns_plan_varied_text(s, 1, buf, sizeof buf);
    ck_assert_str_eq(buf, "optimizer=sgd schedule=cosine:min_factor=0.1,warmup=10,"
                          "warmup_start=0.333333");
    char *c = ns_spec_canonical(s);
    ck_assert_ptr_nonnull(strstr(c, "\"schedule\":[{\"kind\":\"constant\",\"warmup\":0,"
                                    "\"warmup_start\":0.33333333333333331},{\"kind\":\"cosine\","
                                    "\"warmup\":10,\"warmup_start\":0.33333333333333331,"
                                    "\"min_factor\":0.10000000000000001},{\"kind\":\"step\","
                                    "\"warmup\":0,\"warmup_start\":0.33333333333333331,"
                                    "\"step_size\":30,\"gamma\":0.10000000000000001}]"));
    ck_assert_ptr_nonnull(strstr(c, "\"norm\":\"batch\"},\"schedule\":[{\"kind\":\"cosine\""));
    const char *train = strstr(c, "\"train\":{"), *grid = strstr(c, ",\"grid\":{");
    ck_assert(train && grid && train < grid); /* the schedule is under grid only */
    ck_assert_ptr_null(memmem(train, (size_t)(grid - train), "schedule", 8));
    free(c);
    ns_spec_free(s);
    EXPECT_ERRORS(DATA "train: {steps: 100}\n"
                       "grid: {arch: ['mlp:16-8-3'], norm: [none], lr: [0.1],\n"
                       "       schedule: [cosine, {kind: cosine, gamma: 0.5}]}\n",
                  "t.yaml:4:27: grid.schedule[1]: duplicate value (same as item 0)\n");
}
END_TEST

/* The schedule in random search, as the optimizer: choice draws from stream
 * 11, count picks from the grid's list with stream 16 + axis = 25. */
START_TEST(schedule_in_search)
{
    static const ns_lr_kind kinds[3] = {NS_LR_CONSTANT, NS_LR_COSINE, NS_LR_STEP};
    ns_spec *s = spec_ok(DATA "train: {steps: 100}\n"
                              "grid: {arch: ['mlp:16-8-3'], norm: [none, batch], lr: [0.1]}\n"
                              "search:\n  per_grid_point: 8\n  seed: 3\n"
                              "  schedule: {choice: [constant, cosine, {kind: step, step_size: 7}]}\n",
                         NULL);
    ck_assert_int_eq(s->nruns, 2 + 2 * 8);
    int seen = 0;
    for (int i = 2; i < s->nruns; i++) {
        int k = (i - 2) % 8;
        ck_assert_int_eq(s->runs[i].schedule.kind, kinds[(int)(spec_draw(3, 11, k) * 3)]);
        seen |= 1 << s->runs[i].schedule.kind;
    }
    ck_assert_int_gt(__builtin_popcount((unsigned)seen), 1);
    ns_spec_free(s);
    s = spec_ok(DATA "train: {steps: 100}\n"
                     "grid: {arch: ['mlp:16-8-3'], norm: [none], lr: [0.1],\n"
                     "       schedule: [constant, cosine, {kind: step, step_size: 7}]}\n"
                     "search: {count: 10, seed: 4}\n", NULL);
    ck_assert_int_eq(s->nruns, 3 + 10);
    for (int k = 0; k < 10; k++)
        ck_assert_int_eq(s->runs[3 + k].schedule.kind,
                         kinds[(int)(spec_draw(4, 16 + NS_AXIS_SCHEDULE, k) * 3)]);
    ns_spec_free(s);
}
END_TEST

START_TEST(bad_values_name_the_key)
{
    EXPECT_ERRORS(DATA "train: {steps: 10, optimizer: rmsprop, betas: [0.9, 1.0], eps: 0}\n" GRID,
                  "t.yaml:2:31: train.optimizer: expected sgd, adam or adamw, got 'rmsprop'\n"
                  "t.yaml:2:53: train.betas[1]: must be in [0, 1), got '1.0'\n"
                  "t.yaml:2:64: train.eps: must be a finite number > 0, got '0'\n");
    EXPECT_ERRORS(DATA "train: {steps: 10, schedule: {kind: step, warmup: 10, min_factor: 2}}\n" GRID,
                  "t.yaml:2:30: train.schedule: kind step needs step_size (steps between decays)\n"
                  "t.yaml:2:30: train.schedule: warmup of 10 steps does not end within the run's 10 "
                  "steps\n"
                  "t.yaml:2:67: train.schedule.min_factor: must be in [0, 1], got '2'\n");
    EXPECT_ERRORS(DATA "train: {steps: 10, schedule: {kind: linear, warmpu: 3}}\n" GRID,
                  "t.yaml:2:37: train.schedule.kind: expected constant, step or cosine, got "
                  "'linear'\n"
                  "t.yaml:2:45: train.schedule: unknown key 'warmpu' (did you mean 'warmup'?)\n");
    EXPECT_ERRORS(DATA "train: {steps: 10, optimizer: adam}\n"
                       "grid: {arch: ['mlp:16-8-3'], norm: [none], lr: [0.1], optimizer: [sgd]}\n",
                  "t.yaml:3:66: grid.optimizer: also set in train.optimizer (line 2); keep one\n");
    /* in search: a category takes choice only, and not also train.optimizer */
    EXPECT_ERRORS(DATA "train: {steps: 10, optimizer: adam}\n" GRID
                       "search: {count: 2, optimizer: {uniform: [sgd, adam]}}\n",
                  "t.yaml:4:31: search.optimizer: also set in train.optimizer (line 2); keep one\n"
                  "t.yaml:4:41: search.optimizer.uniform: the optimizer is drawn from a list: use "
                  "choice: [sgd, adam, adamw]\n");
    /* a schedule value: its kind, its keys, step's step_size, its warm-up against
     * train.steps wherever the sections are; not in train and grid at once */
    EXPECT_ERRORS("grid: {arch: ['mlp:16-8-3'], norm: [none], lr: [0.1],\n"
                  "       schedule: [linear, {kind: step}, {warmpu: 3}, {kind: cosine, warmup: 10}]}\n"
                  DATA "train: {steps: 10}\n",
                  "t.yaml:2:19: grid.schedule[0]: expected constant, step, cosine or a mapping "
                  "{kind: ..., warmup: ...}, got 'linear'\n"
                  "t.yaml:2:27: grid.schedule[1]: kind step needs step_size (steps between "
                  "decays)\n"
                  "t.yaml:2:42: grid.schedule[2]: unknown key 'warmpu' (did you mean 'warmup'?)\n"
                  "t.yaml:2:54: grid.schedule[3]: warmup of 10 steps does not end within the "
                  "run's 10 steps\n");
    EXPECT_ERRORS(DATA "train: {steps: 10, schedule: cosine}\n"
                       "grid: {arch: ['mlp:16-8-3'], norm: [none], lr: [0.1], schedule: [step]}\n"
                       "search: {count: 2, schedule: {log_uniform: [1, 2]}}\n",
                  "t.yaml:3:65: grid.schedule: also set in train.schedule (line 2); keep one\n"
                  "t.yaml:3:66: grid.schedule[0]: kind step needs step_size (steps between "
                  "decays)\n"
                  "t.yaml:4:30: search.schedule: also set in train.schedule (line 2); keep one\n"
                  "t.yaml:4:44: search.schedule.log_uniform: the schedule is drawn from a list: use "
                  "choice: [constant, cosine, ...]\n");
    EXPECT_ERRORS(DATA "train: {steps: 10}\n" GRID
                       "search: {count: 2, optimizer: {choice: [sgd, rmsprop]}}\n",
                  "t.yaml:4:46: search.optimizer.choice[1]: expected sgd, adam or adamw, got "
                  "'rmsprop'\n");
}
END_TEST

static Suite *spec_optim_suite(void)
{
    Suite *s = suite_create("spec_optim");
    TCase *tc = tcase_create("keys");
    tcase_add_test(tc, defaults_are_sgd_constant_and_canonical_text_unchanged);
    tcase_add_test(tc, adamw_with_a_schedule_reaches_the_runs);
    tcase_add_test(tc, optimizer_is_an_axis);
    tcase_add_test(tc, optimizer_in_search);
    tcase_add_test(tc, optimizer_from_the_command_line);
    tcase_add_test(tc, schedule_is_an_axis);
    tcase_add_test(tc, schedule_in_search);
    tcase_add_test(tc, bad_values_name_the_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(spec_optim_suite(), argc, argv); }
