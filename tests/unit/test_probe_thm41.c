/* test_probe_thm41.c - Theorem 4.1's two sides: a case worked by hand, and
 * random layers where dL/dy comes from finite differences of the BN forward
 * (independent of any backward formula).
 * ctest-labels: probe */
#include "ns_test.h"

#include "normsweep/probe.h"
#include "normsweep/rng.h"

#include <string.h>

START_TEST(by_hand)
{
    /* y = (0, 1, 5): mu 2, var 14/3; g = dL/dz = (1, 0, 0), gamma 1, eps 0.
     * dL/dy = (8, -10, 2) / (21 sigma); both sides = 4/49 */
    float y[3] = {0, 1, 5}, dz[3] = {1, 0, 0}, gamma[1] = {1};
    double sigma = sqrt(14.0 / 3.0);
    float dy[3] = {(float)(8 / (21 * sigma)), (float)(-10 / (21 * sigma)),
                   (float)(2 / (21 * sigma))};
    double lhs, rhs, rhs_eps;
    ck_assert_int_eq(ns_thm41(y, dy, dz, gamma, 0.0, 3, 1, 1, &lhs, &rhs, &rhs_eps), NS_OK);
    ns_assert_close(rhs, 4.0 / 49.0, 1e-12);
    ns_assert_close(rhs_eps, 4.0 / 49.0, 1e-12);
    ns_assert_close(lhs, 4.0 / 49.0, 1e-6);
}
END_TEST

enum { B = 6, C = 3, S = 4 };

/* L(y) = sum_i dz_i z_i(y), z = BN(y) per unit: dL/dz = dz exactly. */
static double bn_loss(const double *y, const float *dz, const float *gamma, double eps)
{
    double L = 0;
    for (int c = 0; c < C; c++) {
        double mu = 0, v = 0;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < S; s++) mu += y[(b * C + c) * S + s];
        mu /= B * S;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < S; s++) {
                double d = y[(b * C + c) * S + s] - mu;
                v += d * d;
            }
        v /= B * S;
        for (int b = 0; b < B; b++)
            for (int s = 0; s < S; s++) {
                int i = (b * C + c) * S + s;
                L += dz[i] * (gamma[c] * (y[i] - mu) / sqrt(v + eps) + 0.1);
            }
    }
    return L;
}

static void run_random(double eps, double *gap)
{
    float y[B * C * S], dz[B * C * S], dy[B * C * S], gamma[C] = {0.5f, 1.0f, 2.0f};
    double yd[B * C * S];
    ns_rng r;
    ns_rng_init(&r, 17, 1);
    for (int i = 0; i < B * C * S; i++) {
        y[i] = 0.3f + 0.8f * ns_rng_normal(&r);
        dz[i] = ns_rng_normal(&r);
        yd[i] = y[i];
    }
    const double h = 1e-5;
    for (int i = 0; i < B * C * S; i++) { /* central differences, O(h^2) */
        double keep = yd[i];
        yd[i] = keep + h;
        double lp = bn_loss(yd, dz, gamma, eps);
        yd[i] = keep - h;
        double lm = bn_loss(yd, dz, gamma, eps);
        yd[i] = keep;
        dy[i] = (float)((lp - lm) / (2 * h));
    }
    double lhs[C], rhs[C], rhs_eps[C];
    ck_assert_int_eq(ns_thm41(y, dy, dz, gamma, eps, B, C, S, lhs, rhs, rhs_eps), NS_OK);
    *gap = 0;
    for (int c = 0; c < C; c++) {
        ns_assert_close(lhs[c], rhs_eps[c], 1e-5);
        ck_assert_double_gt(lhs[c], 0.01); /* a real gradient, not 0 = 0 */
        *gap = fmax(*gap, fabs(rhs[c] - rhs_eps[c]) / rhs_eps[c]);
    }
}

START_TEST(random_layers)
{
    double gap;
    run_random(0.0, &gap);
    ck_assert(gap == 0.0); /* eps = 0: the paper's expression is exact */
    run_random(1e-5, &gap);
    ck_assert_double_lt(gap, 1e-4); /* PyTorch's eps: the paper's form is off by < 1e-4 */
    run_random(0.5, &gap);
    ck_assert_double_gt(gap, 1e-3); /* a large eps shows the correction matters */
}
END_TEST

START_TEST(errors)
{
    float x[1] = {0};
    double a[1], b[1];
    ck_assert_int_eq(ns_thm41(x, x, x, x, 1e-5, 0, 1, 1, a, b, NULL), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "batch=0"));
    ck_assert_int_eq(ns_thm41(x, x, x, x, -1.0, 1, 1, 1, a, b, NULL), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "eps = -1"));
}
END_TEST

static Suite *thm41_suite(void)
{
    Suite *s = suite_create("probe_thm41");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, by_hand);
    tcase_add_test(tc, random_layers);
    tcase_add_test(tc, errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(thm41_suite(), argc, argv); }
