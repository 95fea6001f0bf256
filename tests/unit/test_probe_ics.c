/* test_probe_ics.c - internal covariate shift (Definition 2.1) on linear
 * chains whose gradients are known in closed form: a scalar two-layer model
 * worked by hand, and f = w3 * w2^T W1 x over a small batch. Also checks
 * which evaluations are skipped or shared, and NaN / error paths.
 * ctest-labels: probe */
#include "ns_test.h"

#include "normsweep/probe.h"

#include <string.h>

/* ns_probe_ics with the step's update given as delta: w_next = fl(w + delta),
 * what an optimizer's "w += delta" produces. */
static ns_status ics_delta(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                           const float *g, const float *delta, const int *layers, int nsel,
                           double *diff, double *cosv, int *evals)
{
    float w_next[16];
    NS_ASSERT(obj->n <= 16);
    for (size_t i = 0; i < obj->n; i++) w_next[i] = w[i] + delta[i];
    return ns_probe_ics(obj, ws, w, g, w_next, layers, nsel, diff, cosv, evals);
}

/* ---------------------------------------------------------------- scalar:
 * L = 1/2 (w2 w1 x - y)^2,  dL/dw1 = r w2 x,  dL/dw2 = r w1 x,  r = w2 w1 x - y */
typedef struct scalar { double x, y; int calls; } scalar;

static ns_status scalar_lg(void *ctx, const float *w, double *loss, float *grad)
{
    scalar *s = ctx;
    s->calls++;
    double r = (double)w[1] * w[0] * s->x - s->y;
    *loss = 0.5 * r * r;
    if (grad) {
        grad[0] = (float)(r * w[1] * s->x);
        grad[1] = (float)(r * w[0] * s->x);
    }
    return NS_OK;
}

static const size_t SC_OFF[2] = {0, 1}, SC_LEN[2] = {1, 1}, SC_PE[2] = {0, 1};

static ns_objective scalar_obj(scalar *s)
{
    return (ns_objective){.n = 2, .loss_grad = scalar_lg, .ctx = s, .nlayers = 2,
                          .layer_off = SC_OFF, .layer_len = SC_LEN, .prefix_end = SC_PE};
}

START_TEST(scalar_by_hand)
{
    scalar s = {.x = 1, .y = 1};
    ns_objective obj = scalar_obj(&s);
    ns_probe_ws ws;
    ck_assert_int_eq(ns_probe_ws_alloc(&ws, 2), NS_OK);
    float w[2] = {2, 3}, g[2], delta[2] = {0.5f, -0.25f};
    double L, diff[2], cosv[2];
    int evals = -1;
    scalar_lg(&s, w, &L, g); /* r = 5: G = (15, 10) */
    ck_assert(g[0] == 15 && g[1] == 10);
    s.calls = 0;
    ck_assert_int_eq(ics_delta(&obj, &ws, w, g, delta, NULL, 2, diff, cosv, &evals), NS_OK);
    /* layer 1: nothing before it, exactly 0 and no evaluation */
    ck_assert(diff[0] == 0.0 && cosv[0] == 1.0);
    /* layer 2: w1' = 2.5, r' = 3*2.5 - 1 = 6.5, G' = 6.5*2.5 = 16.25 (w2's own
     * update -0.25 is NOT applied: only layers before i move) */
    ns_assert_close(diff[1], 6.25, 1e-12);
    ns_assert_close(cosv[1], 1.0, 1e-12);
    ck_assert_int_eq(evals, 1);
    ck_assert_int_eq(s.calls, 1);

    /* w1' = 0.1: r' = 0.3 - 1 = -0.7, G' = -0.07: the gradient flips */
    delta[0] = -1.9f;
    ck_assert_int_eq(ics_delta(&obj, &ws, w, g, delta, NULL, 2, diff, cosv, NULL), NS_OK);
    ns_assert_close(diff[1], 10.07, 1e-6);
    ns_assert_close(cosv[1], -1.0, 1e-12);

    /* G = 0 (y = 6 makes r = 0) but G' != 0: the cosine is undefined */
    s.y = 6;
    scalar_lg(&s, w, &L, g);
    ck_assert(g[0] == 0 && g[1] == 0);
    delta[0] = 0.5f; /* r' = 7.5 - 6 = 1.5, G' = 1.5 * 2.5 = 3.75 */
    ck_assert_int_eq(ics_delta(&obj, &ws, w, g, delta, NULL, 2, diff, cosv, NULL), NS_OK);
    ns_assert_close(diff[1], 3.75, 1e-12);
    ck_assert(isnan(cosv[1]));
    ck_assert(diff[0] == 0 && cosv[0] == 1.0); /* still exactly no shift for layer 1 */
    ns_probe_ws_free(&ws);
}
END_TEST

/* ---------------------------------------------------------------- chain:
 * f_s = w3 * w2^T W1 x_s, L = 1/2 sum_s (f_s - y_s)^2. Parameters:
 * W1 [2][2] at 0..3, w2 [2] at 4..5, w3 at 6. */
#define NB 3
static const double CX[NB][2] = {{1.0, -0.5}, {0.3, 2.0}, {-1.2, 0.7}};
static const double CY[NB] = {0.4, -1.0, 0.9};
static const size_t CH_OFF[3] = {0, 4, 6}, CH_LEN[3] = {4, 2, 1}, CH_PE[3] = {0, 4, 6};

typedef struct chain { int calls; int nan; ns_status fail; } chain;

static double chain_grad(const double *w, double *g)
{
    double L = 0;
    memset(g, 0, 7 * sizeof(double));
    for (int s = 0; s < NB; s++) {
        double z[2], a = 0;
        for (int i = 0; i < 2; i++) {
            z[i] = w[2 * i] * CX[s][0] + w[2 * i + 1] * CX[s][1];
            a += w[4 + i] * z[i];
        }
        double r = w[6] * a - CY[s];
        L += 0.5 * r * r;
        g[6] += r * a;
        for (int i = 0; i < 2; i++) {
            g[4 + i] += r * w[6] * z[i];
            for (int j = 0; j < 2; j++) g[2 * i + j] += r * w[6] * w[4 + i] * CX[s][j];
        }
    }
    return L;
}

static ns_status chain_lg(void *ctx, const float *w, double *loss, float *grad)
{
    chain *c = ctx;
    c->calls++;
    if (c->fail) return ns_error_set(c->fail, "chain: injected failure");
    double wd[7], gd[7];
    for (int i = 0; i < 7; i++) wd[i] = w[i];
    *loss = c->nan ? NAN : chain_grad(wd, gd);
    if (grad)
        for (int i = 0; i < 7; i++) grad[i] = c->nan ? NAN : (float)gd[i];
    return NS_OK;
}

static const float CW[7] = {0.8f, -0.3f, 0.5f, 1.1f, 0.9f, -0.6f, 1.3f};

/* The chain's objective, a workspace for it, and g = grad L(CW); calls reset. */
static ns_objective chain_setup(chain *c, ns_probe_ws *ws, float *g)
{
    ns_objective obj = {.n = 7, .loss_grad = chain_lg, .ctx = c, .nlayers = 3,
                        .layer_off = CH_OFF, .layer_len = CH_LEN, .prefix_end = CH_PE};
    ck_assert_int_eq(ns_probe_ws_alloc(ws, 7), NS_OK);
    double L;
    chain_lg(c, CW, &L, g);
    c->calls = 0;
    return obj;
}

/* Expected (diff, cos) of layer i: G' from w + delta on [0, prefix_end[i]). */
static void chain_expect(const float *g, const float *delta, int i, double *diff, double *cosv)
{
    double wp[7], gp[7];
    for (int p = 0; p < 7; p++)
        wp[p] = (size_t)p < CH_PE[i] ? (double)(float)(CW[p] + delta[p]) : CW[p];
    chain_grad(wp, gp);
    for (int p = 0; p < 7; p++) gp[p] = (float)gp[p]; /* as the objective hands it over */
    double d2 = 0, ab = 0, aa = 0, bb = 0;
    for (size_t p = CH_OFF[i]; p < CH_OFF[i] + CH_LEN[i]; p++) {
        d2 += (g[p] - gp[p]) * (g[p] - gp[p]);
        ab += g[p] * gp[p];
        aa += (double)g[p] * g[p];
        bb += gp[p] * gp[p];
    }
    *diff = sqrt(d2);
    *cosv = ab / sqrt(aa * bb);
}

static void chain_case(const float *delta, const int *layers, int nsel, int want_evals)
{
    chain c = {0};
    ns_probe_ws ws;
    float g[7];
    ns_objective obj = chain_setup(&c, &ws, g);
    double diff[3], cosv[3];
    int evals = -1;
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, delta, layers, nsel, diff, cosv, &evals),
                     NS_OK);
    ck_assert_int_eq(evals, want_evals);
    ck_assert_int_eq(c.calls, want_evals);
    for (int j = 0; j < nsel; j++) {
        int i = layers ? layers[j] : j;
        double ed, ec;
        chain_expect(g, delta, i, &ed, &ec);
        ns_assert_close_abs(diff[j], ed, 1e-6, 1e-3);
        ns_assert_close(cosv[j], ec, 1e-6);
    }
    ns_probe_ws_free(&ws);
}

static const float D_ALL[7] = {0.05f, -0.1f, 0.2f, 0.03f, -0.15f, 0.1f, -0.2f};

START_TEST(chain_all_layers)
{
    /* k = 3 layers, all updated: k - 1 = 2 evaluations */
    chain_case(D_ALL, NULL, 3, 2);
    /* the shift is real: not a test that would pass on G' = G */
    chain c = {0};
    float g[7];
    double L, ed, ec;
    chain_lg(&c, CW, &L, g);
    chain_expect(g, D_ALL, 2, &ed, &ec);
    ck_assert_double_gt(ed, 0.05);
    chain_expect(g, D_ALL, 1, &ed, &ec);
    ck_assert_double_lt(ec, 0.999);
}
END_TEST

START_TEST(chain_no_update_on_prefix)
{
    /* W1 not updated: w2's ICS is exactly zero with no evaluation, w3's needs one */
    float d[7] = {0, 0, 0, 0, -0.15f, 0.1f, -0.2f};
    chain_case(d, NULL, 3, 1);
    chain c = {0};
    ns_probe_ws ws;
    float g[7];
    ns_objective obj = chain_setup(&c, &ws, g);
    double diff[3], cosv[3];
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, d, NULL, 3, diff, cosv, NULL), NS_OK);
    ck_assert(diff[1] == 0.0 && cosv[1] == 1.0);
    ck_assert_double_gt(diff[2], 1e-3);
    /* nothing updated at all: no evaluation, all zero */
    float z[7] = {0};
    c.calls = 0;
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, z, NULL, 3, diff, cosv, NULL), NS_OK);
    ck_assert_int_eq(c.calls, 0);
    for (int i = 0; i < 3; i++) ck_assert(diff[i] == 0.0 && cosv[i] == 1.0);
    ns_probe_ws_free(&ws);
}
END_TEST

START_TEST(chain_shared_evaluation)
{
    /* only W1 moves: layers 2 and 3 see the same w', one evaluation serves both */
    float d[7] = {0.05f, -0.1f, 0.2f, 0.03f, 0, 0, 0};
    chain_case(d, NULL, 3, 1);
}
END_TEST

START_TEST(chain_subsets)
{
    int last[1] = {2}, first[1] = {0}, skip[2] = {0, 2};
    chain_case(D_ALL, last, 1, 1);
    chain_case(D_ALL, first, 1, 0);
    chain_case(D_ALL, skip, 2, 1);
}
END_TEST

START_TEST(chain_nan_and_errors)
{
    chain c = {0};
    ns_probe_ws ws;
    float g[7];
    ns_objective obj = chain_setup(&c, &ws, g);
    double diff[3], cosv[3];
    c.nan = 1;
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, D_ALL, NULL, 3, diff, cosv, NULL), NS_OK);
    ck_assert(diff[0] == 0 && cosv[0] == 1);
    ck_assert(isnan(diff[1]) && isnan(cosv[1]) && isnan(diff[2]) && isnan(cosv[2]));
    c.nan = 0;

    int bad_order[2] = {2, 1}, dup[2] = {1, 1}, out_of_range[1] = {3};
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, D_ALL, bad_order, 2, diff, cosv, NULL),
                     NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "layers[1] = 1"));
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, D_ALL, dup, 2, diff, cosv, NULL),
                     NS_ERR_ARG);
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, D_ALL, out_of_range, 1, diff, cosv, NULL),
                     NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "outside [0, 3)"));
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, D_ALL, NULL, 2, diff, cosv, NULL),
                     NS_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "NULL means all 3"));
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, D_ALL, bad_order, 4, diff, cosv, NULL),
                     NS_ERR_ARG);

    c.fail = NS_ERR_NUMERIC;
    ck_assert_int_eq(ics_delta(&obj, &ws, CW, g, D_ALL, NULL, 3, diff, cosv, NULL),
                     NS_ERR_NUMERIC);
    ck_assert_str_eq(ns_error_msg(), "chain: injected failure");
    ns_probe_ws_free(&ws);

    ns_probe_ws small;
    ck_assert_int_eq(ns_probe_ws_alloc(&small, 3), NS_OK);
    ck_assert_int_eq(ics_delta(&obj, &small, CW, g, D_ALL, NULL, 3, diff, cosv, NULL),
                     NS_ERR_ARG);
    ns_probe_ws_free(&small);
}
END_TEST

static Suite *ics_suite(void)
{
    Suite *s = suite_create("probe_ics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, scalar_by_hand);
    tcase_add_test(tc, chain_all_layers);
    tcase_add_test(tc, chain_no_update_on_prefix);
    tcase_add_test(tc, chain_shared_evaluation);
    tcase_add_test(tc, chain_subsets);
    tcase_add_test(tc, chain_nan_and_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(ics_suite(), argc, argv); }
