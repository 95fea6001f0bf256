/* test_run_curv.c - the exact curvature probes in a training run, in memory:
 * closed-form eigenvalues through the whole glue (a depth-1 DLN is linear least
 * squares: H = 2 (X X^T kron I)), exact and finite-difference products agree on
 * it, the probes leave training bitwise untouched (SGD with momentum, AdamW with
 * a schedule; exact and FD products; noisy BN's step noise), and kill-and-resume
 * gives the same curvature bits.
 * ctest-timeout: 300 */
#include "run_mem_sink.h"

#include "normsweep/curvature.h"

#include <unistd.h>

/* Every other probe and every curvature probe, in both modes. */
#define CURV_PROBES(hvp)                                                                      \
    "probes: {every: 3, eta: {relative: [0.5, 4.0], count: 3}, random_direction: true,\n"     \
    "         ics: {layers: all}, activations: {units: 4},\n"                                 \
    "         hessian: {iters: 5, tol: 1.0e-3, trace_samples: 2}, thm41: true,\n"             \
    "         curvature: {mode: both, hvp: " hvp ", k: 3, iters: 12, slq: {n_v: 2, m: 6},\n"  \
    "                     hutchinson: 3, layers: {iters: 5}, fd_check: true}}\n"

/* ------------------------------------------------------------ closed form */

/* The depth-1 DLN's W at init, X X^T of the training set (the full batch),
 * and the eigenvalues of C = X X^T, ascending. */
static void dln_closed_form(const ns_spec *s, const ns_dataset *data, double *ev)
{
    const ns_run_config *cfg = &s->runs[0];
    const int d = 4, n = 24;
    double C[16] = {0};
    for (int k = 0; k < n; k++) {
        const float *x = data->x_train + k * d;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) C[a * d + b] += (double)x[a] * x[b];
    }
    ck_assert_int_eq(ns_jacobi_eig(d, C, ev, NULL), NS_OK);
    (void)cfg;
}

#define DLN_SPEC(hvp)                                                                         \
    "name: t\n"                                                                               \
    "data: 'synthetic-dln:n=24,d=4,test=0'\n"                                                 \
    "train: {steps: 2, batch: 24, log_every: 1}\n"                                            \
    "grid: {lr: [0.001], arch: ['dln:depth=1,width=4'], norm: [none], seed: [3]}\n"           \
    "probes: {every: 1, curvature: {mode: both, hvp: " hvp ", k: 3, iters: 10, tol: 1.0e-6,\n" \
    "         slq: {n_v: 2, m: 6}, hutchinson: 4, layers: {iters: 8}, fd_check: true}}\n"

/* H = 2 (C kron I_4) on vec(W): eigenvalues 2 lambda_j(C), each 4 times. From a
 * random start the Krylov space has one vector per distinct eigenvalue: exact
 * Lanczos stops on an invariant subspace after 4 products with T exact, so the
 * top 3 are 2 lambda_4..2 (each distinct eigenvalue once: docs/measurements.md),
 * the smallest 2 lambda_1, all converged; the one layer's block is the whole of
 * H. Loop index 0: exact products; 1: central differences. */
START_TEST(dln_depth1_curvature_matches_least_squares)
{
    const char *hvp = _i == 0 ? "exact" : "fd";
    char yaml[1024];
    snprintf(yaml, sizeof yaml, DLN_SPEC("%s"), hvp);
    ns_spec *s = spec_of(yaml);
    const ns_dataset *data = data_of(s);
    double ev[4];
    dln_closed_form(s, data, ev);
    mem m;
    ns_run_sink sink;
    mem_init(&m, &sink);
    ns_run_result res;
    ck_assert_int_eq(ns_run_execute(&s->runs[0], data, &sink, NULL, &res), NS_OK);
    ck_assert_int_eq(res.status, NS_RUN_DONE);
    /* exact products: 1e-6 relative; central differences of a quadratic are
     * exact up to float32 gradients' rounding over h */
    const double tol = _i == 0 ? 1e-6 : 1e-3;
    for (int p = 0; p < 2; p++)
        for (int md = 0; md < 2; md++) {
            for (int k = 0; k < 3; k++) {
                /* central differences blur the invariant subspace: Lanczos goes on
                 * and finds the top eigenvalue (multiplicity 4) again, nearly */
                if (_i == 0 || k == 0) ns_assert_close(m.top[p][md][k], 2 * ev[3 - k], tol);
                else ck_assert(m.top[p][md][k] > 2 * ev[2] && m.top[p][md][k] < 2 * ev[3] * 1.001);
                /* residuals within tol = 1e-6 of ||H||: exact products only */
                ck_assert_int_eq(m.top_conv[p][md][k], _i == 0);
            }
            ns_assert_close(m.min[p][md], 2 * ev[0], tol);
            ns_assert_close(m.layer[p][md][0], 2 * ev[3], tol);
            ck_assert(m.share[p][md] >= 0 && m.share[p][md] <= 1 + 1e-9);
            if (_i == 0) ck_assert_int_eq(m.steps[p][md], 4); /* the invariant subspace */
            /* SLQ of a spectrum with 4 distinct values: nodes are those values
             * (exact products; central differences blur the invariant subspace) */
            for (int j = 0; j < 2 && _i == 0; j++) {
                double wsum = 0;
                for (int i = 0; i < 4; i++) {
                    ns_assert_close(m.slq_nodes[p][md][j * 6 + i], 2 * ev[i], tol);
                    wsum += m.slq_weights[p][md][j * 6 + i];
                }
                ns_assert_close(wsum, 1.0, 1e-9);
                ck_assert(isnan(m.slq_nodes[p][md][j * 6 + 5])); /* padding past 4 */
            }
            /* Hutchinson: the exact trace 2 * 4 * tr(C) within 4 standard errors */
            double tr = 8 * (ev[0] + ev[1] + ev[2] + ev[3]);
            ck_assert(fabs(m.trace[p][md] - tr) <= 4 * m.trace_se[p][md]);
            /* the FD check on a quadratic: small, and within its own estimate */
            ck_assert(m.fd_diff[p][md] <= m.fd_err[p][md] && m.fd_diff[p][md] < 1e-3);
        }
    /* no normalization: the two modes are one function, bit for bit */
    ck_assert_mem_eq(m.top[0][0], m.top[0][1], sizeof m.top[0][0]);
    free(m.weights);
    ns_spec_free(s);
}
END_TEST

/* ------------------------------------------------------------ invariance */

/* Loop index: 0 SGD with momentum, exact products; 1 the same with finite
 * differences; 2 AdamW with warm-up and cosine, exact products. */
START_TEST(curvature_does_not_change_training)
{
    const char *spec_on = _i == 1 ? MLP_SPEC(CURV_PROBES("fd"), "")
                                  : MLP_SPEC(CURV_PROBES("exact"), "");
    edit_config = _i == 2 ? use_adam : NULL;
    mem a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    run_spec(MLP_SPEC(ALL_PROBES, ""), &a, NULL);
    run_spec(spec_on, &b, NULL);
    edit_config = NULL;
    ck_assert_int_eq(b.res.status, NS_RUN_DONE);
    /* training, evaluations, the final weights and state (running statistics) */
    ck_assert_mem_eq(a.loss, b.loss, sizeof a.loss);
    ck_assert_mem_eq(a.gnorm, b.gnorm, sizeof a.gnorm);
    ck_assert_mem_eq(a.test_loss, b.test_loss, sizeof a.test_loss);
    ck_assert_uint_eq(a.nweights, b.nweights);
    ck_assert_mem_eq(a.weights, b.weights, a.nweights * sizeof(float));
    /* every other probe, ICS (after the update) included */
    ck_assert_mem_eq(a.land, b.land, sizeof a.land);
    ck_assert_mem_eq(a.lambda, b.lambda, sizeof a.lambda);
    ck_assert_mem_eq(a.ics_l2, b.ics_l2, sizeof a.ics_l2);
    ck_assert_mem_eq(a.thm_lhs, b.thm_lhs, sizeof a.thm_lhs);
    /* and the curvature was measured, in both modes, differently (noisy BN) */
    for (int p = 0; p < 5; p++)
        for (int md = 0; md < 2; md++) {
            ck_assert(isfinite(b.top[p][md][0]) && b.top[p][md][0] >= b.top[p][md][1]);
            ck_assert(b.top[p][md][0] > 0 && b.min[p][md] <= b.top[p][md][2]);
            ck_assert(isfinite(b.trace[p][md]) && isfinite(b.layer[p][md][2]));
            ck_assert_int_gt(b.products[p][md], b.steps[p][md]);
        }
    ck_assert(b.top[1][0][0] != b.top[1][1][0]);
    free(a.weights);
    free(b.weights);
}
END_TEST

typedef struct stopper {
    int calls, stop_at;
} stopper;
static int stop_fn(void *ctx)
{
    stopper *s = ctx;
    return s->calls++ >= s->stop_at;
}

/* Stop at step 6, resume from the checkpoint: the curvature records are the
 * uninterrupted run's bits. */
START_TEST(curvature_kill_and_resume)
{
    const char *dir = ns_test_tmpdir("run_curv");
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", dir);
    const char *yaml = MLP_SPEC(CURV_PROBES("exact"), "checkpoint: {every: 4}\n");
    mem whole, parts;
    memset(&whole, 0, sizeof whole);
    memset(&parts, 0, sizeof parts);
    run_spec(yaml, &whole, NULL);
    stopper sp = {0, 6};
    ns_run_control ctl = {&sp, NULL, stop_fn, ckpt, NULL};
    run_spec(yaml, &parts, &ctl);
    ck_assert_int_eq(parts.res.status, NS_RUN_STOPPED);
    ns_run_control ctl2 = {NULL, NULL, NULL, ckpt, NULL};
    run_spec(yaml, &parts, &ctl2);
    ck_assert_int_eq(parts.res.status, NS_RUN_DONE);
    ck_assert_mem_eq(whole.loss, parts.loss, sizeof whole.loss);
    ck_assert_mem_eq(whole.weights, parts.weights, whole.nweights * sizeof(float));
    ck_assert_mem_eq(whole.top, parts.top, sizeof whole.top);
    ck_assert_mem_eq(whole.top_res, parts.top_res, sizeof whole.top_res);
    ck_assert_mem_eq(whole.slq_nodes, parts.slq_nodes, sizeof whole.slq_nodes);
    ck_assert_mem_eq(whole.layer, parts.layer, sizeof whole.layer);
    ck_assert_mem_eq(whole.trace, parts.trace, sizeof whole.trace);
    ck_assert_mem_eq(whole.fd_diff, parts.fd_diff, sizeof whole.fd_diff);
    free(whole.weights);
    free(parts.weights);
    ns_test_rmtree(dir);
}
END_TEST

static Suite *run_curv_suite(void)
{
    Suite *s = suite_create("run_curv");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, dln_depth1_curvature_matches_least_squares, 0, 2);
    tcase_add_loop_test(tc, curvature_does_not_change_training, 0, 3);
    tcase_add_test(tc, curvature_kill_and_resume);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(run_curv_suite(), argc, argv); }
