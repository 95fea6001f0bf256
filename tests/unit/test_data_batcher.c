/* test_data_batcher.c - batches as a pure function of (seed, step, batch,
 * augmentation): epoch coverage, the documented permutation rule, resume
 * without state, seed dependence, labels/targets following their inputs,
 * crop/flip semantics and rates, argument errors. Data sets are built by hand
 * so every sample identifies itself. */
#include "ns_test.h"
#include "normsweep/data.h"
#include "normsweep/rng.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* n samples of shape (c,h,w); value of (sample i, element j) = i*1000 + j. */
static ns_dataset *fake(size_t n, int c, int h, int w, int nclasses)
{
    ns_dataset *d = calloc(1, sizeof *d);
    size_t per = (size_t)c * h * w;
    snprintf(d->info.canonical, sizeof d->info.canonical, "fake");
    d->info.shape = (ns_shape){c, h, w};
    d->info.n_train = n;
    d->info.nclasses = nclasses;
    d->info.target_dim = nclasses ? 0 : 2;
    d->x_train = malloc(n * per * sizeof(float));
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < per; j++) d->x_train[i * per + j] = (float)(i * 1000 + j);
    if (nclasses) {
        d->y_train = malloc(n * sizeof(int32_t));
        for (size_t i = 0; i < n; i++) d->y_train[i] = (int32_t)(i % nclasses);
    } else {
        d->t_train = malloc(n * 2 * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            d->t_train[2 * i] = (float)i;
            d->t_train[2 * i + 1] = -(float)i;
        }
    }
    d->mean = calloc((size_t)c, sizeof(float));
    d->std = malloc((size_t)c * sizeof(float));
    for (int k = 0; k < c; k++) {
        d->mean[k] = 0.5f;
        d->std[k] = 0.25f;
    }
    d->standardized = 1;
    return d;
}

static int sample_id(const float *x) { return (int)(x[0] / 1000.0f + 0.5f); }

START_TEST(epochs_are_the_documented_permutations)
{
    ns_dataset *d = fake(10, 1, 1, 1, 3);
    ns_batcher *b = NULL;
    ck_assert_int_eq(ns_batcher_create(d, 77, 3, NULL, &b), NS_OK);
    int ids[30];
    float x[3];
    int32_t y[3];
    for (int t = 0; t < 10; t++) {
        ns_batcher_fill(b, t, x, y, NULL);
        for (int i = 0; i < 3; i++) {
            ids[t * 3 + i] = sample_id(x + i);
            ck_assert_int_eq(y[i], ids[t * 3 + i] % 3); /* labels follow their samples */
        }
    }
    for (int e = 0; e < 3; e++) {
        uint32_t perm[10];
        for (uint32_t i = 0; i < 10; i++) perm[i] = i;
        ns_rng r;
        ns_rng_init(&r, 77, NS_STREAM(NS_STREAM_DATA, e));
        ns_rng_shuffle(&r, perm, 10);
        for (int i = 0; i < 10; i++) ck_assert_int_eq(ids[e * 10 + i], (int)perm[i]);
    }
    ns_batcher_free(b);
    ns_dataset_free(d);
}
END_TEST

START_TEST(pure_function_of_step)
{
    ns_dataset *d = fake(1000, 2, 2, 2, 10);
    ns_augment aug = {1, 1};
    ns_batcher *a = NULL, *b = NULL, *c = NULL;
    ck_assert_int_eq(ns_batcher_create(d, 5, 64, &aug, &a), NS_OK);
    ck_assert_int_eq(ns_batcher_create(d, 5, 64, &aug, &b), NS_OK);
    ck_assert_int_eq(ns_batcher_create(d, 6, 64, &aug, &c), NS_OK);
    float xa[64 * 8], xb[64 * 8], xc[64 * 8];
    int32_t ya[64], yb[64];
    /* a walks steps 0..40; b jumps to 40 (a resumed run), then back to 3 */
    for (int t = 0; t <= 40; t++) ns_batcher_fill(a, t, xa, ya, NULL);
    ns_batcher_fill(b, 40, xb, yb, NULL);
    ck_assert_mem_eq(xa, xb, sizeof xa);
    ck_assert_mem_eq(ya, yb, sizeof ya);
    ns_batcher_fill(a, 3, xa, ya, NULL);
    ns_batcher_fill(b, 3, xb, yb, NULL);
    ck_assert_mem_eq(xa, xb, sizeof xa);
    /* another run seed: another order */
    ns_batcher_fill(c, 3, xc, NULL, NULL);
    int same = 0;
    for (int i = 0; i < 64; i++) same += ns_batcher_index(a, 3 * 64 + i) == ns_batcher_index(c, 3 * 64 + i);
    ck_assert_int_lt(same, 5); /* 64 draws from 1000: ~0.06 expected coincidences */
    ck_assert(memcmp(xa, xc, sizeof xa) != 0);
    ns_batcher_free(a);
    ns_batcher_free(b);
    ns_batcher_free(c);
    ns_dataset_free(d);
}
END_TEST

START_TEST(batch_larger_than_set_and_full_batch)
{
    ns_dataset *d = fake(7, 1, 1, 1, 0);
    ns_batcher *b = NULL;
    ck_assert_int_eq(ns_batcher_create(d, 1, 7, NULL, &b), NS_OK);
    float x[7], t[14];
    for (int step = 0; step < 5; step++) {
        ns_batcher_fill(b, step, x, NULL, t);
        int seen[7] = {0};
        for (int i = 0; i < 7; i++) {
            int id = sample_id(x + i);
            seen[id]++;
            ck_assert_float_eq(t[2 * i], (float)id); /* targets follow their samples */
            ck_assert_float_eq(t[2 * i + 1], -(float)id);
        }
        for (int i = 0; i < 7; i++) ck_assert_int_eq(seen[i], 1); /* full batch = the whole set */
    }
    ns_batcher_free(b);
    /* batch 10 > N = 7: step 0 holds all of epoch 0 and 3 of epoch 1 */
    ck_assert_int_eq(ns_batcher_create(d, 1, 10, NULL, &b), NS_OK);
    float x10[10];
    ns_batcher_fill(b, 0, x10, NULL, NULL);
    for (int i = 0; i < 10; i++) ck_assert_uint_eq((uint32_t)sample_id(x10 + i), ns_batcher_index(b, i));
    int seen[7] = {0};
    for (int i = 0; i < 7; i++) seen[sample_id(x10 + i)]++;
    for (int i = 0; i < 7; i++) ck_assert_int_eq(seen[i], 1);
    ns_batcher_free(b);
    ns_dataset_free(d);
}
END_TEST

/* Which (dy, dx, flip) produced out from sample src (shape 1 x h x w, pad p)? */
static int match_aug(const float *src, const float *out, int h, int w, int p, float pad, int *dy,
                     int *dx, int *fl)
{
    for (int f = 0; f < 2; f++)
        for (int a = -p; a <= p; a++)
            for (int bb = -p; bb <= p; bb++) {
                int ok = 1;
                for (int y = 0; y < h && ok; y++)
                    for (int x = 0; x < w && ok; x++) {
                        int sy = y + a, sx = (f ? w - 1 - x : x) + bb;
                        float v = (sy >= 0 && sy < h && sx >= 0 && sx < w) ? src[sy * w + sx] : pad;
                        ok = out[y * w + x] == v;
                    }
                if (ok) {
                    *dy = a, *dx = bb, *fl = f;
                    return 1;
                }
            }
    return 0;
}

START_TEST(crop_and_flip)
{
    const int h = 4, w = 5, p = 2, n = 50, B = 40, steps = 50;
    ns_dataset *d = fake((size_t)n, 1, h, w, 2);
    ns_augment aug = {p, 1};
    ns_batcher *b = NULL;
    ck_assert_int_eq(ns_batcher_create(d, 9, B, &aug, &b), NS_OK);
    float *x = malloc((size_t)B * h * w * sizeof(float));
    float pad = (0.0f - 0.5f) / 0.25f; /* a black pixel after standardization */
    int flips = 0, total = 0, hist[5][5] = {{0}};
    for (int t = 0; t < steps; t++) {
        ns_batcher_fill(b, t, x, NULL, NULL);
        for (int i = 0; i < B; i++) {
            uint32_t j = ns_batcher_index(b, (int64_t)t * B + i);
            int dy, dx, fl;
            ck_assert_msg(match_aug(d->x_train + (size_t)j * h * w, x + (size_t)i * h * w, h, w, p,
                                    pad, &dy, &dx, &fl),
                          "step %d sample %d is no crop/flip of sample %u", t, i, j);
            flips += fl;
            hist[dy + p][dx + p]++;
            total++;
        }
    }
    /* 2000 fair coin flips: 1000 +- 4 sd (22) */
    ck_assert_int_lt(abs(flips - total / 2), 90);
    /* 25 offsets, 80 expected each: every one occurs, none wildly off */
    for (int a = 0; a < 5; a++)
        for (int c = 0; c < 5; c++) ck_assert_int_gt(hist[a][c], 40);
    free(x);
    ns_batcher_free(b);
    ns_dataset_free(d);
}
END_TEST

START_TEST(no_augmentation_copies_exactly)
{
    ns_dataset *d = fake(20, 3, 2, 2, 4);
    ns_augment off = {0, 0};
    ns_batcher *b = NULL;
    ck_assert_int_eq(ns_batcher_create(d, 2, 4, &off, &b), NS_OK);
    float x[4 * 12];
    ns_batcher_fill(b, 7, x, NULL, NULL);
    for (int i = 0; i < 4; i++) {
        uint32_t j = ns_batcher_index(b, 28 + i);
        ck_assert_mem_eq(x + i * 12, d->x_train + j * 12, 12 * sizeof(float));
    }
    ns_batcher_free(b);
    ns_dataset_free(d);
}
END_TEST

START_TEST(create_errors)
{
    ns_dataset *img = fake(10, 1, 4, 4, 2), *reg = fake(10, 1, 1, 1, 0);
    ns_batcher *b = (ns_batcher *)0x1;
    ck_assert_int_eq(ns_batcher_create(img, 0, 0, NULL, &b), NS_ERR_ARG);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "batch size 0"));
    ns_augment big = {5, 0}, flip = {0, 1}, bad = {0, 2};
    ck_assert_int_eq(ns_batcher_create(img, 0, 2, &big, &b), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "crop padding 5 must be in 0..4"));
    ck_assert_int_eq(ns_batcher_create(img, 0, 2, &bad, &b), NS_ERR_ARG);
    ck_assert_int_eq(ns_batcher_create(reg, 0, 2, &flip, &b), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "image classification data only"));
    img->info.n_train = 0;
    ck_assert_int_eq(ns_batcher_create(img, 0, 2, NULL, &b), NS_ERR_ARG);
    img->info.n_train = 10;
    ns_dataset_free(img);
    ns_dataset_free(reg);
}
END_TEST

static Suite *batcher_suite(void)
{
    Suite *s = suite_create("data_batcher");
    TCase *tc = tcase_create("batcher");
    tcase_add_test(tc, epochs_are_the_documented_permutations);
    tcase_add_test(tc, pure_function_of_step);
    tcase_add_test(tc, batch_larger_than_set_and_full_batch);
    tcase_add_test(tc, crop_and_flip);
    tcase_add_test(tc, no_augmentation_copies_exactly);
    tcase_add_test(tc, create_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(batcher_suite(), argc, argv); }
