/* test_blas.c - the kernel normsweep runs is the best the CPU supports (or the
 * user's choice), with one thread unless asked otherwise; error helpers. */
#include "ns_test.h"
#include "normsweep/blas.h"
#include "normsweep/error.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

START_TEST(kernel_is_selected)
{
    const char *best = ns_blas_best_coretype();
    const char *user = getenv("OPENBLAS_CORETYPE");
    const char *origin = ns_blas_kernel_origin();
    if (strcmp(origin, "user") == 0) {
        ck_assert_ptr_nonnull(user);
        /* the user's kernel is the one running (not replaced by `best`) */
        ck_assert_msg(strcasecmp(ns_blas_kernel(), user) == 0, "running %s, OPENBLAS_CORETYPE=%s",
                      ns_blas_kernel(), user);
    } else if (best) {
        /* Either normsweep selected `best`, or the library already ran a kernel
         * of the same ISA class (e.g. Cooperlake on an AVX-512 CPU). */
        const char *k = ns_blas_kernel();
        int ok = strcasecmp(k, best) == 0 || strcasecmp(k, "Cooperlake") == 0 ||
                 strcasecmp(k, "SapphireRapids") == 0 ||
                 (strcasecmp(best, "Haswell") == 0 && strcasecmp(k, "Zen") == 0);
        ck_assert_msg(ok, "running %s (%s), expected %s or equivalent", k, origin, best);
        ck_assert_msg(strcasecmp(k, "Prescott") != 0, "slow Prescott kernel in use");
    }
}
END_TEST

START_TEST(one_thread_by_default)
{
    const char *t = getenv("NORMSWEEP_BLAS_THREADS");
    if (!t) ck_assert_int_eq(ns_blas_threads(), 1);
}
END_TEST

START_TEST(sgemm_is_right)
{
    /* 2x3 * 3x2, row-major */
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12}, c[4] = {0};
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
    ck_assert_float_eq(c[0], 58);
    ck_assert_float_eq(c[1], 64);
    ck_assert_float_eq(c[2], 139);
    ck_assert_float_eq(c[3], 154);
}
END_TEST

static ns_status fails_with_io(void)
{
    NS_CHECK(0, NS_ERR_IO, "%s: cannot open", "x.bin");
    return NS_OK;
}

static ns_status propagates(void)
{
    NS_TRY(fails_with_io());
    return NS_OK;
}

START_TEST(error_messages)
{
    ns_error_clear();
    ck_assert_int_eq(propagates(), NS_ERR_IO);
    ck_assert_str_eq(ns_error_msg(), "x.bin: cannot open");
    ck_assert_int_eq(ns_error_code(), NS_ERR_IO);
    ck_assert_str_eq(ns_status_name(NS_ERR_IO), "NS_ERR_IO");
}
END_TEST

static Suite *blas_suite(void)
{
    Suite *s = suite_create("blas");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, kernel_is_selected);
    tcase_add_test(tc, one_thread_by_default);
    tcase_add_test(tc, sgemm_is_right);
    tcase_add_test(tc, error_messages);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(blas_suite(), argc, argv); }
