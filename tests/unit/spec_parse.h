/* spec_parse.h - parsing a sweep file from text in the spec tests
 * (test_spec_keys.c, test_spec_optim.c), as "t.yaml". */
#ifndef NS_TEST_SPEC_PARSE_H
#define NS_TEST_SPEC_PARSE_H

#include "ns_test.h"
#include "normsweep/spec.h"

#include <stdlib.h>
#include <string.h>

/* The spec of text, which must parse without errors. */
static inline ns_spec *parse_ok(const char *text)
{
    ns_spec *s = NULL;
    char *errors = NULL;
    ns_status st = ns_spec_parse(text, "t.yaml", &s, &errors);
    ck_assert_msg(st == NS_OK, "unexpected errors:\n%s", errors ? errors : ns_error_msg());
    return s;
}

/* text must fail with exactly the message lines want. */
static inline void expect_errors(const char *text, const char *want)
{
    ns_spec *s = NULL;
    char *errors = NULL;
    ck_assert_int_eq(ns_spec_parse(text, "t.yaml", &s, &errors), NS_ERR_ARG);
    ck_assert_ptr_nonnull(errors);
    ck_assert_msg(strcmp(errors, want) == 0, "errors:\n%s\nwanted:\n%s", errors, want);
    free(errors);
}

#endif
