/* test_norm_parse.c - names, defaults, the option parser and create's
 * argument checks: every error path names the offending text. */
#include "test_norm_util.h"

START_TEST(names_and_defaults)
{
    const char *names[NS_NORM_COUNT] = {"none", "batch", "noisy_batch", "l1",
                                        "l2",   "linf",  "layer",       "group"};
    for (int k = 0; k < NS_NORM_COUNT; k++) {
        ck_assert_str_eq(ns_norm_name((ns_norm_kind)k), names[k]);
        ns_norm_config c;
        ck_assert_int_eq(ns_norm_parse(names[k], &c), NS_OK);
        ck_assert_int_eq(c.kind, k);
    }
    ck_assert_str_eq(ns_norm_name(NS_NORM_COUNT), "?");
    ns_norm_config d = ns_norm_defaults(NS_NORM_NOISY_BATCH);
    ck_assert(d.eps == 1e-5f && d.momentum == 0.1f && d.groups == 32);
    ck_assert(d.n_mu == 0.5f && d.n_sigma == 1.25f && d.r_mu == 0.1f && d.r_sigma == 0.1f);
    ck_assert_int_eq(ns_norm_defaults(NS_NORM_LAYER).groups, 1);
}
END_TEST

START_TEST(options)
{
    ns_norm_config c;
    ck_assert_int_eq(ns_norm_parse("batch:momentum=0.01,eps=1e-3", &c), NS_OK);
    ck_assert_int_eq(c.kind, NS_NORM_BATCH);
    ck_assert(c.momentum == 0.01f && c.eps == 1e-3f);
    ck_assert_int_eq(ns_norm_parse("group:groups=8", &c), NS_OK);
    ck_assert_int_eq(c.groups, 8);
    ck_assert_int_eq(ns_norm_parse("noisy_batch:n_mu=1,n_sigma=2,r_mu=0.2,r_sigma=0", &c), NS_OK);
    ck_assert(c.n_mu == 1.0f && c.n_sigma == 2.0f && c.r_mu == 0.2f && c.r_sigma == 0.0f);
    ck_assert(c.eps == 1e-5f); /* untouched options keep defaults */
    ck_assert_int_eq(ns_norm_parse("l1:eps=0", &c), NS_OK);
    ck_assert(c.eps == 0.0f);
}
END_TEST

static void bad(const char *text, const char *needle)
{
    ns_norm_config c = ns_norm_defaults(NS_NORM_BATCH), before = c;
    ns_error_clear();
    ck_assert_msg(ns_norm_parse(text, &c) == NS_ERR_ARG, "'%s' accepted", text);
    ck_assert_msg(strstr(ns_error_msg(), needle) != NULL, "'%s': message '%s' lacks '%s'", text,
                  ns_error_msg(), needle);
    ck_assert(memcmp(&c, &before, sizeof c) == 0); /* out untouched on error */
}

START_TEST(errors)
{
    bad("batx", "unknown normalization 'batx'");
    bad("", "unknown normalization ''");
    bad("Batch", "'Batch'");
    bad("batch:", "empty option list");
    bad("batch:groups=4", "unknown option 'groups' for 'batch' (allowed: eps, momentum)");
    bad("layer:momentum=0.1", "unknown option 'momentum' for 'layer'");
    bad("none:eps=1", "allowed: none");
    bad("batch:foo=1", "unknown option 'foo'");
    bad("batch:eps", "'eps' is not of the form name=value");
    bad("batch:=3", "is not of the form");
    bad("batch:eps=", "'eps' needs a value");
    bad("batch:eps=abc", "'eps' expects a number, got 'abc'");
    bad("batch:eps=1e-3x", "got '1e-3x'");
    bad("batch:eps=nan", "expects a number");
    bad("batch:eps=1e999", "expects a number");
    bad("batch:eps=-1", "eps must be a finite number >= 0");
    bad("batch:momentum=1.5", "momentum must be in [0, 1]");
    bad("batch:eps=1,eps=2", "'eps' given twice");
    bad("batch:eps=1,", "trailing ','");
    bad("group:groups=0", "'groups' expects a positive integer, got '0'");
    bad("group:groups=2.5", "got '2.5'");
    bad("noisy_batch:n_sigma=0.5", "n_sigma must be >= 1");
    bad("noisy_batch:r_sigma=-0.1", "r_sigma must be >= 0");
    bad("noisy_batch:n_mu=-1", "n_mu must be >= 0");
    bad("noisy_batch:r_mu=-1", "r_mu must be >= 0");
    ck_assert_int_eq(ns_norm_parse(NULL, NULL), NS_ERR_ARG);
}
END_TEST

START_TEST(create_errors)
{
    ns_layer l;
    ns_norm_config c = ns_norm_defaults(NS_NORM_NONE);
    ck_assert_int_eq(ns_norm_create(&l, &c, (ns_shape){4, 1, 1}, 8), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "'none'"));
    c = ns_norm_defaults(NS_NORM_BATCH);
    ck_assert_int_eq(ns_norm_create(&l, &c, (ns_shape){0, 1, 1}, 8), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "{0,1,1}"));
    ck_assert_int_eq(ns_norm_create(&l, &c, (ns_shape){4, 1, 1}, 0), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "max_batch 0"));
    c.momentum = -0.5f;
    ck_assert_int_eq(ns_norm_create(&l, &c, (ns_shape){4, 1, 1}, 8), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "momentum"));
    c = ns_norm_defaults(NS_NORM_BATCH);
    c.kind = (ns_norm_kind)99;
    ck_assert_int_eq(ns_norm_create(&l, &c, (ns_shape){4, 1, 1}, 8), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "kind 99"));
    ck_assert_int_eq(ns_norm_create(NULL, &c, (ns_shape){4, 1, 1}, 8), NS_ERR_ARG);
    /* every kind constructs and destroys cleanly (ASan checks the frees) */
    for (int k = 1; k < NS_NORM_COUNT; k++) {
        c = ns_norm_defaults((ns_norm_kind)k);
        c.groups = 2;
        ck_assert_int_eq(ns_norm_create(&l, &c, (ns_shape){4, 3, 3}, 5), NS_OK);
        ck_assert_str_eq(l.ops->kind, ns_norm_name((ns_norm_kind)k));
        ck_assert_uint_eq(l.nparams, 8);
        ck_assert_uint_eq(l.nstate, k == NS_NORM_LAYER || k == NS_NORM_GROUP ? 0 : 8);
        ck_assert_int_eq(l.is_norm, 1);
        l.ops->destroy(&l);
        ck_assert_ptr_null(l.priv);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("norm_parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, names_and_defaults);
    tcase_add_test(tc, options);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, create_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(suite(), argc, argv); }
