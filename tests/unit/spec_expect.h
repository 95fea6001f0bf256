/* spec_expect.h - for the test_spec_*.c files: parse a sweep text as "t.yaml"
 * and assert that it is valid, or that its error lines are exactly `want`. */
#ifndef NS_TEST_SPEC_EXPECT_H
#define NS_TEST_SPEC_EXPECT_H

#include "ns_test.h"
#include "normsweep/rng.h"
#include "normsweep/spec.h"

#include <stdlib.h>
#include <string.h>

static inline ns_spec *spec_ok(const char *text, const ns_spec_options *opt)
{
    ns_spec *s = NULL;
    char *errors = NULL;
    ns_status st = ns_spec_parse_opts(text, "t.yaml", opt, &s, &errors);
    ck_assert_msg(st == NS_OK, "unexpected errors:\n%s", errors ? errors : ns_error_msg());
    ck_assert_ptr_nonnull(s);
    return s;
}

static inline void spec_errors(const char *text, const ns_spec_options *opt, const char *want)
{
    ns_spec *s = (ns_spec *)1;
    char *errors = NULL;
    ck_assert_int_eq(ns_spec_parse_opts(text, "t.yaml", opt, &s, &errors), NS_ERR_ARG);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(errors);
    ck_assert_msg(strcmp(errors, want) == 0, "errors:\n%s\nwanted:\n%s", errors, want);
    free(errors);
}

/* Two specs with the same runs, byte for byte, and the same canonical text. */
static inline void spec_assert_same(const ns_spec *a, const ns_spec *b)
{
    ck_assert_int_eq(a->nruns, b->nruns);
    ck_assert_int_eq(memcmp(a->runs, b->runs, sizeof *a->runs * (size_t)a->nruns), 0);
    char *ca = ns_spec_canonical(a), *cb = ns_spec_canonical(b);
    ck_assert_str_eq(ca, cb);
    free(ca);
    free(cb);
}

/* The k-th uniform of rng.h stream (NS_STREAM_SWEEP, sub) with seed: what a
 * random-search draw must be (docs/sweep-format.md, the streams). */
static inline double spec_draw(uint64_t seed, uint32_t sub, int k)
{
    ns_rng r;
    ns_rng_init(&r, seed, NS_STREAM(NS_STREAM_SWEEP, sub));
    double u = 0;
    for (int i = 0; i <= k; i++) u = ns_rng_uniform_double(&r);
    return u;
}

/* The usual case: no options. */
#define EXPECT_ERRORS(text, want) spec_errors((text), NULL, (want))

#endif
