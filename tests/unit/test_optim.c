/* test_optim.c - optimizers and learning-rate schedules (optim.h) in closed
 * form: SGD through ns_optim is ns_sgd_step bit for bit, Adam's first step is
 * lr g / (|g| + eps), AdamW's decay is decoupled, schedules at their
 * landmarks, bad settings refused with the field named.
 *
 * `test_optim --trajectories DIR` instead writes the optimizers' trajectories
 * on a fixed gradient sequence for the PyTorch cross-check
 * (tests/cli/test_optim_crosscheck.sh, tests/tools/torch_optim.py). */
#include "ns_test.h"

#include "normsweep/optim.h"
#include "normsweep/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ns_optim_config cfg_of(ns_optim_kind k, double lr)
{
    ns_optim_config c = ns_optim_defaults();
    c.kind = k;
    c.lr = lr;
    return c;
}

START_TEST(sgd_through_optim_is_sgd_step_bitwise)
{
    enum { N = 37 };
    float w1[N], w2[N], g[N], v[N] = {0};
    ns_rng r;
    ns_rng_init(&r, 1, 2);
    for (int i = 0; i < N; i++) w1[i] = w2[i] = ns_rng_range(&r, -1, 1);
    ns_optim_config c = cfg_of(NS_OPTIM_SGD, 0.05);
    c.momentum = 0.9;
    c.weight_decay = 1e-3;
    ns_optim o;
    ck_assert_int_eq(ns_optim_create(&o, &c, N), NS_OK);
    ck_assert_int_eq(o.nstate, 1);
    ck_assert_str_eq(o.state_name[0], "momentum");
    ns_sgd_config s = {0.05, 0.9, 1e-3};
    for (int t = 0; t < 5; t++) {
        for (int i = 0; i < N; i++) g[i] = ns_rng_range(&r, -1, 1);
        ns_optim_step(&o, t, w1, g);
        ns_sgd_step(&s, w2, g, v, N);
    }
    ck_assert_mem_eq(w1, w2, sizeof w1);
    ck_assert_mem_eq(o.state[0], v, sizeof v);
    ns_optim_free(&o);
    ns_optim_free(&o); /* twice is harmless */
    c.momentum = 0.0; /* plain SGD keeps no state */
    ck_assert_int_eq(ns_optim_create(&o, &c, N), NS_OK);
    ck_assert_int_eq(o.nstate, 0);
    ns_optim_free(&o);
}
END_TEST

/* Step 0 from zero moments: m/(1-b1) = g, sqrt(v/(1-b2)) = |g|, so
 * w1 = w0 - lr g / (|g| + eps); step 1 with the same g gives the same move. */
START_TEST(adam_first_steps_closed_form)
{
    const float g[4] = {0.5f, -2.0f, 1e-9f, 0.0f};
    float w[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    ns_optim_config c = cfg_of(NS_OPTIM_ADAM, 0.01);
    ns_optim o;
    ck_assert_int_eq(ns_optim_create(&o, &c, 4), NS_OK);
    ck_assert_int_eq(o.nstate, 2);
    ck_assert_str_eq(o.state_name[1], "adam_v");
    for (int t = 0; t < 2; t++) {
        ns_optim_step(&o, t, w, g);
        for (int i = 0; i < 4; i++) {
            double gi = g[i], want = 1.0 - (t + 1) * 0.01 * gi / (fabs(gi) + 1e-8);
            ns_assert_close_abs(w[i], want, 1e-6, 1e-6);
        }
    }
    ck_assert(w[3] == 1.0f); /* no gradient, no move */
    ns_optim_free(&o);
}
END_TEST

/* With g = 0: AdamW shrinks w by (1 - lr wd) per step and nothing else; Adam's
 * L2 decay goes through the moments (first step: lr sign(w)). */
START_TEST(adamw_decay_is_decoupled)
{
    const float g[2] = {0.0f, 0.0f};
    float w[2] = {2.0f, -0.5f}, wa[2] = {2.0f, -0.5f};
    ns_optim_config c = cfg_of(NS_OPTIM_ADAMW, 0.1);
    c.weight_decay = 0.5;
    ns_optim o, a;
    ck_assert_int_eq(ns_optim_create(&o, &c, 2), NS_OK);
    c.kind = NS_OPTIM_ADAM;
    ck_assert_int_eq(ns_optim_create(&a, &c, 2), NS_OK);
    for (int t = 0; t < 3; t++) ns_optim_step(&o, t, w, g);
    ns_assert_close(w[0], 2.0 * pow(0.95, 3), 1e-6);
    ns_assert_close(w[1], -0.5 * pow(0.95, 3), 1e-6);
    ns_optim_step(&a, 0, wa, g);
    ns_assert_close(wa[0], 2.0 - 0.1, 1e-6);
    ns_assert_close(wa[1], -0.5 + 0.1, 1e-6);
    ns_optim_free(&o);
    ns_optim_free(&a);
}
END_TEST

START_TEST(schedule_landmarks)
{
    ns_lr_schedule s = ns_lr_schedule_default();
    for (int t = 0; t < 100; t += 7) ck_assert(ns_lr_factor(&s, t) == 1.0); /* exactly */
    s.warmup = 4;
    s.warmup_start = 0.2;
    ns_assert_close(ns_lr_factor(&s, 0), 0.2, 1e-15);
    ns_assert_close(ns_lr_factor(&s, 2), 0.6, 1e-15);
    ck_assert(ns_lr_factor(&s, 4) == 1.0);
    s.kind = NS_LR_STEP;
    s.step_size = 3;
    s.gamma = 0.5;
    ck_assert(ns_lr_factor(&s, 6) == 1.0);  /* t' = 2 */
    ck_assert(ns_lr_factor(&s, 7) == 0.5);  /* t' = 3 */
    ck_assert(ns_lr_factor(&s, 13) == 0.125); /* t' = 9 */
    s.kind = NS_LR_COSINE;
    s.total = 24;
    s.min_factor = 0.1;
    ck_assert(ns_lr_factor(&s, 4) == 1.0);
    ns_assert_close(ns_lr_factor(&s, 14), 0.55, 1e-12); /* halfway through 20 steps */
    ns_assert_close(ns_lr_factor(&s, 24), 0.1, 1e-12);
    ck_assert_int_eq(ns_lr_schedule_check(&s), NS_OK);
}
END_TEST

START_TEST(bad_settings_name_the_field)
{
    ns_optim o;
    ns_optim_config c = cfg_of(NS_OPTIM_ADAM, 0.01);
    c.beta2 = 1.0;
    ck_assert_int_eq(ns_optim_create(&o, &c, 3), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "betas"));
    c = cfg_of(NS_OPTIM_ADAMW, 0.01);
    c.eps = 0.0;
    ck_assert_int_eq(ns_optim_create(&o, &c, 3), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "eps"));
    c = cfg_of(NS_OPTIM_SGD, -1.0);
    ck_assert_int_eq(ns_optim_create(&o, &c, 3), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "lr"));
    c = cfg_of(NS_OPTIM_SGD, 0.1);
    c.schedule.kind = NS_LR_COSINE;
    c.schedule.warmup = 10;
    c.schedule.total = 10;
    ck_assert_int_eq(ns_optim_create(&o, &c, 3), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "warm-up"));
    c.schedule.kind = NS_LR_STEP;
    c.schedule.step_size = 0;
    ck_assert_int_eq(ns_optim_create(&o, &c, 3), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "step_size"));
    ns_optim_kind k;
    ck_assert_int_eq(ns_optim_parse("adamw", &k), NS_OK);
    ck_assert_int_eq(k, NS_OPTIM_ADAMW);
    ck_assert_int_eq(ns_optim_parse("rmsprop", &k), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "sgd, adam, adamw"));
    ns_lr_kind lk;
    ck_assert_int_eq(ns_lr_kind_parse("cosine", &lk), NS_OK);
    ck_assert_str_eq(ns_lr_kind_name(lk), "cosine");
}
END_TEST

/* ------------------------------------------------------------ trajectories */

#define TRAJ_N 64
#define TRAJ_T 30

/* The cases tests/tools/torch_optim.py rebuilds in torch (same order). */
static const struct {
    const char *name;
    ns_optim_kind kind;
    double lr, momentum, wd, b1, b2, eps;
    ns_lr_kind sched;
    int64_t warmup;
    double warmup_start;
    int64_t step_size;
    double gamma, min_factor;
} traj[] = {
    {"sgd", NS_OPTIM_SGD, 0.1, 0, 0, 0.9, 0.999, 1e-8, NS_LR_CONSTANT, 0, 1. / 3, 1, 0.1, 0},
    {"sgd_momentum_wd_step", NS_OPTIM_SGD, 0.1, 0.9, 1e-3, 0.9, 0.999, 1e-8, NS_LR_STEP, 0, 1. / 3, 7, 0.5, 0},
    {"sgd_momentum_cosine", NS_OPTIM_SGD, 0.05, 0.5, 0, 0.9, 0.999, 1e-8, NS_LR_COSINE, 0, 1. / 3, 1, 0.1, 0},
    {"sgd_warmup", NS_OPTIM_SGD, 0.1, 0, 0, 0.9, 0.999, 1e-8, NS_LR_CONSTANT, 10, 1. / 3, 1, 0.1, 0},
    {"adam", NS_OPTIM_ADAM, 1e-2, 0, 0, 0.9, 0.999, 1e-8, NS_LR_CONSTANT, 0, 1. / 3, 1, 0.1, 0},
    {"adam_betas_eps_l2", NS_OPTIM_ADAM, 1e-2, 0, 1e-2, 0.8, 0.99, 1e-6, NS_LR_CONSTANT, 0, 1. / 3, 1, 0.1, 0},
    {"adam_cosine", NS_OPTIM_ADAM, 3e-3, 0, 0, 0.9, 0.999, 1e-8, NS_LR_COSINE, 0, 1. / 3, 1, 0.1, 0.1},
    {"adam_warmup_step", NS_OPTIM_ADAM, 1e-2, 0, 0, 0.9, 0.999, 1e-8, NS_LR_STEP, 4, 0.25, 10, 0.3, 0},
    {"adamw", NS_OPTIM_ADAMW, 1e-2, 0, 0.1, 0.9, 0.999, 1e-8, NS_LR_CONSTANT, 0, 1. / 3, 1, 0.1, 0},
    {"adamw_warmup_cosine", NS_OPTIM_ADAMW, 1e-2, 0, 0.05, 0.9, 0.98, 1e-8, NS_LR_COSINE, 5, 0.1, 1, 0.1, 0.0},
};

static int write_floats(const char *dir, const char *name, const void *p, size_t size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return perror(path), 1;
    int bad = fwrite(p, 1, size, f) != size;
    return (fclose(f) != 0) | bad;
}

/* w0, a gradient sequence with entries of very different scales (1e-9 puts
 * eps in charge, exact zeros never move), and each case's trajectory:
 * case_K.bin [T][N] float32 (w after update t), case_K_lr.bin [T] float64. */
static int trajectories(const char *dir)
{
    static float w0[TRAJ_N], g[TRAJ_T][TRAJ_N], w[TRAJ_N], out[TRAJ_T][TRAJ_N];
    double lr[TRAJ_T];
    const double scale[4] = {1.0, 1e-3, 1e-9, 10.0};
    ns_rng r;
    ns_rng_init(&r, 2024, 1);
    for (int i = 0; i < TRAJ_N; i++) w0[i] = ns_rng_range(&r, -1, 1);
    for (int t = 0; t < TRAJ_T; t++)
        for (int i = 0; i < TRAJ_N; i++)
            g[t][i] = i % 16 == 15 ? 0.0f : (float)(scale[i % 4] * ns_rng_normal(&r));
    int bad = write_floats(dir, "w0.bin", w0, sizeof w0) | write_floats(dir, "grads.bin", g, sizeof g);
    FILE *js = NULL;
    char path[1024];
    snprintf(path, sizeof path, "%s/cases.json", dir);
    if (!(js = fopen(path, "w"))) return perror(path), 1;
    fprintf(js, "{\"n\": %d, \"steps\": %d, \"cases\": [\n", TRAJ_N, TRAJ_T);
    for (size_t k = 0; k < sizeof traj / sizeof traj[0]; k++) {
        ns_optim_config c = {traj[k].kind, traj[k].lr, traj[k].momentum, traj[k].wd, traj[k].b1,
                             traj[k].b2, traj[k].eps,
                             {traj[k].sched, traj[k].warmup, traj[k].warmup_start,
                              traj[k].step_size, traj[k].gamma, traj[k].min_factor, TRAJ_T}};
        ns_optim o;
        if (ns_optim_create(&o, &c, TRAJ_N) != NS_OK) return fprintf(stderr, "%s\n", ns_error_msg()), 1;
        memcpy(w, w0, sizeof w);
        for (int t = 0; t < TRAJ_T; t++) {
            lr[t] = ns_optim_lr(&o, t);
            ns_optim_step(&o, t, w, g[t]);
            memcpy(out[t], w, sizeof w);
        }
        ns_optim_free(&o);
        char name[64];
        snprintf(name, sizeof name, "case_%zu.bin", k);
        bad |= write_floats(dir, name, out, sizeof out);
        snprintf(name, sizeof name, "case_%zu_lr.bin", k);
        bad |= write_floats(dir, name, lr, sizeof lr);
        fprintf(js,
                "%s{\"name\": \"%s\", \"optimizer\": \"%s\", \"lr\": %.17g, \"momentum\": %.17g, "
                "\"weight_decay\": %.17g, \"betas\": [%.17g, %.17g], \"eps\": %.17g, "
                "\"schedule\": \"%s\", \"warmup\": %lld, \"warmup_start\": %.17g, "
                "\"step_size\": %lld, \"gamma\": %.17g, \"min_factor\": %.17g}\n",
                k ? "," : "", traj[k].name, ns_optim_name(c.kind), c.lr, c.momentum,
                c.weight_decay, c.beta1, c.beta2, c.eps, ns_lr_kind_name(c.schedule.kind),
                (long long)c.schedule.warmup, c.schedule.warmup_start,
                (long long)c.schedule.step_size, c.schedule.gamma, c.schedule.min_factor);
    }
    fprintf(js, "]}\n");
    return (fclose(js) != 0) | bad;
}

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sgd_through_optim_is_sgd_step_bitwise);
    tcase_add_test(tc, adam_first_steps_closed_form);
    tcase_add_test(tc, adamw_decay_is_decoupled);
    tcase_add_test(tc, schedule_landmarks);
    tcase_add_test(tc, bad_settings_name_the_field);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--trajectories") == 0) return trajectories(argv[2]);
    return ns_test_main(optim_suite(), argc, argv);
}
