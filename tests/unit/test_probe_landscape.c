/* test_probe_landscape.c - the landscape probe against closed forms on least
 * squares (loss curve quadratic in eta, gradient change eta ||H g||,
 * beta_eff = ||H g|| / ||g||), evaluation counts, random directions, NaN/inf
 * points, and every error path.
 * ctest-labels: probe */
#include "ns_test.h"
#include "test_probe_fixtures.h"

#include "normsweep/probe.h"

static const double S6[6] = {3.0, 2.0, 1.5, 1.0, 0.7, 0.5};
static const float W6[6] = {0.5f, -0.25f, 1.0f, 0.75f, -1.5f, 0.2f};

/* Exact values along direction d from w, for g the float gradient at w. */
static void expect_line(const quad *q, const float *w, const float *g, const float *d,
                        double eta, double *loss, double *gchange)
{
    double wd[QMAX], gd[QMAX], dd[QMAX], gex[QMAX], hd[QMAX];
    for (int i = 0; i < q->n; i++) {
        wd[i] = w[i];
        gd[i] = g[i];
        dd[i] = d[i];
    }
    double L0 = quad_eval(q, wd, gex);
    quad_hx(q, dd, hd);
    double gdot = 0, dhd = 0, e2 = 0;
    for (int i = 0; i < q->n; i++) {
        gdot += gex[i] * dd[i];
        dhd += dd[i] * hd[i];
        /* g - grad L(w - eta d) = (g - grad L(w)) + eta H d */
        double e = gd[i] - gex[i] + eta * hd[i];
        e2 += e * e;
    }
    *loss = L0 - eta * gdot + 0.5 * eta * eta * dhd; /* exact: L is quadratic */
    *gchange = sqrt(e2);
}

static void run_closed_form(double c, int rotate)
{
    qcase t;
    qcase_init(&t, 6, S6, c, rotate, W6);

    ns_landscape_config cfg = ns_landscape_defaults();
    double lr = 0.1 / c; /* eta up to 0.4/c: well past 2/lambda_max, loss grows */
    double eta[8], loss[8], gc[8];
    ns_landscape_out out = {.eta = eta, .loss = loss, .grad_change = gc};
    ck_assert_int_eq(ns_probe_landscape(&t.obj, &t.ws, &cfg, lr, W6, t.g, 1, 0, &out), NS_OK);
    ck_assert_int_eq(t.q.calls, 8); /* exactly one evaluation per eta */

    double gdv[6], hg[6];
    for (int i = 0; i < 6; i++) gdv[i] = t.g[i];
    quad_hx(&t.q, gdv, hg);
    double beta = dnorm(hg, 6) / dnorm(gdv, 6);
    for (int k = 0; k < 8; k++) {
        ns_assert_close(eta[k], lr * 0.5 * pow(8.0, k / 7.0), 1e-12);
        double eL, eG;
        expect_line(&t.q, W6, t.g, t.g, eta[k], &eL, &eG);
        ns_assert_close(loss[k], eL, 1e-4);
        ns_assert_close(gc[k], eG, 1e-4);
        ns_assert_close(gc[k], eta[k] * dnorm(hg, 6), 1e-4);
    }
    ns_assert_close(out.beta_eff, beta, 1e-4);
    ck_assert(isnan(out.rand_beta_eff)); /* not asked */
    /* the curve really is curved here: a test of a flat curve could not fail */
    ck_assert_double_gt(loss[7], 2 * loss[0]);
    qcase_free(&t);
}

START_TEST(least_squares_half) { run_closed_form(0.5, 1); }
END_TEST

START_TEST(sum_of_squares) { run_closed_form(1.0, 1); }
END_TEST

START_TEST(eta_grid_values)
{
    double eta[8];
    ck_assert_int_eq(ns_eta_grid(0.1, 0.5, 4.0, 8, eta), NS_OK);
    ck_assert(eta[0] == 0.05 && eta[7] == 0.4 * 1.0000000000000000);
    for (int k = 1; k < 8; k++) ns_assert_close(eta[k] / eta[k - 1], pow(8.0, 1.0 / 7.0), 1e-12);
    ck_assert_int_eq(ns_eta_grid(1e-6, 0.01, 30, 3, eta), NS_OK);
    ns_assert_close(eta[0], 1e-8, 1e-14);
    ns_assert_close(eta[1], 1e-6 * sqrt(0.3), 1e-12);
    ns_assert_close(eta[2], 3e-5, 1e-14);
    ck_assert_int_eq(ns_eta_grid(0.2, 2.0, 2.0, 1, eta), NS_OK);
    ns_assert_close(eta[0], 0.4, 1e-15);
}
END_TEST

START_TEST(eta_grid_errors)
{
    double eta[4];
    ck_assert_int_eq(ns_eta_grid(0.0, 0.5, 4, 4, eta), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "learning rate"));
    ck_assert_int_eq(ns_eta_grid(0.1, 0.0, 4, 4, eta), NS_ERR_ARG);
    ck_assert_int_eq(ns_eta_grid(0.1, 4.0, 0.5, 4, eta), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "[4, 0.5]"));
    ck_assert_int_eq(ns_eta_grid(0.1, 0.5, 4, 0, eta), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "count 0"));
}
END_TEST

START_TEST(random_direction)
{
    qcase t;
    qcase_init(&t, 6, S6, 0.5, 1, W6);
    float d1[6], d2[6], d3[6];

    ns_probe_random_direction(7, 120, t.g, d1, 6);
    ns_probe_random_direction(7, 120, t.g, d2, 6);
    ns_probe_random_direction(7, 121, t.g, d3, 6);
    ns_assert_close(ns_vec_norm(d1, 6), ns_vec_norm(t.g, 6), 1e-6);
    ck_assert(memcmp(d1, d2, sizeof d1) == 0); /* reproducible per (seed, step) */
    ck_assert(memcmp(d1, d3, sizeof d1) != 0); /* another step, another direction */

    ns_landscape_config cfg = ns_landscape_defaults();
    cfg.random_dir = 1;
    double eta[8], loss[8], gc[8], rl[8], rg[8];
    ns_landscape_out out = {.eta = eta, .loss = loss, .grad_change = gc, .rand_loss = rl,
                            .rand_grad_change = rg};
    ck_assert_int_eq(ns_probe_landscape(&t.obj, &t.ws, &cfg, 0.1, W6, t.g, 7, 120, &out), NS_OK);
    ck_assert_int_eq(t.q.calls, 16);
    double dd[6], hd[6];
    for (int i = 0; i < 6; i++) dd[i] = d1[i];
    quad_hx(&t.q, dd, hd);
    for (int k = 0; k < 8; k++) {
        double eL, eG;
        expect_line(&t.q, W6, t.g, d1, eta[k], &eL, &eG);
        ns_assert_close(rl[k], eL, 1e-4);
        ns_assert_close(rg[k], eG, 1e-4);
    }
    ns_assert_close(out.rand_beta_eff, dnorm(hd, 6) / dnorm(dd, 6), 1e-4);
    /* the random direction is not the gradient direction: different numbers */
    ck_assert_double_gt(fabs(out.rand_beta_eff - out.beta_eff), 1e-3 * out.beta_eff);
    qcase_free(&t);
}
END_TEST

/* Past a radius the objective returns NaN (or inf): those etas record it,
 * the others stay exact, beta_eff is the max over the finite ones. */
static void run_nonfinite(int use_inf)
{
    qcase t;
    qcase_init(&t, 6, S6, 0.5, 1, W6);
    double eta[8], loss[8], gc[8], beta;
    ck_assert_int_eq(ns_eta_grid(0.1, 0.5, 4.0, 8, eta), NS_OK);
    /* radius (around w) between the points reached at eta[4] and eta[5] */
    double gmax = 0;
    for (int i = 0; i < 6; i++) {
        t.q.center[i] = W6[i];
        gmax = fmax(gmax, fabs(t.g[i]));
    }
    double radius = 0.5 * (eta[4] + eta[5]) * gmax;
    if (use_inf) t.q.inf_radius = radius;
    else t.q.nan_radius = radius;
    t.q.calls = 0;
    ck_assert_int_eq(ns_probe_line(&t.obj, &t.ws, W6, t.g, t.g, eta, 8, loss, gc, &beta), NS_OK);
    ck_assert_int_eq(t.q.calls, 8); /* goes on after the first bad point */
    for (int k = 0; k < 8; k++) {
        if (k <= 4) {
            double eL, eG;
            expect_line(&t.q, W6, t.g, t.g, eta[k], &eL, &eG);
            ns_assert_close(loss[k], eL, 1e-4);
            ns_assert_close(gc[k], eG, 1e-4);
        } else if (use_inf) {
            ck_assert(isinf(loss[k]) && loss[k] > 0);
            ck_assert(isinf(gc[k]));
        } else {
            ck_assert(isnan(loss[k]) && isnan(gc[k]));
        }
    }
    double gdv[6], hg[6];
    for (int i = 0; i < 6; i++) gdv[i] = t.g[i];
    quad_hx(&t.q, gdv, hg);
    ns_assert_close(beta, dnorm(hg, 6) / dnorm(gdv, 6), 1e-4);

    t.q.nan_radius = 1e-9; /* every point NaN: beta_eff NaN, still NS_OK */
    t.q.inf_radius = 0;
    ck_assert_int_eq(ns_probe_line(&t.obj, &t.ws, W6, t.g, t.g, eta, 8, loss, gc, &beta), NS_OK);
    ck_assert(isnan(beta));
    for (int k = 0; k < 8; k++) ck_assert(isnan(loss[k]));
    qcase_free(&t);
}

START_TEST(nan_points) { run_nonfinite(0); }
END_TEST

START_TEST(inf_points) { run_nonfinite(1); }
END_TEST

START_TEST(zero_gradient_beta_nan)
{
    qcase t;
    qcase_init(&t, 6, S6, 0.5, 1, NULL);
    float z[6] = {0};
    double eta[2] = {0.1, 0.2}, loss[2], gc[2], beta = 0;
    ck_assert_int_eq(ns_probe_line(&t.obj, &t.ws, W6, z, z, eta, 2, loss, gc, &beta), NS_OK);
    ck_assert(isnan(beta)); /* ||eta d|| = 0: the ratio is undefined */
    double wd[6];
    for (int i = 0; i < 6; i++) wd[i] = W6[i];
    ns_assert_close(loss[1], quad_eval(&t.q, wd, NULL), 1e-6); /* did not move */
    qcase_free(&t);
}
END_TEST

START_TEST(errors_propagate)
{
    quad q;
    quad_init(&q, 6, S6, 0.5, 1);
    ns_objective obj = quad_objective(&q);
    ns_probe_ws ws = {0}, small;
    float g[6] = {1, 1, 1, 1, 1, 1};
    double eta[8], loss[8], gc[8];
    ns_landscape_config cfg = ns_landscape_defaults();
    ns_landscape_out out = {.eta = eta, .loss = loss, .grad_change = gc};

    /* workspace not allocated / made for another n */
    ck_assert_int_eq(ns_probe_landscape(&obj, &ws, &cfg, 0.1, W6, g, 0, 0, &out), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "not allocated"));
    ck_assert_int_eq(ns_probe_ws_alloc(&small, 5), NS_OK);
    ck_assert_int_eq(ns_probe_landscape(&obj, &small, &cfg, 0.1, W6, g, 0, 0, &out), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "n = 5"));
    ns_probe_ws_free(&small);
    ns_probe_ws_free(&small); /* twice is harmless */
    ck_assert_int_eq(ns_probe_ws_alloc(&ws, 0), NS_ERR_ARG);

    ck_assert_int_eq(ns_probe_ws_alloc(&ws, 6), NS_OK);
    /* random_dir without arrays */
    cfg.random_dir = 1;
    ck_assert_int_eq(ns_probe_landscape(&obj, &ws, &cfg, 0.1, W6, g, 0, 0, &out), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "rand_loss"));
    cfg.random_dir = 0;
    /* bad grid */
    cfg.count = 0;
    ck_assert_int_eq(ns_probe_landscape(&obj, &ws, &cfg, 0.1, W6, g, 0, 0, &out), NS_ERR_ARG);
    cfg.count = 8;
    /* the objective's own failure stops the probe with its status and message */
    q.fail_with = NS_ERR_IO;
    q.calls = 0;
    ck_assert_int_eq(ns_probe_landscape(&obj, &ws, &cfg, 0.1, W6, g, 0, 0, &out), NS_ERR_IO);
    ck_assert_int_eq(q.calls, 1);
    ck_assert_str_eq(ns_error_msg(), "quad: injected failure");
    ns_probe_ws_free(&ws);
}
END_TEST

START_TEST(objective_checks)
{
    quad q;
    quad_init(&q, 6, S6, 0.5, 1);
    size_t off[2] = {0, 3}, len[2] = {3, 3}, pe[2] = {0, 3};
    ns_objective o = {.n = 6, .loss_grad = quad_loss_grad, .ctx = &q, .nlayers = 2,
                      .layer_off = off, .layer_len = len, .prefix_end = pe};
    ck_assert_int_eq(ns_objective_check(&o), NS_OK);
    len[1] = 4; /* runs past n */
    ck_assert_int_eq(ns_objective_check(&o), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "layer 1 slice"));
    len[1] = 3;
    pe[1] = 4; /* prefix reaching into the layer */
    ck_assert_int_eq(ns_objective_check(&o), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "prefix_end 4 > layer_off 3"));
    pe[0] = 2;
    pe[1] = 1; /* decreasing prefix */
    off[0] = 2;
    len[0] = 1;
    ck_assert_int_eq(ns_objective_check(&o), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "non-decreasing"));
    o.layer_off = NULL;
    ck_assert_int_eq(ns_objective_check(&o), NS_ERR_ARG);
    o.n = 0;
    ck_assert_int_eq(ns_objective_check(&o), NS_ERR_ARG);
    o.loss_grad = NULL;
    ck_assert_int_eq(ns_objective_check(&o), NS_ERR_ARG);
}
END_TEST

START_TEST(grad_norms)
{
    float g[7] = {3, 4, 0, 1, 2, 2, -12};
    size_t off[2] = {0, 3}, len[2] = {2, 3}, pe[2] = {0, 2};
    ns_objective o = {.n = 7, .loss_grad = quad_loss_grad, .nlayers = 2, .layer_off = off,
                      .layer_len = len, .prefix_end = pe};
    double total, per[2];
    ns_probe_grad_norms(&o, g, &total, per);
    ns_assert_close(total, sqrt(9 + 16 + 1 + 4 + 4 + 144.0), 1e-15);
    ns_assert_close(per[0], 5.0, 1e-15);
    ns_assert_close(per[1], 3.0, 1e-15);
}
END_TEST

START_TEST(streams)
{
    uint64_t a = ns_probe_stream(NS_PROBE_RNG_DIRECTION, 5);
    ck_assert_uint_eq(a, ((uint64_t)4 << 32) | (1u << 28) | 5u);
    ck_assert_uint_ne(a, ns_probe_stream(NS_PROBE_RNG_HESSIAN, 5));
    ck_assert_uint_ne(a, ns_probe_stream(NS_PROBE_RNG_DIRECTION, 6));
}
END_TEST

static Suite *landscape_suite(void)
{
    Suite *s = suite_create("probe_landscape");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, least_squares_half);
    tcase_add_test(tc, sum_of_squares);
    tcase_add_test(tc, eta_grid_values);
    tcase_add_test(tc, eta_grid_errors);
    tcase_add_test(tc, random_direction);
    tcase_add_test(tc, nan_points);
    tcase_add_test(tc, inf_points);
    tcase_add_test(tc, zero_gradient_beta_nan);
    tcase_add_test(tc, errors_propagate);
    tcase_add_test(tc, objective_checks);
    tcase_add_test(tc, grad_norms);
    tcase_add_test(tc, streams);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(landscape_suite(), argc, argv); }
