/* test_norm_lp.c - l1, l2, linf normalizations (paper Sec. 3.3): hand values,
 * running statistics, eval mode, finite-difference gradients. */
#include "test_norm_util.h"

/* One unit, batch 4: x = 1, -2, 3, 2; mean 1. By hand (eps = 0):
 *   l1:   n = mean|x| = 2,              yhat = (x-1)/2
 *   l2:   n = sqrt(mean x^2) = sqrt(4.5), yhat = (x-1)/2.12132034
 *   linf: n = max|x| = 3,               yhat = (x-1)/3 */
static const float hx[4] = {1, -2, 3, 2};

static void hand_case(ns_norm_kind kind, double n)
{
    ns_norm_config c = ns_norm_defaults(kind);
    c.eps = 0.0f;
    tnorm t;
    tn_make(&t, c, (ns_shape){1, 1, 1}, 4);
    t.w[0] = 2.0f;  /* gamma */
    t.w[1] = -0.5f; /* beta */
    float out[4];
    ns_pass p = {NS_MODE_TRAIN, 1, 0, NULL};
    t.l.ops->forward(&t.l, out, hx, 4, &p);
    for (int i = 0; i < 4; i++) ns_assert_close_abs(out[i], 2.0 * (hx[i] - 1.0) / n - 0.5, 1e-6, 1e-6);
    /* running_mean = 0.1 * 1, running_norm = 0.9 * 1 + 0.1 n (no Bessel factor) */
    ns_assert_close(t.state[0], 0.1, 1e-6);
    ns_assert_close(t.state[1], 0.9 + 0.1 * n, 1e-6);
    /* eval: d from the running norm (l2: sqrt(rn^2 + eps) = rn at eps 0) */
    ns_pass ev = {NS_MODE_EVAL, 1, 0, NULL};
    t.l.ops->forward(&t.l, out, hx, 4, &ev);
    for (int i = 0; i < 4; i++)
        ns_assert_close(out[i], 2.0 * (hx[i] - 0.1) / (0.9 + 0.1 * n) - 0.5, 1e-6);
    ns_assert_close(t.state[1], 0.9 + 0.1 * n, 1e-6);
    ck_assert_str_eq(t.l.views[3].suffix, "running_norm");
    ck_assert_str_eq(t.l.ops->kind, ns_norm_name(kind));
    tn_free(&t);
}

START_TEST(forward_by_hand)
{
    hand_case(NS_NORM_L1, 2.0);
    hand_case(NS_NORM_L2, sqrt(4.5));
    hand_case(NS_NORM_LINF, 3.0);
}
END_TEST

START_TEST(eps_placement)
{
    /* all-zero unit: 0/0 avoided; l1 d = 0 + eps, l2 d = sqrt(0 + eps) */
    ns_norm_config c = ns_norm_defaults(NS_NORM_L2);
    c.eps = 0.25f;
    tnorm t;
    tn_make(&t, c, (ns_shape){1, 1, 1}, 2);
    float x[2] = {1.0f, 2.0f}, out[2];
    ns_pass p = {NS_MODE_TRAIN, 0, 0, NULL};
    t.l.ops->forward(&t.l, out, x, 2, &p); /* mean x^2 = 2.5: d = sqrt(2.75) */
    ns_assert_close(out[1], 0.5 / sqrt(2.75), 1e-6);
    tn_free(&t);
    c = ns_norm_defaults(NS_NORM_L1);
    c.eps = 0.25f;
    tn_make(&t, c, (ns_shape){1, 1, 1}, 2);
    t.l.ops->forward(&t.l, out, x, 2, &p); /* mean |x| = 1.5: d = 1.75 */
    ns_assert_close(out[1], 0.5 / 1.75, 1e-6);
    float z[2] = {0, 0};
    t.l.ops->forward(&t.l, out, z, 2, &p);
    ck_assert(out[0] == 0.0f && out[1] == 0.0f);
    tn_free(&t);
}
END_TEST

/* Data for finite differences away from the kinks: |x| >= 0.1 (sign(x) of
 * l1) and a max |x| per unit 25% above the runner-up (linf's argmax), both
 * beyond the stencil's reach 2h = 6e-2. Tolerance as in test_norm_batch.c. */
static void gradcheck_lp(ns_norm_kind kind, ns_shape s, int batch, uint64_t seed)
{
    size_t n = ns_shape_size(s), N = (size_t)batch * n, HW = (size_t)s.h * s.w;
    float *x = malloc(N * sizeof(float));
    ns_rng r;
    ns_rng_init(&r, seed, 9);
    tn_fill_normal(x, N, &r, 1.2f, 0.4f);
    for (size_t i = 0; i < N; i++)
        if (fabsf(x[i]) < 0.1f) x[i] = x[i] < 0 ? x[i] - 0.1f : x[i] + 0.1f;
    for (int c = 0; c < s.c; c++) {
        float *best = NULL;
        for (int b = 0; b < batch; b++)
            for (size_t i = 0; i < HW; i++) {
                float *v = &x[b * n + c * HW + i];
                if (!best || fabsf(*v) > fabsf(*best)) best = v;
            }
        *best *= 1.25f;
    }
    tn_gc_result g = tn_gradcheck(ns_norm_defaults(kind), s, batch, x, seed, tn_fd_step());
    if (getenv("NS_TEST_VERBOSE"))
        printf("%s {%d,%d,%d} batch %d: FD error din %.3g dw %.3g\n", ns_norm_name(kind), s.c,
               s.h, s.w, batch, g.max_err_din, g.max_err_dw);
    ck_assert_msg(g.max_err_din < 5e-3 && g.max_err_dw < 5e-3,
                  "%s {%d,%d,%d} batch %d: FD error din %.3g dw %.3g (gscale %.3g)",
                  ns_norm_name(kind), s.c, s.h, s.w, batch, g.max_err_din, g.max_err_dw,
                  g.gscale);
    free(x);
}

START_TEST(gradients)
{
    const ns_norm_kind kinds[3] = {NS_NORM_L1, NS_NORM_L2, NS_NORM_LINF};
    for (int k = 0; k < 3; k++) {
        gradcheck_lp(kinds[k], (ns_shape){6, 1, 1}, 3, 10 + k);
        gradcheck_lp(kinds[k], (ns_shape){18, 1, 1}, 16, 20 + k);
        gradcheck_lp(kinds[k], (ns_shape){3, 2, 2}, 1, 30 + k);
        gradcheck_lp(kinds[k], (ns_shape){2, 4, 5}, 3, 40 + k);
    }
}
END_TEST

START_TEST(no_theorem41)
{
    tnorm t;
    tn_make(&t, ns_norm_defaults(NS_NORM_L2), (ns_shape){2, 1, 1}, 4);
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 9}, out[8], din[8];
    double lhs[2], rhs[2];
    ns_pass tr = {NS_MODE_TRAIN, 0, 0, NULL};
    t.l.ops->forward(&t.l, out, x, 4, &tr);
    t.l.ops->backward(&t.l, din, x, x, out, 4);
    ck_assert_int_eq(ns_norm_thm41(&t.l, x, din, 4, lhs, rhs), NS_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "l2"));
    tn_free(&t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("norm_lp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, forward_by_hand);
    tcase_add_test(tc, eps_placement);
    tcase_add_test(tc, gradients);
    tcase_add_test(tc, no_theorem41);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(suite(), argc, argv); }
