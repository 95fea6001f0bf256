/* test_probe_hessian.c - power iteration and Hutchinson's trace on least
 * squares with known spectrum H = Q^T diag(2c s^2) Q; the finite-difference
 * Hessian-vector product itself; NaN and error paths.
 * ctest-labels: probe */
#include "ns_test.h"
#include "test_probe_fixtures.h"

#include "normsweep/probe.h"

static const double S6[6] = {3.0, 2.0, 1.5, 1.0, 0.7, 0.5};
static const float W6[6] = {0.5f, -0.25f, 1.0f, 0.75f, -1.5f, 0.2f};

START_TEST(hvp_matches_h_times_v)
{
    qcase t;
    qcase_init(&t, 6, S6, 0.5, 1, NULL);
    float v[6] = {0.1f, -0.7f, 0.3f, 0.2f, 0.5f, -0.33f}, hu[6];
    double vd[6], hv[6], uhu, uu;
    for (int i = 0; i < 6; i++) vd[i] = v[i];
    quad_hx(&t.q, vd, hv);
    t.q.calls = 0;
    ck_assert_int_eq(ns_probe_hvp(&t.obj, &t.ws, W6, v, 1e-3, hu, &uhu, &uu), NS_OK);
    ck_assert_int_eq(t.q.calls, 2);
    double err = 0;
    for (int i = 0; i < 6; i++) err += (hu[i] - hv[i]) * (hu[i] - hv[i]);
    ck_assert_double_lt(sqrt(err) / dnorm(hv, 6), 1e-3);
    double vhv = 0;
    for (int i = 0; i < 6; i++) vhv += vd[i] * hv[i];
    ns_assert_close(uhu / uu, vhv / (dnorm(vd, 6) * dnorm(vd, 6)), 1e-4);
    ck_assert_int_eq(ns_probe_hvp(&t.obj, &t.ws, W6, v, 0.0, hu, &uhu, &uu), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "h = 0"));
    qcase_free(&t);
}
END_TEST

static void run_top_eigen(double c)
{
    qcase t;
    qcase_init(&t, 6, S6, c, 1, NULL);
    ns_hessian_config cfg = ns_hessian_defaults();
    cfg.max_iters = 100;
    cfg.tol = 1e-9;
    ns_hessian_out out;
    t.q.calls = 0;
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, W6, 3, 40, &out), NS_OK);
    double top = 2 * c * S6[0] * S6[0];
    ns_assert_close(out.lambda, top, 1e-4);
    ck_assert_int_eq(out.converged, 1);
    ck_assert_int_gt(out.iters, 3);
    ck_assert_int_lt(out.iters, 100);
    ck_assert_int_eq(out.evals, 2 * out.iters);
    ck_assert_int_eq(t.q.calls, out.evals);
    ck_assert_double_lt(out.residual, 1e-3);
    ns_assert_close(out.h, 1e-3 * ns_vec_norm(W6, 6), 1e-12);
    ck_assert(isnan(out.trace) && isnan(out.trace_se)); /* not asked */

    /* the defaults (20 iterations, tol 1e-3) land within a percent */
    ns_hessian_out d;
    ns_hessian_config def = ns_hessian_defaults();
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &def, W6, 3, 40, &d), NS_OK);
    ns_assert_close(d.lambda, top, 1e-2);
    ck_assert_int_le(d.iters, 20);

    /* same (seed, step): same start vector, bit-identical result */
    ns_hessian_out again;
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, W6, 3, 40, &again), NS_OK);
    ck_assert(again.lambda == out.lambda && again.iters == out.iters);
    qcase_free(&t);
}

START_TEST(top_eigen_half) { run_top_eigen(0.5); }
END_TEST

START_TEST(top_eigen_sum) { run_top_eigen(1.0); }
END_TEST

START_TEST(negative_curvature_keeps_sign)
{
    /* L = -1/2 ||A w - b||^2: H = -A^T A, the dominant eigenvalue is -9 */
    qcase t;
    qcase_init(&t, 6, S6, -0.5, 1, NULL);
    ns_hessian_config cfg = ns_hessian_defaults();
    cfg.max_iters = 100;
    cfg.tol = 1e-9;
    ns_hessian_out out;
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, W6, 3, 40, &out), NS_OK);
    ns_assert_close(out.lambda, -9.0, 1e-4);
    ck_assert_int_eq(out.converged, 1);
    ck_assert_double_lt(out.residual, 1e-3);
    qcase_free(&t);
}
END_TEST

START_TEST(max_iters_not_converged)
{
    qcase t;
    qcase_init(&t, 6, S6, 0.5, 1, NULL);
    ns_hessian_config cfg = ns_hessian_defaults();
    cfg.max_iters = 2;
    cfg.tol = 0;
    ns_hessian_out out;
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, W6, 3, 40, &out), NS_OK);
    ck_assert_int_eq(out.iters, 2);
    ck_assert_int_eq(out.converged, 0);
    ck_assert_int_eq(out.evals, 4);
    /* a Rayleigh quotient lies inside the spectrum, below the top */
    ck_assert_double_le(out.lambda, 9.0 * (1 + 1e-6));
    ck_assert_double_ge(out.lambda, 0.25);
    ck_assert_double_gt(out.residual, 1e-3); /* not an eigenpair yet */
    qcase_free(&t);
}
END_TEST

START_TEST(hutchinson_diagonal_exact)
{
    /* H diagonal: z^T H z = sum_i H_ii for every sign vector z */
    qcase t;
    qcase_init(&t, 6, S6, 0.5, 0, NULL);
    ns_hessian_config cfg = ns_hessian_defaults();
    cfg.hutchinson = 5;
    ns_hessian_out out;
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, W6, 3, 0, &out), NS_OK);
    double tr = 0;
    for (int i = 0; i < 6; i++) tr += S6[i] * S6[i];
    ns_assert_close(out.trace, tr, 1e-4);
    ck_assert_double_lt(out.trace_se, 1e-4 * tr);
    ck_assert_int_eq(out.evals, 2 * out.iters + 10);
    qcase_free(&t);
}
END_TEST

START_TEST(hutchinson_rotated_statistical)
{
    const int n = 12, m = 400;
    double s[12];
    for (int i = 0; i < n; i++) s[i] = 0.4 + 0.25 * i;
    qcase t;
    qcase_init(&t, n, s, 0.5, 1, NULL);
    float w[12];
    for (int i = 0; i < n; i++) w[i] = 0.1f * (float)(i - 5);
    ns_hessian_config cfg = ns_hessian_defaults();
    cfg.max_iters = 1;
    cfg.hutchinson = m;
    ns_hessian_out out;
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, w, 11, 3, &out), NS_OK);
    /* Var(z^T H z) = 2 sum_{i != j} H_ij^2 for Rademacher z */
    double tr = 0, off2 = 0;
    for (int i = 0; i < n; i++) {
        tr += t.q.H[i][i];
        for (int j = 0; j < n; j++)
            if (i != j) off2 += t.q.H[i][j] * t.q.H[i][j];
    }
    double se = sqrt(2 * off2 / m);
    ck_assert_double_gt(off2, 1.0); /* rotation makes the estimator noisy */
    ck_assert_msg(fabs(out.trace - tr) < 4 * se, "trace %g vs %g (se %g)", out.trace, tr, se);
    ck_assert_msg(out.trace_se > 0.7 * se && out.trace_se < 1.3 * se, "se %g vs exact %g",
                  out.trace_se, se);
    qcase_free(&t);
}
END_TEST

START_TEST(nan_is_data)
{
    qcase t;
    qcase_init(&t, 6, S6, 0.5, 1, NULL);
    ns_hessian_config cfg = ns_hessian_defaults();
    cfg.hutchinson = 3;
    ns_hessian_out out;
    t.q.nan_radius = 1e-12; /* every displaced point is NaN */
    for (int i = 0; i < 6; i++) t.q.center[i] = W6[i];
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, W6, 3, 0, &out), NS_OK);
    ck_assert(isnan(out.lambda) && isnan(out.residual) && isnan(out.trace));
    ck_assert_int_eq(out.iters, 1);
    ck_assert_int_eq(out.converged, 0);
    ck_assert_int_eq(out.evals, 4); /* one power step, one Hutchinson sample */
    /* non-finite weights (a diverged run): NaN without evaluating */
    float wbad[6] = {0, 0, NAN, 0, 0, 0};
    t.q.calls = 0;
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, wbad, 3, 0, &out), NS_OK);
    ck_assert(isnan(out.lambda));
    ck_assert_int_eq(t.q.calls, 0);
    qcase_free(&t);
}
END_TEST

START_TEST(zero_hessian)
{
    double s[6] = {0, 0, 0, 0, 0, 0};
    qcase t;
    qcase_init(&t, 6, s, 0.5, 1, NULL);
    ns_hessian_config cfg = ns_hessian_defaults();
    ns_hessian_out out;
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, W6, 3, 0, &out), NS_OK);
    ck_assert(out.lambda == 0 && out.residual == 0 && out.converged == 1 && out.iters == 1);
    qcase_free(&t);
}
END_TEST

/* cfg (NULL: no config) is refused with NS_ERR_ARG and a message naming `what`. */
static void expect_arg_error(qcase *t, const ns_hessian_config *cfg, const char *what)
{
    ns_hessian_out out;
    ck_assert_int_eq(ns_probe_hessian(&t->obj, &t->ws, cfg, W6, 3, 0, &out), NS_ERR_ARG);
    if (what)
        ck_assert_msg(strstr(ns_error_msg(), what), "error '%s' does not name '%s'", ns_error_msg(),
                      what);
}

START_TEST(config_errors)
{
    qcase t;
    qcase_init(&t, 6, S6, 0.5, 1, NULL);
    ns_hessian_out out;
    ns_hessian_config cfg = ns_hessian_defaults();
    cfg.max_iters = 0;
    expect_arg_error(&t, &cfg, "max_iters = 0");
    cfg = ns_hessian_defaults();
    cfg.tol = -1;
    expect_arg_error(&t, &cfg, "tol");
    cfg = ns_hessian_defaults();
    cfg.h_rel = 0;
    expect_arg_error(&t, &cfg, "h_rel");
    cfg = ns_hessian_defaults();
    cfg.hutchinson = -2;
    expect_arg_error(&t, &cfg, "hutchinson");
    expect_arg_error(&t, NULL, NULL);
    cfg = ns_hessian_defaults();
    t.q.fail_with = NS_ERR_STATE;
    ck_assert_int_eq(ns_probe_hessian(&t.obj, &t.ws, &cfg, W6, 3, 0, &out), NS_ERR_STATE);
    qcase_free(&t);
}
END_TEST

static Suite *hessian_suite(void)
{
    Suite *s = suite_create("probe_hessian");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, hvp_matches_h_times_v);
    tcase_add_test(tc, top_eigen_half);
    tcase_add_test(tc, top_eigen_sum);
    tcase_add_test(tc, negative_curvature_keeps_sign);
    tcase_add_test(tc, max_iters_not_converged);
    tcase_add_test(tc, hutchinson_diagonal_exact);
    tcase_add_test(tc, hutchinson_rotated_statistical);
    tcase_add_test(tc, nan_is_data);
    tcase_add_test(tc, zero_hessian);
    tcase_add_test(tc, config_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(hessian_suite(), argc, argv); }
