/* test_data_synth.c - spec strings (canonical spellings, defaults, errors),
 * the synthetic DLN and classification sets (closed-form checks against the
 * documented generation), and the per-rank cache. */
#include "ns_test.h"
#include "data/data_internal.h"

#include "normsweep/rng.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void canon_is(const char *spec, const char *want)
{
    ns_dataset_info info;
    ck_assert_msg(ns_dataset_info_get(spec, &info) == NS_OK, "%s: %s", spec, ns_error_msg());
    ck_assert_str_eq(info.canonical, want);
}

static void spec_fails(const char *spec, const char *substr)
{
    ns_dataset_info info;
    ns_status st = ns_dataset_info_get(spec, &info);
    ck_assert_msg(st == NS_ERR_ARG, "%s: got %s (%s)", spec, ns_status_name(st), ns_error_msg());
    ck_assert_msg(strstr(ns_error_msg(), substr), "'%s': message '%s' lacks '%s'", spec,
                  ns_error_msg(), substr);
}

START_TEST(spec_canonical_and_errors)
{
    canon_is("synthetic-dln", "synthetic-dln:n=1000,d=10,test=0");
    canon_is("synthetic-dln:d=10,n=1000", "synthetic-dln:n=1000,d=10,test=0");
    canon_is("synthetic-dln:n=50,test=20,d=3", "synthetic-dln:n=50,d=3,test=20");
    canon_is("synthetic-cls", "synthetic-cls:n=512,test=128,c=3,h=8,w=8,classes=4,noise=1");
    canon_is("synthetic-cls:noise=0.25,classes=3,c=1",
             "synthetic-cls:n=512,test=128,c=1,h=8,w=8,classes=3,noise=0.25");
    spec_fails("", "empty");
    spec_fails("imagenet:/data", "unknown data set 'imagenet'");
    spec_fails("synthetic-dln:n=0", "n=0 is out of range");
    spec_fails("synthetic-dln:n=12x", "n=12x is not an integer");
    spec_fails("synthetic-dln:n=1e3", "not an integer");
    spec_fails("synthetic-dln:m=3", "unknown key 'm' (keys: n, d, test)");
    spec_fails("synthetic-dln:n=3,n=4", "key 'n' given twice");
    spec_fails("synthetic-dln:n", "not of the form key=value");
    spec_fails("synthetic-cls:noise=-1", "noise=-1 is out of range");
    spec_fails("synthetic-cls:classes=1", "classes=1 is out of range");
    spec_fails("synthetic-cls:n=100000000,c=64,h=64,w=64", "exceed the limit");
    spec_fails("kmnist", "kmnist needs a directory");
    /* pad is spelled only when set, after the other keys */
    canon_is("synthetic-cls:pad=2,c=1", "synthetic-cls:n=512,test=128,c=1,h=8,w=8,classes=4,"
                                        "noise=1,pad=2");
    canon_is("synthetic-cls:pad=0", "synthetic-cls:n=512,test=128,c=3,h=8,w=8,classes=4,noise=1");
    spec_fails("synthetic-cls:pad=300", "pad=300 is out of range");
}
END_TEST

START_TEST(dln_is_Ax)
{
    ns_dataset *d = NULL;
    ck_assert_int_eq(ns_dataset_load("synthetic-dln:n=300,d=4,test=7", 11, &d), NS_OK);
    ck_assert_int_eq(d->info.shape.c, 4);
    ck_assert_int_eq(d->info.shape.h, 1);
    ck_assert_int_eq(d->info.shape.w, 1);
    ck_assert_int_eq(d->info.nclasses, 0);
    ck_assert_int_eq(d->info.target_dim, 4);
    ck_assert_int_eq(d->info.seeded, 1);
    ck_assert_uint_eq(d->data_seed, 11);
    ck_assert_ptr_null(d->y_train);
    ck_assert_ptr_nonnull(d->t_test);
    ck_assert_int_eq(d->standardized, 0);
    for (int c = 0; c < 4; c++) {
        ck_assert_float_eq(d->mean[c], 0.0f);
        ck_assert_float_eq(d->std[c], 1.0f);
    }
    /* the documented generation: A from stream SYNTH/0, x from SYNTH/1 */
    float a[16], x[300 * 4];
    ns_rng r;
    ns_rng_init(&r, 11, NS_STREAM(NS_STREAM_SYNTH, 0));
    for (int i = 0; i < 16; i++) a[i] = ns_rng_normal(&r);
    ns_rng_init(&r, 11, NS_STREAM(NS_STREAM_SYNTH, 1));
    for (int i = 0; i < 1200; i++) x[i] = ns_rng_normal(&r);
    ck_assert_mem_eq(x, d->x_train, sizeof x);
    for (int i = 0; i < 300; i++)
        for (int k = 0; k < 4; k++) {
            double t = 0;
            for (int j = 0; j < 4; j++) t += (double)a[k * 4 + j] * x[i * 4 + j];
            ck_assert_float_eq(d->t_train[i * 4 + k], (float)t);
        }
    /* test inputs come from their own stream, targets with the same A */
    ns_rng_init(&r, 11, NS_STREAM(NS_STREAM_SYNTH, 2));
    float x0 = ns_rng_normal(&r);
    ck_assert_float_eq(d->x_test[0], x0);
    double t00 = 0;
    for (int j = 0; j < 4; j++) t00 += (double)a[j] * d->x_test[j];
    ck_assert_float_eq(d->t_test[0], (float)t00);
    /* another seed: another data set */
    ns_dataset *e = NULL;
    ck_assert_int_eq(ns_dataset_load("synthetic-dln:n=300,d=4,test=7", 12, &e), NS_OK);
    ck_assert_float_ne(e->x_train[0], d->x_train[0]);
    ns_dataset_free(e);
    ns_dataset_free(d);
}
END_TEST

START_TEST(dln_moments)
{
    ns_dataset *d = NULL;
    ck_assert_int_eq(ns_dataset_load("synthetic-dln", 3, &d), NS_OK);
    ck_assert_uint_eq(d->info.n_train, 1000);
    ck_assert_uint_eq(d->info.n_test, 0);
    /* 10000 N(0,1) values: mean within 4 standard errors (0.04), var within 0.06 */
    double s = 0, ss = 0;
    for (int i = 0; i < 10000; i++) {
        s += d->x_train[i];
        ss += (double)d->x_train[i] * d->x_train[i];
    }
    ck_assert_double_lt(fabs(s / 10000), 0.04);
    ck_assert_double_lt(fabs(ss / 10000 - 1.0), 0.06);
    ns_dataset_free(d);
}
END_TEST

START_TEST(cls_balanced_standardized_learnable)
{
    ns_dataset *d = NULL;
    ck_assert_int_eq(ns_dataset_load("synthetic-cls:n=400,test=200,c=2,h=3,w=3,classes=4", 5, &d),
                     NS_OK);
    ck_assert_int_eq(d->info.nclasses, 4);
    ck_assert_int_eq(d->standardized, 1);
    ck_assert_ptr_null(d->t_train);
    int per = 18;
    int count[4] = {0};
    for (int i = 0; i < 400; i++) count[d->y_train[i]]++;
    for (int k = 0; k < 4; k++) ck_assert_int_eq(count[k], 100);
    /* train split standardized: per channel mean 0, std 1 */
    for (int c = 0; c < 2; c++) {
        double s = 0, ss = 0;
        for (int i = 0; i < 400; i++)
            for (int j = 0; j < 9; j++) {
                double v = d->x_train[i * per + c * 9 + j];
                s += v;
                ss += v * v;
            }
        ck_assert_double_lt(fabs(s / 3600), 1e-6);
        ck_assert_double_lt(fabs(ss / 3600 - 1.0), 1e-5);
        ck_assert_float_gt(d->std[c], 0.5f); /* prototype spread + noise: std ~ sqrt(2) */
    }
    /* nearest class mean (from train) classifies the test split: prototypes
     * are ~sqrt(2*18) = 6 apart, noise 1 per coordinate, so errors are rare */
    double mu[4][18] = {{0}};
    for (int i = 0; i < 400; i++)
        for (int j = 0; j < per; j++) mu[d->y_train[i]][j] += d->x_train[i * per + j] / 100.0;
    int correct = 0;
    for (int i = 0; i < 200; i++) {
        int best = -1;
        double bd = 1e300;
        for (int k = 0; k < 4; k++) {
            double dist = 0;
            for (int j = 0; j < per; j++) {
                double v = d->x_test[i * per + j] - mu[k][j];
                dist += v * v;
            }
            if (dist < bd) bd = dist, best = k;
        }
        correct += best == d->y_test[i];
    }
    ck_assert_int_ge(correct, 190);
    ns_dataset_free(d);
}
END_TEST

/* pad=1 on a 2-channel set: each channel plane is the unpadded plane inside a
 * 1-pixel border of exact zeros, on both splits. */
START_TEST(cls_padded_planes)
{
    ns_dataset *u = NULL, *p = NULL;
    ck_assert_int_eq(ns_dataset_load("synthetic-cls:n=20,test=6,c=2,h=3,w=4", 7, &u), NS_OK);
    ck_assert_int_eq(ns_dataset_load("synthetic-cls:n=20,test=6,c=2,h=3,w=4,pad=1", 7, &p), NS_OK);
    ck_assert_int_eq(p->info.shape.h, 5);
    ck_assert_int_eq(p->info.shape.w, 6);
    for (int split = 0; split < 2; split++) {
        int n = split ? 6 : 20;
        const float *xp = split ? p->x_test : p->x_train, *xu = split ? u->x_test : u->x_train;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 2; c++)
                for (int y = 0; y < 5; y++)
                    for (int x = 0; x < 6; x++) {
                        float got = xp[((i * 2 + c) * 5 + y) * 6 + x];
                        int in = y >= 1 && y <= 3 && x >= 1 && x <= 4;
                        float want = in ? xu[((i * 2 + c) * 3 + y - 1) * 4 + x - 1] : 0.0f;
                        ck_assert_msg(got == want, "split %d i %d c %d (%d,%d): %g != %g", split,
                                      i, c, y, x, got, want);
                    }
    }
    ns_dataset_free(u);
    ns_dataset_free(p);
}
END_TEST

START_TEST(cache_shares_one_copy)
{
    ns_dataset_cache_clear();
    const ns_dataset *a = NULL, *b = NULL, *c = NULL, *e = NULL;
    ck_assert_int_eq(ns_dataset_cache_get("synthetic-dln", 1, &a), NS_OK);
    ck_assert_int_eq(ns_dataset_cache_get("synthetic-dln:d=10,n=1000", 1, &b), NS_OK);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(ns_dataset_cache_loads(), 1);
    ck_assert_int_eq(ns_dataset_cache_get("synthetic-dln", 2, &c), NS_OK);
    ck_assert_ptr_ne(a, c);
    ck_assert_int_eq(ns_dataset_cache_loads(), 2);
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(ns_dataset_cache_get("synthetic-dln:n=1000", 2, &e), NS_OK);
        ck_assert_ptr_eq(e, c);
    }
    ck_assert_int_eq(ns_dataset_cache_loads(), 2);
    /* a failing load leaves nothing behind */
    ck_assert_int_eq(ns_dataset_cache_get("synthetic-dln:n=-1", 1, &e), NS_ERR_ARG);
    ck_assert_ptr_null(e);
    ck_assert_int_eq(ns_dataset_cache_loads(), 2);
    ns_dataset_cache_clear();
    ck_assert_int_eq(ns_dataset_cache_loads(), 0);
    ck_assert_int_eq(ns_dataset_cache_get("synthetic-dln", 1, &a), NS_OK);
    ck_assert_int_eq(ns_dataset_cache_loads(), 1);
    ns_dataset_cache_clear();
}
END_TEST

START_TEST(memory_accounting)
{
    ns_dataset *d = NULL;
    ck_assert_int_eq(ns_dataset_load("synthetic-cls:n=10,test=5,c=2,h=3,w=4", 0, &d), NS_OK);
    /* 15 samples x 24 floats + 15 labels + 2 x 2 stats */
    ck_assert_uint_eq(ns_dataset_memory(d), 15 * 24 * 4 + 15 * 4 + 4 * 4);
    ns_dataset_free(d);
    ck_assert_int_eq(ns_dataset_load("synthetic-dln:n=10,d=3,test=2", 0, &d), NS_OK);
    ck_assert_uint_eq(ns_dataset_memory(d), 12 * 3 * 4 + 12 * 3 * 4 + 2 * 3 * 4);
    ns_dataset_free(d);
}
END_TEST

static Suite *synth_suite(void)
{
    Suite *s = suite_create("data_synth");
    TCase *tc = tcase_create("synth");
    tcase_add_test(tc, spec_canonical_and_errors);
    tcase_add_test(tc, dln_is_Ax);
    tcase_add_test(tc, dln_moments);
    tcase_add_test(tc, cls_balanced_standardized_learnable);
    tcase_add_test(tc, cls_padded_planes);
    tcase_add_test(tc, cache_shares_one_copy);
    tcase_add_test(tc, memory_accounting);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(synth_suite(), argc, argv); }
