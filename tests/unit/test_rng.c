/* test_rng.c - Philox known-answer vectors, stream independence, seek/tell,
 * distribution moments. */
#include "ns_test.h"
#include "normsweep/rng.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

START_TEST(philox_known_answers)
{
    /* Known-answer vectors published with Random123 (kat_vectors, philox4x32_10). */
    struct { uint32_t ctr[4], key[2], out[4]; } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t k = 0; k < sizeof kat / sizeof kat[0]; k++) {
        uint32_t out[4];
        ns_philox4x32_10(kat[k].ctr, kat[k].key, out);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(out[i] == kat[k].out[i], "vector %zu word %d: %08x != %08x", k, i,
                          out[i], kat[k].out[i]);
    }
}
END_TEST

START_TEST(same_seed_same_stream)
{
    ns_rng a, b;
    ns_rng_init(&a, 42, NS_STREAM(NS_STREAM_INIT, 3));
    ns_rng_init(&b, 42, NS_STREAM(NS_STREAM_INIT, 3));
    for (int i = 0; i < 1000; i++) ck_assert_uint_eq(ns_rng_u32(&a), ns_rng_u32(&b));
}
END_TEST

START_TEST(streams_differ)
{
    ns_rng a, b, c;
    ns_rng_init(&a, 42, NS_STREAM(NS_STREAM_INIT, 0));
    ns_rng_init(&b, 42, NS_STREAM(NS_STREAM_INIT, 1));
    ns_rng_init(&c, 43, NS_STREAM(NS_STREAM_INIT, 0));
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 100; i++) {
        uint32_t x = ns_rng_u32(&a), y = ns_rng_u32(&b), z = ns_rng_u32(&c);
        same_ab += x == y;
        same_ac += x == z;
    }
    ck_assert_int_lt(same_ab, 3);
    ck_assert_int_lt(same_ac, 3);
}
END_TEST

START_TEST(tell_seek_resumes_exactly)
{
    for (int skip = 0; skip < 9; skip++) {
        ns_rng a;
        ns_rng_init(&a, 7, 99);
        for (int i = 0; i < skip; i++) ns_rng_u32(&a);
        ns_rng_pos p = ns_rng_tell(&a);
        uint32_t expect[10];
        for (int i = 0; i < 10; i++) expect[i] = ns_rng_u32(&a);
        ns_rng b;
        ns_rng_init(&b, 7, 99);
        ns_rng_seek(&b, p);
        for (int i = 0; i < 10; i++) ck_assert_uint_eq(ns_rng_u32(&b), expect[i]);
    }
}
END_TEST

START_TEST(moments)
{
    ns_rng r;
    ns_rng_init(&r, 1, 2);
    const int n = 200000;
    double su = 0, su2 = 0, sn = 0, sn2 = 0;
    float umin = 1, umax = 0;
    for (int i = 0; i < n; i++) {
        float u = ns_rng_uniform(&r);
        if (u < umin) umin = u;
        if (u > umax) umax = u;
        su += u; su2 += (double)u * u;
        float z = ns_rng_normal(&r);
        sn += z; sn2 += (double)z * z;
    }
    ck_assert(umin >= 0.0f && umax < 1.0f);
    /* standard errors: uniform mean 0.29/sqrt(n) ~ 6.5e-4; normal mean 2.2e-3 */
    ck_assert_double_lt(fabs(su / n - 0.5), 0.004);
    ck_assert_double_lt(fabs(su2 / n - 1.0 / 3.0), 0.004);
    ck_assert_double_lt(fabs(sn / n), 0.012);
    ck_assert_double_lt(fabs(sn2 / n - 1.0), 0.02);
}
END_TEST

START_TEST(below_and_shuffle)
{
    ns_rng r;
    ns_rng_init(&r, 5, 6);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t k = ns_rng_below(&r, 7);
        ck_assert_uint_lt(k, 7);
        counts[k]++;
    }
    for (int k = 0; k < 7; k++) ck_assert_int_lt(abs(counts[k] - 10000), 500);
    uint32_t idx[100], seen[100] = {0};
    for (uint32_t i = 0; i < 100; i++) idx[i] = i;
    ns_rng_shuffle(&r, idx, 100);
    int moved = 0;
    for (uint32_t i = 0; i < 100; i++) {
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 100; i++) ck_assert_uint_eq(seen[i], 1);
    ck_assert_int_gt(moved, 80);
}
END_TEST

static Suite *rng_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, philox_known_answers);
    tcase_add_test(tc, same_seed_same_stream);
    tcase_add_test(tc, streams_differ);
    tcase_add_test(tc, tell_seek_resumes_exactly);
    tcase_add_test(tc, moments);
    tcase_add_test(tc, below_and_shuffle);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(rng_suite(), argc, argv); }
