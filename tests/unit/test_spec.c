/* test_spec.c - good sweep files expand to exactly the expected run tables
 * (count, canonical order, every value), canonical form, cost model.
 * The bad-file cases are in test_spec_errors.c. */
#include "ns_test.h"
#include "normsweep/rng.h"
#include "normsweep/spec.h"
#include "sweep/sweep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ns_spec *parse_ok(const char *text)
{
    ns_spec *s = NULL;
    char *errors = NULL;
    ns_status st = ns_spec_parse(text, "t.yaml", &s, &errors);
    ck_assert_msg(st == NS_OK, "unexpected errors:\n%s", errors ? errors : ns_error_msg());
    ck_assert_ptr_null(errors);
    ck_assert_ptr_nonnull(s);
    return s;
}

static const char *QUICK =
    "# the example of docs/sweep-format.md\n"
    "name: quick\n"
    "data: fashion-mnist\n"
    "train: {steps: 600, batch: 128, optimizer: sgd, momentum: 0.0, init: glorot,\n"
    "        eval_every: 100, log_every: 1, diverge_above: 1.0e3}\n"
    "grid:\n"
    "  lr: [0.01, 0.1, 0.5]\n"
    "  arch: [\"vgg11:width=0.125\"]\n"
    "  norm: [none, batch, noisy_batch, l1, l2, linf]\n"
    "  seed: [0]\n"
    "probes:\n"
    "  every: 20\n"
    "  eta: {relative: [0.5, 4.0], count: 8}\n"
    "  ics: {layers: all}\n"
    "  activations: {units: 16, quantiles: [0.025, 0.16, 0.5, 0.84, 0.975]}\n"
    "  hessian: {iters: 20, tol: 1.0e-3}\n"
    "checkpoint: {every: 200}\n";

START_TEST(quick_grid_table)
{
    ns_spec *s = parse_ok(QUICK);
    static const char *norms[6] = {"none", "batch", "noisy_batch", "l1", "l2", "linf"};
    static const double lrs[3] = {0.01, 0.1, 0.5};
    ck_assert_str_eq(s->name, "quick");
    ck_assert_str_eq(s->data, "fashion-mnist");
    ck_assert_int_eq(s->n_train, 60000);
    ck_assert_int_eq(s->nruns, 18);
    for (int i = 0; i < 18; i++) {
        const ns_run_config *r = &s->runs[i];
        ck_assert_int_eq(r->index, i);
        ck_assert_int_eq(r->random_sample, -1);
        ck_assert_str_eq(r->arch, "vgg11:width=0.125");
        ck_assert_str_eq(r->norm, norms[i / 3]); /* norm outer, lr inner */
        ck_assert_double_eq(r->lr, lrs[i % 3]);
        ck_assert_uint_eq(r->seed, 0);
        ck_assert_str_eq(r->data, "fashion-mnist");
        ck_assert_int_eq(r->batch, 128);
        ck_assert_int_eq(r->steps, 600);
        ck_assert_double_eq(r->momentum, 0.0);
        ck_assert_double_eq(r->weight_decay, 0.0);
        ck_assert_int_eq(r->init, NS_INIT_GLOROT);
        ck_assert_int_eq(r->eval_every, 100);
        ck_assert_int_eq(r->log_every, 1);
        ck_assert_int_eq(r->checkpoint_every, 200);
        ck_assert_double_eq(r->diverge_above, 1000.0);
        const ns_probe_config *p = &r->probe;
        ck_assert_int_eq(p->sched, NS_SCHED_EVERY);
        ck_assert_int_eq(p->every, 20);
        ck_assert_int_eq(p->landscape, 1);
        ck_assert_double_eq(p->eta_rel_lo, 0.5);
        ck_assert_double_eq(p->eta_rel_hi, 4.0);
        ck_assert_int_eq(p->eta_count, 8);
        ck_assert_int_eq(p->random_direction, 0);
        ck_assert_int_eq(p->ics, 1);
        ck_assert_int_eq(p->ics_all, 1);
        ck_assert_int_eq(p->act_units, 16);
        ck_assert_int_eq(p->act_nquantiles, 5);
        ck_assert_double_eq(p->act_quantiles[1], 0.16);
        ck_assert_int_eq(p->hessian, 1);
        ck_assert_int_eq(p->hess_iters, 20);
        ck_assert_double_eq(p->hess_tol, 1e-3);
        ck_assert_int_eq(p->hess_trace_samples, 0);
        ck_assert_int_eq(p->hess_mode, NS_MODE_TRAIN);
        ck_assert_int_eq(p->thm41, 0);
    }
    ck_assert_uint_eq(s->varied, (1u << NS_AXIS_NORM) | (1u << NS_AXIS_LR));
    ns_spec_free(s);
}
END_TEST

/* Defaults when sections/keys are left out; scalar axis values. */
START_TEST(defaults_and_scalars)
{
    ns_spec *s = parse_ok("data: fashion-mnist\n"
                          "train: {steps: 10}\n"
                          "grid: {lr: 0.1, arch: \"mlp:784-10\", norm: batch}\n");
    ck_assert_str_eq(s->name, "t"); /* file name without .yaml */
    ck_assert_int_eq(s->nruns, 1);
    const ns_run_config *r = &s->runs[0];
    ck_assert_double_eq(r->lr, 0.1);
    ck_assert_uint_eq(r->seed, 0);
    ck_assert_int_eq(r->batch, 128);
    ck_assert_int_eq(r->log_every, 1);
    ck_assert_int_eq(r->eval_every, 0);
    ck_assert_int_eq(r->checkpoint_every, 0);
    ck_assert(isinf(r->diverge_above) && r->diverge_above > 0);
    ck_assert_int_eq(r->probe.sched, NS_SCHED_NONE);
    ck_assert_int_eq(r->probe.landscape + r->probe.ics + r->probe.hessian + r->probe.act_units, 0);
    ck_assert_uint_eq(s->varied, 0);
    char buf[64];
    ns_plan_varied_text(s, 0, buf, sizeof buf);
    ck_assert_str_eq(buf, "-");
    ns_spec_free(s);
}
END_TEST

/* lr log_range, seed count, extra axes; order lr > batch > momentum > wd > init > seed. */
START_TEST(ranges_and_axis_order)
{
    ns_spec *s = parse_ok("data: fashion-mnist\n"
                          "train: {steps: 100}\n"
                          "grid:\n"
                          "  arch: [\"mlp:784-32-10\"]\n"
                          "  norm: [none]\n"
                          "  lr: {log_range: [1.0e-3, 1.0], count: 4}\n"
                          "  batch: [32, full]\n"
                          "  momentum: [0.0, 0.9]\n"
                          "  weight_decay: [5.0e-4]\n"
                          "  init: [he, glorot]\n"
                          "  seed: {count: 3, start: 5}\n");
    ck_assert_int_eq(s->nruns, 4 * 2 * 2 * 1 * 2 * 3);
    static const double lrs[4] = {1e-3, 1e-2, 1e-1, 1.0};
    int i = 0;
    for (int l = 0; l < 4; l++)
        for (int b = 0; b < 2; b++)
            for (int m = 0; m < 2; m++)
                for (int in = 0; in < 2; in++)
                    for (int sd = 0; sd < 3; sd++, i++) {
                        const ns_run_config *r = &s->runs[i];
                        ck_assert_double_eq(r->lr, lrs[l]); /* exact: 15-digit rounding */
                        ck_assert_int_eq(r->batch, b ? 60000 : 32);
                        ck_assert_double_eq(r->momentum, m ? 0.9 : 0.0);
                        ck_assert_double_eq(r->weight_decay, 5e-4);
                        ck_assert_int_eq(r->init, in ? NS_INIT_GLOROT : NS_INIT_HE);
                        ck_assert_uint_eq(r->seed, 5 + sd);
                    }
    unsigned want = (1u << NS_AXIS_LR) | (1u << NS_AXIS_BATCH) | (1u << NS_AXIS_MOMENTUM) |
                    (1u << NS_AXIS_INIT) | (1u << NS_AXIS_SEED);
    ck_assert_uint_eq(s->varied, want);
    char buf[128];
    ns_plan_varied_text(s, 13, buf, sizeof buf); /* l0 b1 m0 in0 sd1 */
    ck_assert_str_eq(buf, "batch=60000 momentum=0 init=he");
    ns_spec_free(s);
}
END_TEST

/* "for arch dln:*, lr is [1e-6, 1e-7]" - later overrides win per key. */
START_TEST(overrides_per_arch)
{
    ns_spec *s = parse_ok("data: synthetic-dln:n=1000,d=10\n"
                          "train: {steps: 50, batch: full}\n"
                          "grid:\n"
                          "  arch: [\"mlp:10-32-10\", \"dln:depth=25,width=10\", \"dln:depth=5,width=10\"]\n"
                          "  norm: [none, batch]\n"
                          "  lr: [0.1, 0.01]\n"
                          "overrides:\n"
                          "  - match: {arch: \"dln:*\"}\n"
                          "    lr: [1.0e-6, 1.0e-7]\n"
                          "  - match: {arch: \"dln:depth=5*\", norm: batch}\n"
                          "    lr: [1.0e-5]\n"
                          "    seed: [1, 2]\n");
    /* mlp: 2 norms x 2 lr; dln25: 2 x 2; dln5/none: 2; dln5/batch: 1 lr x 2 seeds */
    ck_assert_int_eq(s->nruns, 4 + 4 + 2 + 2);
    struct { const char *arch, *norm; double lr; uint64_t seed; } want[12] = {
        {"mlp:10-32-10", "none", 0.1, 0},          {"mlp:10-32-10", "none", 0.01, 0},
        {"mlp:10-32-10", "batch", 0.1, 0},         {"mlp:10-32-10", "batch", 0.01, 0},
        {"dln:depth=25,width=10", "none", 1e-6, 0}, {"dln:depth=25,width=10", "none", 1e-7, 0},
        {"dln:depth=25,width=10", "batch", 1e-6, 0}, {"dln:depth=25,width=10", "batch", 1e-7, 0},
        {"dln:depth=5,width=10", "none", 1e-6, 0},  {"dln:depth=5,width=10", "none", 1e-7, 0},
        {"dln:depth=5,width=10", "batch", 1e-5, 1}, {"dln:depth=5,width=10", "batch", 1e-5, 2},
    };
    for (int i = 0; i < 12; i++) {
        ck_assert_str_eq(s->runs[i].arch, want[i].arch);
        ck_assert_str_eq(s->runs[i].norm, want[i].norm);
        ck_assert_double_eq(s->runs[i].lr, want[i].lr);
        ck_assert_uint_eq(s->runs[i].seed, want[i].seed);
        ck_assert_int_eq(s->runs[i].batch, 1000);
    }
    ck_assert_int_eq(s->measured_layers[0], 2);
    ck_assert_int_eq(s->measured_layers[4], 25);
    ns_spec_free(s);
}
END_TEST

/* Random LR samples: appended after the grid, u_k from NS_STREAM_SWEEP,
 * the same quantile u_k for every pair, per-pair ranges via random_lr. */
START_TEST(random_samples)
{
    ns_spec *s = parse_ok("data: fashion-mnist\n"
                          "train: {steps: 10}\n"
                          "grid:\n"
                          "  arch: [\"mlp:784-10\"]\n"
                          "  norm: [none, batch]\n"
                          "  lr: [0.1]\n"
                          "random: {count: 3, seed: 7, lr: {log_uniform: [1.0e-3, 1.0]}}\n"
                          "overrides:\n"
                          "  - match: {norm: batch}\n"
                          "    random_lr: [1.0e-2, 10.0]\n");
    ck_assert_int_eq(s->nruns, 2 + 2 * 3);
    ck_assert_double_eq(s->runs[0].lr, 0.1);
    ck_assert_double_eq(s->runs[1].lr, 0.1);
    ck_assert_str_eq(s->runs[1].norm, "batch");
    ns_rng r;
    ns_rng_init(&r, 7, NS_STREAM(NS_STREAM_SWEEP, 0));
    double u[3];
    for (int k = 0; k < 3; k++) u[k] = ns_rng_uniform_double(&r);
    for (int k = 0; k < 3; k++) {
        const ns_run_config *a = &s->runs[2 + k], *b = &s->runs[5 + k];
        ck_assert_str_eq(a->norm, "none");
        ck_assert_str_eq(b->norm, "batch");
        ck_assert_int_eq(a->random_sample, k);
        ck_assert_int_eq(b->random_sample, k);
        ns_assert_close(a->lr, 1e-3 * pow(1000.0, u[k]), 1e-13);
        ns_assert_close(b->lr, 1e-2 * pow(1000.0, u[k]), 1e-13);
        ck_assert(a->lr >= 1e-3 && a->lr <= 1.0);
    }
    ck_assert(s->runs[2].lr != s->runs[3].lr);
    char buf[64];
    ns_plan_varied_text(s, 6, buf, sizeof buf);
    ck_assert_str_eq(buf, "random=1");
    /* a random-only sweep: no grid lr at all */
    ns_spec *t = parse_ok("data: fashion-mnist\ntrain: {steps: 10}\n"
                          "grid: {arch: \"mlp:784-10\", norm: none}\n"
                          "random: {count: 4, lr: {log_uniform: [0.01, 0.01]}}\n");
    ck_assert_int_eq(t->nruns, 4);
    for (int i = 0; i < 4; i++) ns_assert_close(t->runs[i].lr, 0.01, 1e-15);
    ns_spec_free(t);
    ns_spec_free(s);
}
END_TEST

START_TEST(probe_schedules)
{
    ns_spec *s = parse_ok("data: fashion-mnist\ntrain: {steps: 1000}\n"
                          "grid: {arch: \"mlp:784-32-32-10\", norm: batch, lr: 0.1}\n"
                          "probes:\n"
                          "  at: [0, 10, 999]\n"
                          "  ics: {layers: [2, 3]}\n"
                          "  hessian: {iters: 5, tol: 1.0e-2, trace_samples: 4, mode: eval}\n"
                          "  eta:\n"
                          "  thm41: true\n");
    const ns_probe_config *p = &s->runs[0].probe;
    ck_assert_int_eq(p->sched, NS_SCHED_LIST);
    ck_assert_int_eq(p->nat, 3);
    ck_assert_int_eq(p->at[2], 999);
    ck_assert_int_eq(p->ics_all, 0);
    ck_assert_int_eq(p->ics_nlayers, 2);
    ck_assert_int_eq(p->ics_layers[1], 3);
    ck_assert_int_eq(p->hess_mode, NS_MODE_EVAL);
    ck_assert_int_eq(p->hess_trace_samples, 4);
    ck_assert_int_eq(p->landscape, 1); /* "eta:" alone turns it on with defaults */
    ck_assert_int_eq(p->eta_count, 8);
    ck_assert_int_eq(p->thm41, 1);
    ns_spec_free(s);
    s = parse_ok("data: fashion-mnist\ntrain: {steps: 1000}\n"
                 "grid: {arch: \"mlp:784-10\", norm: batch, lr: 0.1}\n"
                 "probes: {log_count: 30}\n");
    ck_assert_int_eq(s->runs[0].probe.sched, NS_SCHED_LOG);
    ck_assert_int_eq(s->runs[0].probe.log_count, 30);
    ns_spec_free(s);
}
END_TEST

/* Cost model of docs/sweep-format.md, from the arch's own FLOP count F. */
START_TEST(plan_cost_formula)
{
    ns_spec *s = parse_ok("data: fashion-mnist\n"
                          "train: {steps: 100, batch: 64, eval_every: 25}\n"
                          "grid: {arch: \"mlp:784-32-10\", norm: batch, lr: 0.1}\n"
                          "probes:\n"
                          "  every: 10\n"
                          "  eta: {count: 8}\n"
                          "  random_direction: true\n"
                          "  ics: {layers: all}\n"
                          "  hessian: {iters: 5, trace_samples: 2}\n"
                          "  activations: {units: 4}\n");
    double F = s->train_flops[0];
    ck_assert(F > 0);
    ck_assert_int_eq(s->measured_layers[0], 2);
    ns_run_cost c = ns_plan_run_cost(s, 0);
    ck_assert_int_eq(c.nprobes, 10); /* steps 0, 10, ..., 90 */
    ns_assert_close(c.train_gflop, 100.0 * 64 * F * 1e-9, 1e-12);
    /* per probe: 16 landscape + 1 ICS (layer 1 free) + 2*(5+2) Hessian = 31 loss+grad, + 1 forward */
    ns_assert_close(c.probe_gflop, 10.0 * 64 * (31 * F + F / 3) * 1e-9, 1e-12);
    ns_assert_close(c.eval_gflop, 4.0 * 10000 * F / 3 * 1e-9, 1e-12);
    ns_assert_close(c.total_gflop, c.train_gflop + c.probe_gflop + c.eval_gflop, 1e-15);
    ns_spec_free(s);
}
END_TEST

/* FLOP counts reach the spec from the arch module; they match peers.md's
 * table (training MFLOP/img = 3 x forward, PyTorch-style count). Checked on
 * the module directly for the CIFAR shape (no CIFAR files needed). */
START_TEST(flops_match_peers_table)
{
    double f;
    int layers;
    ck_assert_int_eq(ns_ref_arch("vgg11", (ns_shape){3, 32, 32}, 10, &f, &layers), NS_OK);
    ns_assert_close(f * 1e-6, 917, 2e-3);
    ck_assert_int_eq(layers, 9);
    ck_assert_int_eq(ns_ref_arch("vgg11:width=0.25", (ns_shape){3, 32, 32}, 10, &f, &layers), NS_OK);
    ns_assert_close(f * 1e-6, 59.3, 5e-3);
    ns_spec *s = parse_ok("data: fashion-mnist\ntrain: {steps: 1}\n"
                          "grid: {arch: \"mlp:784-256-256-256-10\", norm: none, lr: 0.1}\n");
    ns_assert_close(s->train_flops[0] * 1e-6, 2.01, 3e-3);
    ck_assert_int_eq(s->measured_layers[0], 4);
    ns_spec_free(s);
}
END_TEST

/* Same meaning, different YAML (flow vs block, key order, comments, name,
 * log_range vs explicit list) -> identical canonical text; a real change -> different. */
START_TEST(canonical_form)
{
    ns_spec *a = parse_ok("name: one\n"
                          "data: fashion-mnist\n"
                          "train: {steps: 100, momentum: 0.5}\n"
                          "grid: {lr: {log_range: [0.01, 1.0], count: 3}, arch: \"mlp:784-10\", norm: [none, batch]}\n"
                          "probes: {every: 10, eta: {}}\n");
    ns_spec *b = parse_ok("# comment\n"
                          "probes:\n"
                          "  eta: {count: 8, relative: [0.5, 4]}\n"
                          "  every: 10\n"
                          "grid:\n"
                          "  norm:\n"
                          "    - none\n"
                          "    - batch\n"
                          "  arch: [\"mlp:784-10\"]\n"
                          "  lr: [0.01, 0.1, 1.0]\n"
                          "train:\n"
                          "  momentum: 5.0e-1\n"
                          "  steps: 100\n"
                          "name: two\n"
                          "data: fashion-mnist\n");
    ns_spec *c = parse_ok("name: one\n"
                          "data: fashion-mnist\n"
                          "train: {steps: 101, momentum: 0.5}\n"
                          "grid: {lr: {log_range: [0.01, 1.0], count: 3}, arch: \"mlp:784-10\", norm: [none, batch]}\n"
                          "probes: {every: 10, eta: {}}\n");
    char *ca = ns_spec_canonical(a), *cb = ns_spec_canonical(b), *cc = ns_spec_canonical(c);
    ck_assert_str_eq(ca, cb);
    ck_assert_str_ne(ca, cc);
    ck_assert_str_eq(ca,
        "{\"format\":1,\"data\":\"fashion-mnist\",\"data_seed\":0,"
        "\"train\":{\"steps\":100,\"batch\":128,\"optimizer\":\"sgd\",\"momentum\":0.5,"
        "\"weight_decay\":0,\"init\":\"glorot\",\"eval_every\":0,\"log_every\":1,"
        "\"diverge_above\":\"inf\"},"
        "\"grid\":{\"arch\":[\"mlp:784-10\"],\"norm\":[\"none\",\"batch\"],"
        "\"lr\":[0.01,0.10000000000000001,1]},"
        "\"random\":null,\"overrides\":[],"
        "\"probes\":{\"schedule\":\"every\",\"every\":10,"
        "\"eta\":{\"relative\":[0.5,4],\"count\":8,\"random_direction\":false},\"thm41\":false},"
        "\"checkpoint\":{\"every\":0},\"nruns\":6}");
    free(ca);
    free(cb);
    free(cc);
    ns_spec_free(a);
    ns_spec_free(b);
    ns_spec_free(c);
}
END_TEST

START_TEST(load_example_files)
{
    const char *src = getenv("NS_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/specs/good_paper_dln.yaml", src ? src : ".");
    ns_spec *s = NULL;
    char *errors = NULL;
    ns_status st = ns_spec_load(path, &s, &errors);
    ck_assert_msg(st == NS_OK, "%s", errors ? errors : ns_error_msg());
    ck_assert_str_eq(s->name, "paper-dln");
    ck_assert_int_eq(s->nruns, 4);
    ck_assert_int_eq(s->runs[0].batch, 1000);
    ck_assert_str_eq(s->path, path);
    ck_assert_ptr_nonnull(strstr(s->text, "paper-dln"));
    ns_spec_free(s);
}
END_TEST

static Suite *spec_suite(void)
{
    Suite *s = suite_create("spec");
    TCase *tc = tcase_create("expand");
    tcase_add_test(tc, quick_grid_table);
    tcase_add_test(tc, defaults_and_scalars);
    tcase_add_test(tc, ranges_and_axis_order);
    tcase_add_test(tc, overrides_per_arch);
    tcase_add_test(tc, random_samples);
    tcase_add_test(tc, probe_schedules);
    tcase_add_test(tc, plan_cost_formula);
    tcase_add_test(tc, flops_match_peers_table);
    tcase_add_test(tc, canonical_form);
    tcase_add_test(tc, load_example_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(spec_suite(), argc, argv); }
