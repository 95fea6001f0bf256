/* test_norm_group.c - GroupNorm and LayerNorm (= GroupNorm(1, C)): hand
 * values, eval == train, finite-difference gradients, groups must divide C. */
#include "test_norm_util.h"

/* shape {4,1,2}, batch 1: channels (1,2) (3,4) | (10,10) (14,6).
 * groups=2: group 0 = 1,2,3,4: mean 2.5, var 1.25; group 1 = 10,10,14,6:
 * mean 10, var 8. gamma = (1,2,1,.5), beta = (0,1,0,-1), eps = 0. */
static const float gx[8] = {1, 2, 3, 4, 10, 10, 14, 6};

static void set_affine(tnorm *t)
{
    const float g[4] = {1, 2, 1, 0.5f}, b[4] = {0, 1, 0, -1};
    for (int c = 0; c < 4; c++) {
        t->w[c] = g[c];
        t->w[4 + c] = b[c];
    }
}

START_TEST(group_forward_by_hand)
{
    ns_norm_config c = ns_norm_defaults(NS_NORM_GROUP);
    c.groups = 2;
    c.eps = 0.0f;
    tnorm t;
    tn_make(&t, c, (ns_shape){4, 1, 2}, 1);
    set_affine(&t);
    float out[8], out_eval[8];
    ns_pass p = {NS_MODE_TRAIN, 1, 0, NULL}, ev = {NS_MODE_EVAL, 0, 0, NULL};
    t.l.ops->forward(&t.l, out, gx, 1, &p);
    const double want[8] = {-1.34164079, -0.44721360, 1.89442719, 3.68328157,
                            0.0,         0.0,         -0.29289322, -1.70710678};
    for (int i = 0; i < 8; i++) ns_assert_close_abs(out[i], want[i], 1e-6, 1e-6);
    t.l.ops->forward(&t.l, out_eval, gx, 1, &ev);
    ck_assert(memcmp(out, out_eval, sizeof out) == 0); /* no state: eval == train */
    ck_assert_uint_eq(t.l.nstate, 0);
    ck_assert_int_eq(t.l.nviews, 2);
    ck_assert_str_eq(t.l.ops->kind, "group");
    tn_free(&t);
}
END_TEST

START_TEST(layer_forward_by_hand)
{
    /* one group of all 8 values: mean 50/8 = 6.25, mean x^2 = 462/8 = 57.75,
     * var = 57.75 - 6.25^2 = 18.6875; per-channel gamma/beta */
    ns_norm_config c = ns_norm_defaults(NS_NORM_LAYER);
    c.eps = 0.0f;
    tnorm t;
    tn_make(&t, c, (ns_shape){4, 1, 2}, 2);
    set_affine(&t);
    float x2[16], out[16];
    memcpy(x2, gx, sizeof gx);
    for (int i = 0; i < 8; i++) x2[8 + i] = 3.0f * gx[i] + 1.0f; /* scale/shift invariant */
    ns_pass p = {NS_MODE_TRAIN, 1, 0, NULL};
    t.l.ops->forward(&t.l, out, x2, 2, &p);
    for (int i = 0; i < 8; i++) {
        int ch = i / 2;
        double want = t.w[ch] * (gx[i] - 6.25) / sqrt(18.6875) + t.w[4 + ch];
        ns_assert_close_abs(out[i], want, 1e-6, 1e-6);
        ns_assert_close_abs(out[8 + i], want, 1e-6, 1e-6);
    }
    ck_assert_str_eq(t.l.ops->kind, "layer");
    tn_free(&t);
}
END_TEST

static void gradcheck_group(ns_norm_kind kind, int groups, ns_shape s, int batch, uint64_t seed)
{
    size_t N = (size_t)batch * ns_shape_size(s);
    float *x = malloc(N * sizeof(float));
    ns_rng r;
    ns_rng_init(&r, seed, 3);
    tn_fill_normal(x, N, &r, 1.3f, -0.2f);
    ns_norm_config c = ns_norm_defaults(kind);
    c.groups = groups;
    tn_gc_result g = tn_gradcheck(c, s, batch, x, seed, tn_fd_step());
    if (getenv("NS_TEST_VERBOSE"))
        printf("%s/%d {%d,%d,%d} batch %d: FD error din %.3g dw %.3g\n", ns_norm_name(kind),
               groups, s.c, s.h, s.w, batch, g.max_err_din, g.max_err_dw);
    /* tolerance as in test_norm_batch.c */
    ck_assert_msg(g.max_err_din < 5e-3 && g.max_err_dw < 5e-3,
                  "%s groups %d {%d,%d,%d} batch %d: FD error din %.3g dw %.3g", ns_norm_name(kind),
                  groups, s.c, s.h, s.w, batch, g.max_err_din, g.max_err_dw);
    free(x);
}

START_TEST(gradients)
{
    const int batches[3] = {1, 2, 5};
    for (int k = 0; k < 3; k++) {
        gradcheck_group(NS_NORM_LAYER, 1, (ns_shape){9, 1, 1}, batches[k], 1 + k);
        gradcheck_group(NS_NORM_LAYER, 1, (ns_shape){3, 3, 3}, batches[k], 5 + k);
        gradcheck_group(NS_NORM_GROUP, 3, (ns_shape){12, 1, 1}, batches[k], 9 + k);
        gradcheck_group(NS_NORM_GROUP, 2, (ns_shape){4, 4, 5}, batches[k], 13 + k);
    }
}
END_TEST

START_TEST(groups_must_divide_channels)
{
    ns_norm_config c = ns_norm_defaults(NS_NORM_GROUP); /* groups 32 */
    ns_layer l;
    ck_assert_int_eq(ns_norm_create(&l, &c, (ns_shape){16, 4, 4}, 8), NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "groups=32"));
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "16 channels"));
    c.groups = 8;
    ck_assert_int_eq(ns_norm_create(&l, &c, (ns_shape){16, 4, 4}, 8), NS_OK);
    l.ops->destroy(&l);
    /* layer ignores groups */
    c = ns_norm_defaults(NS_NORM_LAYER);
    c.groups = 5;
    ck_assert_int_eq(ns_norm_create(&l, &c, (ns_shape){16, 4, 4}, 8), NS_OK);
    l.ops->destroy(&l);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("norm_group");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, group_forward_by_hand);
    tcase_add_test(tc, layer_forward_by_hand);
    tcase_add_test(tc, gradients);
    tcase_add_test(tc, groups_must_divide_channels);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(suite(), argc, argv); }
