/* test_spec_curvature.c - the probes.curvature section of a sweep file: its
 * defaults, every key read into the config, the exact file:line:col lines of
 * every kind of bad value (ranges, iters <= k, a mode a norm cannot honour,
 * the Lanczos basis limit), its canonical form, and the old power-iteration
 * hessian section next to it. */
#include "spec_expect.h"

#include "normsweep/run.h"

#define HEAD                                                                                    \
    "data: \"synthetic-cls:n=64,test=16,c=1,h=4,w=4,classes=3\"\n"                              \
    "train: {steps: 20, batch: 8}\n"
#define GRID(norms) "grid: {lr: [0.1], arch: [\"mlp:16-8-3\"], norm: " norms ", seed: [0]}\n"

START_TEST(defaults_when_given_alone)
{
    ns_spec *s = spec_ok(HEAD GRID("[none]") "probes: {every: 5, curvature: }\n", NULL);
    const ns_probe_config *p = &s->runs[0].probe;
    ck_assert_int_eq(p->curv, 1);
    ck_assert_int_eq(p->curv_mode, NS_CURV_MODE_TRAIN);
    ck_assert_int_eq(p->curv_hvp, NS_CURV_HVP_EXACT);
    ck_assert_int_eq(p->curv_k, 3);
    ck_assert_int_eq(p->curv_steps, 20);
    ck_assert(p->curv_tol == 1e-3);
    ck_assert_int_eq(p->curv_slq, 0);
    ck_assert_int_eq(p->curv_hutchinson, 0);
    ck_assert_int_eq(p->curv_layers, 0);
    ck_assert_int_eq(p->curv_fd_check, 0);
    ck_assert(ns_curv_in_mode(p, NS_MODE_TRAIN) && !ns_curv_in_mode(p, NS_MODE_EVAL));
    ck_assert_int_eq(ns_curv_max_steps(p), 20);
    ns_spec_free(s);
    /* off unless given */
    s = spec_ok(HEAD GRID("[none]") "probes: {every: 5}\n", NULL);
    ck_assert_int_eq(s->runs[0].probe.curv, 0);
    ck_assert(!ns_curv_in_mode(&s->runs[0].probe, NS_MODE_TRAIN));
    ck_assert_int_eq(ns_curv_max_steps(&s->runs[0].probe), 0);
    char *c = ns_spec_canonical(s);
    ck_assert_ptr_null(strstr(c, "curvature")); /* older specs keep their canonical text */
    free(c);
    ns_spec_free(s);
    /* slq: and layers: alone take their defaults */
    s = spec_ok(HEAD GRID("[none]") "probes: {every: 5, curvature: {slq: , layers: }}\n", NULL);
    p = &s->runs[0].probe;
    ck_assert(p->curv_slq && p->curv_slq_nv == 2 && p->curv_slq_m == 30);
    ck_assert(p->curv_layers && p->curv_layer_steps == 10);
    ck_assert_int_eq(ns_curv_max_steps(p), 30);
    ns_spec_free(s);
}
END_TEST

START_TEST(every_key_read)
{
    ns_spec *s = spec_ok(HEAD GRID("[none, batch, noisy_batch, l1, l2, linf]")
                         "probes:\n"
                         "  at: [0, 10]\n"
                         "  hessian: {iters: 4, trace_samples: 2, mode: eval}\n"
                         "  curvature:\n"
                         "    mode: both\n"
                         "    hvp: fd\n"
                         "    k: 5\n"
                         "    iters: 40\n"
                         "    tol: 1.0e-4\n"
                         "    slq: {n_v: 3, m: 50}\n"
                         "    hutchinson: 7\n"
                         "    layers: {iters: 60}\n"
                         "    fd_check: true\n",
                         NULL);
    ck_assert_int_eq(s->nruns, 6);
    for (int i = 0; i < s->nruns; i++) {
        const ns_probe_config *p = &s->runs[i].probe;
        ck_assert(p->curv && p->curv_mode == NS_CURV_MODE_BOTH && p->curv_hvp == NS_CURV_HVP_FD);
        ck_assert(p->curv_k == 5 && p->curv_steps == 40 && p->curv_tol == 1e-4);
        ck_assert(p->curv_slq && p->curv_slq_nv == 3 && p->curv_slq_m == 50);
        ck_assert(p->curv_hutchinson == 7 && p->curv_layers && p->curv_layer_steps == 60);
        ck_assert(p->curv_fd_check);
        ck_assert(ns_curv_in_mode(p, NS_MODE_TRAIN) && ns_curv_in_mode(p, NS_MODE_EVAL));
        ck_assert_int_eq(ns_curv_max_steps(p), 60);
        /* the power iteration's section is unchanged beside it */
        ck_assert(p->hessian && p->hess_iters == 4 && p->hess_trace_samples == 2);
        ck_assert_int_eq(p->hess_mode, NS_MODE_EVAL);
    }
    char *c = ns_spec_canonical(s);
    ck_assert_ptr_nonnull(strstr(c, ",\"curvature\":{\"mode\":\"both\",\"hvp\":\"fd\",\"k\":5,"
                                    "\"iters\":40,\"tol\":0.0001,\"slq\":{\"n_v\":3,\"m\":50},"
                                    "\"hutchinson\":7,\"layers\":{\"iters\":60},"
                                    "\"fd_check\":true}"));
    free(c);
    /* the run's trace shapes */
    ns_dataset_info info = {0};
    info.shape = s->in_shape;
    info.nclasses = s->nclasses;
    info.n_train = (size_t)s->n_train;
    info.n_test = (size_t)s->n_test;
    ns_run_dims d;
    ck_assert_int_eq(ns_run_dims_get(&s->runs[0], &info, &d), NS_OK);
    ck_assert(d.neig == 5 && d.nslq_v == 3 && d.nslq_m == 50 && d.nprobe == 2);
    ns_spec_free(s);
    /* the same curvature in another layout and key order: the same spec */
    ns_spec *a = spec_ok(HEAD GRID("[batch]") "probes: {every: 5, curvature: {k: 2, mode: eval, "
                                              "hutchinson: 3}}\n", NULL);
    ns_spec *b = spec_ok(HEAD GRID("[batch]") "probes:\n  curvature:\n    hutchinson: 3\n"
                                              "    mode: eval\n    k: 2\n  every: 5\n", NULL);
    spec_assert_same(a, b);
    ns_spec_free(a);
    ns_spec_free(b);
}
END_TEST

START_TEST(values_out_of_range)
{
    EXPECT_ERRORS(HEAD GRID("[none]")
                  "probes:\n"
                  "  every: 5\n"
                  "  curvature: {k: 0, iters: 1, tol: 0, hutchinson: -1, mode: test, hvp: rop}\n",
                  "t.yaml:6:18: probes.curvature.k: must be in 1..32, got 0\n"
                  "t.yaml:6:28: probes.curvature.iters: must be in 2..1000, got 1\n"
                  "t.yaml:6:36: probes.curvature.tol: must be a finite number > 0, got '0'\n"
                  "t.yaml:6:51: probes.curvature.hutchinson: must be in 0..10000, got -1\n"
                  "t.yaml:6:61: probes.curvature.mode: expected train, eval or both, got 'test'\n"
                  "t.yaml:6:72: probes.curvature.hvp: expected exact or fd, got 'rop'\n");
    EXPECT_ERRORS(HEAD GRID("[none]")
                  "probes:\n"
                  "  every: 5\n"
                  "  curvature:\n"
                  "    k: 33\n"
                  "    iters: 1001\n"
                  "    slq: {n_v: 0, m: 1}\n"
                  "    layers: {iters: 0}\n",
                  "t.yaml:7:8: probes.curvature.k: must be in 1..32, got 33\n"
                  "t.yaml:8:12: probes.curvature.iters: must be in 2..1000, got 1001\n"
                  "t.yaml:9:16: probes.curvature.slq.n_v: must be in 1..256, got 0\n"
                  "t.yaml:9:22: probes.curvature.slq.m: must be in 2..1000, got 1\n"
                  "t.yaml:10:21: probes.curvature.layers.iters: must be in 1..1000, got 0\n");
    EXPECT_ERRORS(HEAD GRID("[none]")
                  "probes: {every: 5, curvature: {slq: {n_v: 257, m: 1001, s: 1}, lanczos: 3}}\n",
                  "t.yaml:4:43: probes.curvature.slq.n_v: must be in 1..256, got 257\n"
                  "t.yaml:4:51: probes.curvature.slq.m: must be in 2..1000, got 1001\n"
                  "t.yaml:4:57: probes.curvature.slq: unknown key 's' (did you mean 'm'?)\n"
                  "t.yaml:4:64: probes.curvature: unknown key 'lanczos' (expected one of: mode, "
                  "hvp, k, iters, tol, slq, hutchinson, layers, fd_check)\n");
}
END_TEST

START_TEST(iters_must_exceed_k)
{
    EXPECT_ERRORS(HEAD GRID("[none]") "probes: {every: 5, curvature: {k: 4, iters: 4}}\n",
                  "t.yaml:4:45: probes.curvature.iters: Lanczos needs more iterations than top "
                  "eigenvalues (iters 4, k 4): give iters >= k + 1\n");
    /* with the default iters (20), at k */
    EXPECT_ERRORS(HEAD GRID("[none]") "probes: {every: 5, curvature: {k: 25}}\n",
                  "t.yaml:4:35: probes.curvature.k: Lanczos needs more iterations than top "
                  "eigenvalues (iters 20, k 25): give iters >= k + 1\n");
    ns_spec *s = spec_ok(HEAD GRID("[none]") "probes: {every: 5, curvature: {k: 4, iters: 5}}\n",
                         NULL);
    ns_spec_free(s);
}
END_TEST

/* Eval mode holds running statistics fixed: layer and group keep none. */
START_TEST(a_mode_a_norm_cannot_honour)
{
    EXPECT_ERRORS(HEAD GRID("[batch, layer, \"group:groups=4\"]")
                  "probes: {every: 5, curvature: {mode: eval}}\n",
                  "t.yaml:4:38: probes.curvature.mode: 'eval' is eval mode, which holds running "
                  "statistics fixed, but grid.norm[1] 'layer' keeps none (it normalizes each "
                  "sample by its own statistics in both modes, so its eval-mode Hessian is its "
                  "train-mode one): use mode: train\n"
                  "t.yaml:4:38: probes.curvature.mode: 'eval' is eval mode, which holds running "
                  "statistics fixed, but grid.norm[2] 'group:groups=4' keeps none (it normalizes "
                  "each sample by its own statistics in both modes, so its eval-mode Hessian is "
                  "its train-mode one): use mode: train\n");
    EXPECT_ERRORS(HEAD GRID("[none, layer]")
                  "probes:\n  every: 5\n  curvature:\n    mode: both\n",
                  "t.yaml:7:11: probes.curvature.mode: 'both' includes eval mode, which holds "
                  "running statistics fixed, but grid.norm[1] 'layer' keeps none (it normalizes each "
                  "sample by its own statistics in both modes, so its eval-mode Hessian is its "
                  "train-mode one): use mode: train\n");
    /* train mode for them; both modes for every norm with running statistics, and none */
    ns_spec *s = spec_ok(HEAD GRID("[layer, \"group:groups=4\"]")
                         "probes: {every: 5, curvature: {mode: train}}\n", NULL);
    ns_spec_free(s);
    s = spec_ok(HEAD GRID("[none, batch, noisy_batch, l1, l2, linf]")
                "probes: {every: 5, curvature: {mode: both}}\n", NULL);
    ck_assert_int_eq(s->nruns, 6);
    ns_spec_free(s);
}
END_TEST

START_TEST(lanczos_basis_limit)
{
    /* 16.9M parameters x 200 vectors = 3.4e9 floats > 2^31 */
    EXPECT_ERRORS(HEAD "grid: {lr: [0.1], arch: [\"mlp:16-4096-4096-3\"], norm: [none]}\n"
                       "probes: {every: 5, curvature: {layers: {iters: 200}}}\n",
                  "t.yaml:4:31: probes.curvature: a Lanczos basis of 200 vectors x 1.69e+07 "
                  "parameters ('mlp:16-4096-4096-3') is 3.37e+09 floats, over the limit of "
                  "2.15e+09 (fewer iterations; see 'Limits' in docs/sweep-format.md)\n");
    ns_spec *s = spec_ok(HEAD "grid: {lr: [0.1], arch: [\"mlp:16-4096-4096-3\"], norm: [none]}\n"
                              "probes: {every: 5, curvature: {layers: {iters: 100}}}\n", NULL);
    ns_spec_free(s);
}
END_TEST

static Suite *spec_curvature_suite(void)
{
    Suite *s = suite_create("spec_curvature");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults_when_given_alone);
    tcase_add_test(tc, every_key_read);
    tcase_add_test(tc, values_out_of_range);
    tcase_add_test(tc, iters_must_exceed_k);
    tcase_add_test(tc, a_mode_a_norm_cannot_honour);
    tcase_add_test(tc, lanczos_basis_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(spec_curvature_suite(), argc, argv); }
