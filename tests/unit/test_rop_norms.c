/* test_rop_norms.c - the R-ops of every normalization (src/nn/norm/rop.c)
 * against central finite differences of its forward and backward
 * (ropcheck.h): batch, noisy_batch (noise drawn once, then held), l1, l2,
 * linf, layer, group; TRAIN (batch statistics differentiated) and EVAL
 * (running statistics fixed); dense shapes (HW = 1), small planes and planes
 * longer than the 16 float lanes; with and without an input direction and a
 * parameter direction. */
#include "ns_test.h"
#include "ropcheck.h"
#include "normsweep/norm.h"

#include <stdio.h>

#define H_STEP 0.015625 /* 2^-6 */
#define TOL_ROP 1e-4
#define TOL_FD 1e-4

static const ns_norm_kind kinds[] = {NS_NORM_BATCH, NS_NORM_NOISY_BATCH, NS_NORM_L1, NS_NORM_L2,
                                     NS_NORM_LINF,  NS_NORM_LAYER,       NS_NORM_GROUP};
enum { NKINDS = sizeof kinds / sizeof kinds[0] };
static const struct { ns_shape s; int batch; } shapes[] = {
    {{8, 1, 1}, 5},  /* dense */
    {{4, 2, 2}, 4},  /* small planes */
    {{4, 5, 4}, 3},  /* planes of 20: one 16-lane block and a remainder */
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };
enum { HAVE_BOTH, NO_RIN, NO_V, NCOMBO };

typedef struct norm_case {
    ns_norm_kind kind;
    int shape, eval, combo;
} norm_case;

static norm_case case_of(int i)
{
    norm_case c;
    c.combo = i % NCOMBO;
    i /= NCOMBO;
    c.eval = i % 2;
    i /= 2;
    c.shape = i % NSHAPES;
    c.kind = kinds[i / NSHAPES];
    return c;
}

/* Inputs on the 2^-10 grid: l1 away from its kink at 0; linf with one clear
 * maximum |x| = 3 per channel (the argmax stays put at the displaced points). */
static void fill_input(float *x, ns_norm_kind kind, ns_shape s, int batch, ns_rng *r)
{
    const size_t HW = (size_t)s.h * s.w, N = (size_t)s.c * HW, n = (size_t)batch * N;
    for (size_t i = 0; i < n; i++) {
        float a = rc_grid(r, kind == NS_NORM_L1 ? 0.125f : -1.0f, 1.0f, 10);
        x[i] = kind == NS_NORM_L1 && (ns_rng_u32(r) & 1u) ? -a : a;
    }
    if (kind != NS_NORM_LINF) return;
    for (int c = 0; c < s.c; c++) {
        size_t b = ns_rng_below(r, (uint32_t)batch), i = ns_rng_below(r, (uint32_t)HW);
        x[b * N + c * HW + i] = ns_rng_u32(r) & 1u ? 3.0f : -3.0f;
    }
}

START_TEST(norm_rop)
{
    const norm_case nc = case_of(_i);
    const ns_shape s = shapes[nc.shape].s;
    const int batch = shapes[nc.shape].batch;
    ns_norm_config cfg = ns_norm_defaults(nc.kind);
    if (nc.kind == NS_NORM_GROUP) cfg.groups = 2;
    ns_layer l;
    ck_assert_int_eq(ns_norm_create(&l, &cfg, s, batch), NS_OK);
    const size_t C = (size_t)s.c, n = (size_t)batch * ns_shape_size(s);
    float *w = calloc(l.nparams, sizeof(float)), *dw = calloc(l.nparams, sizeof(float));
    float *state = calloc(l.nstate + 1, sizeof(float)), *x = malloc(n * sizeof(float));
    float *rx = malloc(n * sizeof(float)), *v = malloc(l.nparams * sizeof(float));
    l.w = w;
    l.dw = dw;
    l.state = state;
    ns_rng r, noise;
    ns_rng_init(&r, 100 + (uint64_t)_i, 3);
    ns_rng_init(&noise, 7, NS_STREAM(NS_STREAM_NOISE, 0));
    rc_fill(w, C, &r, 0.5f, 1.5f, 10); /* gamma */
    rc_fill(w + C, C, &r, -0.5f, 0.5f, 10);
    if (l.nstate) { /* running mean, running var / norm */
        rc_fill(state, C, &r, -0.5f, 0.5f, 10);
        rc_fill(state + C, C, &r, 0.5f, 2.0f, 10);
    }
    fill_input(x, nc.kind, s, batch, &r);
    rc_fill(rx, n, &r, -1, 1, 12);
    rc_fill(v, l.nparams, &r, -1, 1, 12);
    const ns_mode mode = nc.eval ? NS_MODE_EVAL : NS_MODE_TRAIN;
    const ns_pass first = {mode, 0, 1, &noise}, again = {mode, 0, 0, &noise};
    rc_errs e = rc_check(&l, x, nc.combo == NO_RIN ? NULL : rx, nc.combo == NO_V ? NULL : v, batch,
                         &first, &again, 200 + (uint64_t)_i, H_STEP);
    char what[96];
    snprintf(what, sizeof what, "%s %dx%dx%d batch %d %s combo %d", ns_norm_name(nc.kind), s.c, s.h,
             s.w, batch, nc.eval ? "eval" : "train", nc.combo);
    const char *names[3] = {"out", "din", "dw"};
    if (getenv("NS_TEST_VERBOSE"))
        fprintf(stderr, "%s: rop %.2e %.2e %.2e fd %.2e %.2e %.2e\n", what, e.rop[0], e.rop[1],
                e.rop[2], e.fd[0], e.fd[1], e.fd[2]);
    for (int k = 0; k < 3; k++) {
        ck_assert_msg(e.fd[k] < TOL_FD, "%s %s: finite differences disagree with themselves: %g",
                      what, names[k], e.fd[k]);
        ck_assert_msg(e.rop[k] < TOL_ROP, "%s %s: R-op error %g (FD self-check %g)", what,
                      names[k], e.rop[k], e.fd[k]);
    }
    l.ops->destroy(&l);
    free(w);
    free(dw);
    free(state);
    free(x);
    free(rx);
    free(v);
}
END_TEST

/* EVAL mode is an affine map per channel: R(out) does not depend on the
 * batch's other samples. TRAIN BN: it does. A check that the two modes are
 * really different code paths (and the test above sees both). */
START_TEST(train_and_eval_differ_for_bn)
{
    ns_norm_config cfg = ns_norm_defaults(NS_NORM_BATCH);
    ns_layer l;
    ns_shape s = {3, 1, 1};
    ck_assert_int_eq(ns_norm_create(&l, &cfg, s, 4), NS_OK);
    float w[6] = {1, 1, 1, 0, 0, 0}, dw[6], state[6] = {0, 0, 0, 1, 1, 1};
    l.w = w;
    l.dw = dw;
    l.state = state;
    float x[12], rx[12] = {0}, out[12], r_train[12], r_eval[12];
    for (int i = 0; i < 12; i++) x[i] = (float)(i % 5) - 2.0f;
    rx[0] = 1.0f; /* move sample 0, channel 0 only */
    for (int m = 0; m < 2; m++) {
        ns_pass p = {m ? NS_MODE_EVAL : NS_MODE_TRAIN, 0, 0, NULL};
        l.ops->forward(&l, out, x, 4, &p);
        l.ops->r_forward(&l, m ? r_eval : r_train, rx, NULL, x, out, 4, NULL);
    }
    /* eval: only the moved element changes, by gamma / sqrt(1 + eps) */
    ns_assert_close(r_eval[0], 1.0 / sqrt(1.0 + 1e-5), 1e-6);
    for (int i = 1; i < 12; i++) ck_assert_float_eq(r_eval[i], 0.0f);
    /* train: the batch mean and variance move, so other samples' channel 0 moves too */
    ck_assert(fabsf(r_train[3]) > 1e-3f && fabsf(r_train[6]) > 1e-3f);
    ck_assert_float_eq(r_train[1], 0.0f); /* other channels do not */
    l.ops->destroy(&l);
}
END_TEST

static Suite *rop_norms_suite(void)
{
    Suite *s = suite_create("rop_norms");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, norm_rop, 0, NKINDS * NSHAPES * 2 * NCOMBO);
    tcase_add_test(tc, train_and_eval_differ_for_bn);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(rop_norms_suite(), argc, argv); }
