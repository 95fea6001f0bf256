/* test_probe_activations.c - unit distributions against values computed with
 * numpy 1.24 (np.quantile default 'linear', np.mean, np.std with ddof=0) on
 * fixed arrays, reproducible unit choice, NaN and error paths.
 * ctest-labels: probe */
#include "ns_test.h"

#include "normsweep/probe.h"
#include "normsweep/rng.h"

#include <stdlib.h>
#include <string.h>

/* NCHW [3][2][2][2] */
static const float X[24] = {0.5f,  -1.25f, 2.0f,  3.5f,   -0.75f, 0.0f, 1.0f,   4.25f,
                            1.5f,  -2.0f,  0.25f, 0.125f, 6.0f,   -3.0f, 2.5f,  0.5f,
                            -0.5f, 1.75f,  -1.0f, 2.25f,  0.0f,   0.0f, -0.25f, 1.0f};

START_TEST(conv_channels_vs_numpy)
{
    int units[3] = {1, 0, -1};
    double quant[15], mean[3], sd[3];
    float scratch[12];
    ck_assert_int_eq(ns_activation_stats(X, 3, 2, 4, units, 3, ns_quantiles_default,
                                         NS_NQUANTILES_DEFAULT, scratch, quant, mean, sd),
                     NS_OK);
    /* numpy: x[:, c].ravel() */
    const double q1[5] = {-2.38125, -0.37, 0.25, 2.92, 5.51875};
    const double q0[5] = {-1.79375, -1.06, 0.375, 2.06, 3.15625};
    for (int m = 0; m < 5; m++) {
        ns_assert_close(quant[m], q1[m], 1e-12);
        ns_assert_close(quant[5 + m], q0[m], 1e-12);
        ck_assert(isnan(quant[10 + m])); /* padding unit */
    }
    ns_assert_close(mean[0], 0.9375, 1e-15);
    ns_assert_close(sd[0], 2.266433045558593, 1e-12);
    ns_assert_close(mean[1], 0.59375, 1e-15);
    ns_assert_close(sd[1], 1.5688412988040994, 1e-12);
    ck_assert(isnan(mean[2]) && isnan(sd[2]));
}
END_TEST

START_TEST(dense_features_vs_numpy)
{
    /* [5][3] */
    const float d[15] = {0.1f, 2.0f, -1.0f, 0.4f, -3.0f, 5.0f, 0.3f, 1.0f,
                         -2.0f, 0.2f, 0.0f, 7.0f, -0.6f, 4.0f, 1.5f};
    int units[3] = {0, 1, 2};
    double q[5] = {0.0, 0.16, 0.5, 0.975, 1.0}, quant[15], mean[3], sd[3];
    float scratch[5];
    ck_assert_int_eq(ns_activation_stats(d, 5, 3, 1, units, 3, ns_quantiles_default, 5, scratch,
                                         quant, mean, sd),
                     NS_OK);
    const double e[3][5] = {{-0.53000002, -0.15200001, 0.2, 0.33600001, 0.39000001},
                            {-2.7, -1.08, 1.0, 2.72, 3.8},
                            {-1.9, -1.36, 1.5, 5.72, 6.8}};
    const double em[3] = {0.07999999970197677, 0.8, 2.1};
    const double es[3] = {0.3544009148576493, 2.3151673805580453, 3.4409301068170506};
    for (int j = 0; j < 3; j++) {
        for (int m = 0; m < 5; m++) ns_assert_close(quant[j * 5 + m], e[j][m], 1e-7);
        ns_assert_close(mean[j], em[j], 1e-7);
        ns_assert_close(sd[j], es[j], 1e-7);
    }
    /* the end points 0 and 1 are the min and the max */
    ck_assert_int_eq(ns_activation_stats(d, 5, 3, 1, units, 3, q, 5, scratch, quant, mean, sd),
                     NS_OK);
    ns_assert_close(quant[10], -2.0, 1e-15);
    ns_assert_close(quant[14], 7.0, 1e-15);
}
END_TEST

START_TEST(nan_and_inf_units)
{
    float x[8] = {1, NAN, 2, 3, /* channel 0 of 2, batch 2, spatial 2 */
                  INFINITY, INFINITY, 4, 5};
    /* layout [2][2][2]: b0 c0 = {1, NaN}, b0 c1 = {2, 3}, b1 c0 = {inf, inf}, b1 c1 = {4, 5} */
    int units[2] = {0, 1};
    double q[2] = {0.5, 1.0}, quant[4], mean[2], sd[2];
    float scratch[4];
    ck_assert_int_eq(ns_activation_stats(x, 2, 2, 2, units, 2, q, 2, scratch, quant, mean, sd),
                     NS_OK);
    ck_assert(isnan(quant[0]) && isnan(quant[1]) && isnan(mean[0]) && isnan(sd[0]));
    ns_assert_close(quant[2], 3.5, 1e-15);
    ns_assert_close(quant[3], 5.0, 1e-15);
    ns_assert_close(mean[1], 3.5, 1e-15);
    /* infinities sort to the top: the max is inf, the median between finite values */
    float y[4] = {1, INFINITY, 2, INFINITY}; /* one channel, batch 2, spatial 2 */
    int u0[1] = {0};
    ck_assert_int_eq(ns_activation_stats(y, 2, 1, 2, u0, 1, q, 2, scratch, quant, mean, sd),
                     NS_OK);
    ck_assert(isinf(quant[0]) && isinf(quant[1])); /* median of {1, 2, inf, inf} = inf */
    ck_assert(isinf(mean[0]));
    float z[4] = {-INFINITY, 2, 3, INFINITY};
    double q3[4] = {0.1, 0.5, 0.9, 0.0}, qz[4];
    ck_assert_int_eq(ns_activation_stats(z, 4, 1, 1, u0, 1, q3, 4, scratch, qz, mean, sd),
                     NS_OK);
    ck_assert(isinf(qz[0]) && qz[0] < 0);
    ns_assert_close(qz[1], 2.5, 1e-15);
    ck_assert(isinf(qz[2]) && qz[2] > 0);
    ck_assert(isinf(qz[3]) && qz[3] < 0);
    ck_assert(isnan(mean[0])); /* -inf + inf */
}
END_TEST

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Large samples go through the partial selection, not the small-array sort:
 * compare with the definition on a fully sorted copy, with heavy ties
 * (half exact zeros, like post-ReLU data) and with all values equal. */
START_TEST(large_sample_matches_full_sort)
{
    enum { B = 50, C = 3, S = 100, N = B * S, NQ = NS_MAX_QUANTILES };
    static float x[B * C * S], ref[N], scratch[N];
    ns_rng r;
    ns_rng_init(&r, 5, 5);
    for (int i = 0; i < B * C * S; i++) {
        float v = ns_rng_normal(&r);
        int c = (i / S) % C;
        x[i] = c == 0 ? v : c == 1 ? (v > 0 ? roundf(4 * v) / 4 : 0.0f) : 1.5f;
    }
    double q[NQ], quant[C * NQ], mean[C], sd[C];
    for (int m = 0; m < NQ; m++) q[m] = (double)m / (NQ - 1);
    int units[C] = {0, 1, 2};
    ck_assert_int_eq(ns_activation_stats(x, B, C, S, units, C, q, NQ, scratch, quant, mean, sd),
                     NS_OK);
    for (int c = 0; c < C; c++) {
        for (int b = 0; b < B; b++)
            for (int s = 0; s < S; s++) ref[b * S + s] = x[(b * C + c) * S + s];
        qsort(ref, N, sizeof(float), cmp_f);
        for (int m = 0; m < NQ; m++) {
            double pos = q[m] * (N - 1);
            int lo = (int)floor(pos), hi = lo + 1 < N ? lo + 1 : lo;
            double want = ref[lo] + (ref[hi] - ref[lo]) * (pos - lo);
            ck_assert_msg(fabs(quant[c * NQ + m] - want) <= 1e-6 * (1 + fabs(want)),
                          "unit %d q=%g: %.9g vs %.9g", c, q[m], quant[c * NQ + m], want);
        }
    }
    ck_assert(quant[2 * NQ] == 1.5 && quant[3 * NQ - 1] == 1.5 && sd[2] == 0.0);
    ck_assert(quant[NQ] == 0.0); /* ties at zero: the min of unit 1 */
    double many[NQ + 1];
    for (int m = 0; m <= NQ; m++) many[m] = 0.5;
    ck_assert_int_eq(ns_activation_stats(x, B, C, S, units, 1, many, NQ + 1, scratch, quant,
                                         mean, sd),
                     NS_ERR_ARG);
}
END_TEST

START_TEST(stats_errors)
{
    int units[1] = {2};
    double q[1] = {0.5}, quant[1], mean[1], sd[1];
    float scratch[12];
    ck_assert_int_eq(ns_activation_stats(X, 3, 2, 4, units, 1, q, 1, scratch, quant, mean, sd),
                     NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "units[0] = 2 outside [0, 2)"));
    units[0] = 0;
    q[0] = 1.5;
    ck_assert_int_eq(ns_activation_stats(X, 3, 2, 4, units, 1, q, 1, scratch, quant, mean, sd),
                     NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "q[0] = 1.5"));
    q[0] = 0.5;
    ck_assert_int_eq(ns_activation_stats(X, 0, 2, 4, units, 1, q, 1, scratch, quant, mean, sd),
                     NS_ERR_ARG);
    ck_assert_int_eq(ns_activation_stats(X, 3, 2, 4, units, -1, q, 1, scratch, quant, mean, sd),
                     NS_ERR_ARG);
}
END_TEST

START_TEST(units_choice)
{
    int a[4], b[4], c[4], chosen = 0;
    ck_assert_int_eq(ns_units_choose(9, 3, 64, 4, a, &chosen), NS_OK);
    ck_assert_int_eq(chosen, 4);
    ck_assert_int_eq(ns_units_choose(9, 3, 64, 4, b, NULL), NS_OK);
    ck_assert(memcmp(a, b, sizeof a) == 0); /* reproducible */
    for (int j = 0; j < 4; j++) {
        ck_assert(a[j] >= 0 && a[j] < 64);
        if (j) ck_assert_int_lt(a[j - 1], a[j]); /* ascending, distinct */
    }
    ck_assert_int_eq(ns_units_choose(9, 4, 64, 4, c, NULL), NS_OK);
    ck_assert(memcmp(a, c, sizeof a) != 0); /* another layer, another set */

    /* more units asked than exist (the DLN's 10 features, 16 units): pad with -1 */
    int p[16];
    ck_assert_int_eq(ns_units_choose(1, 0, 10, 16, p, &chosen), NS_OK);
    ck_assert_int_eq(chosen, 10);
    for (int j = 0; j < 10; j++) ck_assert_int_eq(p[j], j);
    for (int j = 10; j < 16; j++) ck_assert_int_eq(p[j], -1);

    /* uniform: each of 10 units picked with probability 3/10 over 4000 seeds
     * (count 1200, sd sqrt(4000 * .3 * .7) = 29) */
    int hits[10] = {0};
    for (uint64_t s = 0; s < 4000; s++) {
        int u[3];
        ns_units_choose(s, 0, 10, 3, u, NULL);
        for (int j = 0; j < 3; j++) hits[u[j]]++;
    }
    for (int i = 0; i < 10; i++) ck_assert_int_lt(abs(hits[i] - 1200), 120);

    ck_assert_int_eq(ns_units_choose(1, 0, 0, 4, p, NULL), NS_ERR_ARG);
    ck_assert_int_eq(ns_units_choose(1, 0, 10, 0, p, NULL), NS_ERR_ARG);
    ck_assert_int_eq(ns_units_choose(1, -1, 10, 2, p, NULL), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "layer id -1"));
}
END_TEST

static Suite *activations_suite(void)
{
    Suite *s = suite_create("probe_activations");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, conv_channels_vs_numpy);
    tcase_add_test(tc, dense_features_vs_numpy);
    tcase_add_test(tc, nan_and_inf_units);
    tcase_add_test(tc, large_sample_matches_full_sort);
    tcase_add_test(tc, stats_errors);
    tcase_add_test(tc, units_choice);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(activations_suite(), argc, argv); }
