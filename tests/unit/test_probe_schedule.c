/* test_probe_schedule.c - probe schedules: every k, explicit lists, log-spaced
 * (values worked by hand), index <-> step round trips, errors.
 * ctest-labels: probe */
#include "ns_test.h"

#include "normsweep/probe.h"

#include <string.h>

/* index(step(i)) == i for every probe, -1 for every other step */
static void check_round_trip(const ns_schedule *s)
{
    int seen = 0;
    for (long t = -2; t < s->steps + 2; t++) {
        int i = ns_schedule_index(s, t);
        if (i < 0) continue;
        ck_assert_int_eq(i, seen);
        ck_assert_int_eq(ns_schedule_step(s, i), t);
        seen++;
    }
    ck_assert_int_eq(seen, s->count);
}

START_TEST(every)
{
    ns_schedule s;
    ck_assert_int_eq(ns_schedule_every(&s, 100, 20), NS_OK);
    ck_assert_int_eq(s.count, 5); /* 0 20 40 60 80 */
    ck_assert_int_eq(ns_schedule_index(&s, 40), 2);
    ck_assert_int_eq(ns_schedule_index(&s, 41), -1);
    ck_assert_int_eq(ns_schedule_index(&s, 100), -1); /* past the end */
    ck_assert_int_eq(ns_schedule_step(&s, 4), 80);
    check_round_trip(&s);
    ns_schedule_free(&s);
    ck_assert_int_eq(ns_schedule_every(&s, 101, 20), NS_OK);
    ck_assert_int_eq(s.count, 6); /* ... 100 */
    ck_assert_int_eq(ns_schedule_index(&s, 100), 5);
    check_round_trip(&s);
    ck_assert_int_eq(ns_schedule_every(&s, 7, 1), NS_OK);
    ck_assert_int_eq(s.count, 7);
    ck_assert_int_eq(ns_schedule_every(&s, 100, 0), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "every = 0"));
    ck_assert_int_eq(ns_schedule_every(&s, 0, 5), NS_ERR_ARG);
}
END_TEST

START_TEST(list)
{
    ns_schedule s;
    long steps[4] = {50, 3, 99, 0};
    ck_assert_int_eq(ns_schedule_list(&s, 100, steps, 4), NS_OK);
    ck_assert_int_eq(s.count, 4);
    long want[4] = {0, 3, 50, 99};
    for (int i = 0; i < 4; i++) ck_assert_int_eq(ns_schedule_step(&s, i), want[i]);
    ck_assert_int_eq(ns_schedule_index(&s, 50), 2);
    ck_assert_int_eq(ns_schedule_index(&s, 51), -1);
    check_round_trip(&s);
    ns_schedule_free(&s);
    ns_schedule_free(&s); /* twice is harmless */

    long dup[3] = {5, 9, 5}, out[2] = {5, 100}, neg[1] = {-1};
    ck_assert_int_eq(ns_schedule_list(&s, 100, dup, 3), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "step 5 listed twice"));
    ck_assert_int_eq(ns_schedule_list(&s, 100, out, 2), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "list[1] = 100 outside [0, 100)"));
    ck_assert_int_eq(ns_schedule_list(&s, 100, neg, 1), NS_ERR_ARG);
    ck_assert_int_eq(ns_schedule_list(&s, 100, neg, 0), NS_ERR_ARG);
}
END_TEST

START_TEST(log_spaced)
{
    ns_schedule s;
    /* round(1000^(i/7)) - 1 */
    ck_assert_int_eq(ns_schedule_log(&s, 1000, 8), NS_OK);
    long want[8] = {0, 2, 6, 18, 51, 138, 372, 999};
    ck_assert_int_eq(s.count, 8);
    for (int i = 0; i < 8; i++) ck_assert_int_eq(ns_schedule_step(&s, i), want[i]);
    check_round_trip(&s);
    ns_schedule_free(&s);

    /* crowded low end: 10^(i/7) rounds to 1,1,2,3,4,5,7,10; pushed to stay distinct */
    ck_assert_int_eq(ns_schedule_log(&s, 10, 8), NS_OK);
    long want10[8] = {0, 1, 2, 3, 4, 5, 6, 9};
    for (int i = 0; i < 8; i++) ck_assert_int_eq(ns_schedule_step(&s, i), want10[i]);
    check_round_trip(&s);
    ns_schedule_free(&s);

    /* as many probes as steps: every step */
    ck_assert_int_eq(ns_schedule_log(&s, 5, 5), NS_OK);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(ns_schedule_step(&s, i), i);
    ns_schedule_free(&s);
    ck_assert_int_eq(ns_schedule_log(&s, 5, 1), NS_OK);
    ck_assert_int_eq(ns_schedule_step(&s, 0), 0);
    ck_assert_int_eq(ns_schedule_index(&s, 4), -1);
    ns_schedule_free(&s);

    /* strictly increasing for many shapes */
    for (long steps = 2; steps < 300; steps += 7)
        for (int c = 2; c <= steps && c < 40; c += 3) {
            ck_assert_int_eq(ns_schedule_log(&s, steps, c), NS_OK);
            ck_assert_int_eq(ns_schedule_step(&s, 0), 0);
            ck_assert_int_eq(ns_schedule_step(&s, c - 1), steps - 1);
            for (int i = 1; i < c; i++)
                ck_assert_int_lt(ns_schedule_step(&s, i - 1), ns_schedule_step(&s, i));
            ns_schedule_free(&s);
        }

    ck_assert_int_eq(ns_schedule_log(&s, 5, 6), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "count <= steps"));
    ck_assert_int_eq(ns_schedule_log(&s, 5, 0), NS_ERR_ARG);
}
END_TEST

static Suite *schedule_suite(void)
{
    Suite *s = suite_create("probe_schedule");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, every);
    tcase_add_test(tc, list);
    tcase_add_test(tc, log_spaced);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(schedule_suite(), argc, argv); }
