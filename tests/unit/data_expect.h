/* data_expect.h - shared by the data module's Check suites: load a spec that
 * must fail and check the status and the message. Header-only (static) so
 * that test registration by file name stays untouched. */
#ifndef NS_DATA_EXPECT_H
#define NS_DATA_EXPECT_H

#include "ns_test.h"
#include "normsweep/data.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ns_dataset_load(spec) must return code, leave the output NULL, and its
 * message must contain each of the NULL-terminated substrings that follow.
 * NS_TEST_VERBOSE=1 prints the messages (to review their wording). */
static void expect_fail(const char *spec, ns_status code, ...)
{
    ns_dataset *d = (ns_dataset *)0x1;
    ns_status st = ns_dataset_load(spec, 0, &d);
    ck_assert_msg(st == code, "%s: got %s (%s), want %s", spec, ns_status_name(st), ns_error_msg(),
                  ns_status_name(code));
    ck_assert_ptr_null(d);
    if (getenv("NS_TEST_VERBOSE")) fprintf(stderr, "  [%s] %s\n", ns_status_name(st), ns_error_msg());
    va_list ap;
    va_start(ap, code);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        ck_assert_msg(strstr(ns_error_msg(), s), "message '%s' lacks '%s'", ns_error_msg(), s);
    va_end(ap);
}

#endif
