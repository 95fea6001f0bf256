/* test_run.c - one training run end to end, in memory: closed-form probe
 * values through the whole glue (a depth-1 DLN is linear least squares),
 * probes leave training bitwise untouched, kill-and-resume from a checkpoint
 * is bitwise identical, divergence is recorded, Theorem 4.1 holds on BN, the
 * probe state is one block laid out by its table and bound to its net.
 * ctest-timeout: 300 */
#include "ns_test.h"

#include "normsweep/data.h"
#include "normsweep/net.h"
#include "normsweep/run.h"
#include "normsweep/spec.h"
#include "run/run_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_mem_sink.h"

/* ------------------------------------------------------------ closed form */

/* A depth-1 DLN is W (d x d) with L(W) = sum_i ||W x_i - t_i||^2: gradient
 * G = 2 (W X - T) X^T, Hessian on vec(W) = 2 (X X^T kron I): top eigenvalue
 * 2 lambda_max(X X^T), H g = 2 G X X^T. */
START_TEST(dln_depth1_probes_match_least_squares)
{
    ns_spec *s = spec_of("name: t\n"
                         "data: 'synthetic-dln:n=24,d=4,test=0'\n"
                         "train: {steps: 2, batch: 24, log_every: 1}\n"
                         "grid: {lr: [0.001], arch: ['dln:depth=1,width=4'], norm: [none], seed: [3]}\n"
                         "probes: {every: 1, eta: {relative: [0.5, 4.0], count: 4},\n"
                         "         hessian: {iters: 200, tol: 1.0e-9}}\n");
    const ns_dataset *data = data_of(s);
    const ns_run_config *cfg = &s->runs[0];
    mem m;
    ns_run_sink sink;
    mem_init(&m, &sink);
    ns_run_result res;
    ck_assert_int_eq(ns_run_execute(cfg, data, &sink, NULL, &res), NS_OK);
    ck_assert_int_eq(res.status, NS_RUN_DONE);

    /* W at step 0 = the init of the same seed */
    ns_net *net = NULL;
    ck_assert_int_eq(ns_net_build(cfg->arch, NULL, data->info.shape, 4, NS_LOSS_SQUARED_SUM, 24, &net), NS_OK);
    ck_assert_int_eq(ns_net_init(net, cfg->seed, (ns_init_kind)cfg->init), NS_OK);
    const int d = 4, n = 24;
    double W[16], G[16], C[16] = {0}, HG[16] = {0};
    for (int i = 0; i < 16; i++) W[i] = net->params[i]; /* weight [out][in] */
    /* C = X X^T, R = W X - T, G = 2 R X^T, L = ||R||^2 */
    double L = 0;
    memset(G, 0, sizeof G);
    for (int k = 0; k < n; k++) {
        const float *x = data->x_train + k * d, *t = data->t_train + k * d;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) C[a * d + b] += (double)x[a] * x[b];
        for (int o = 0; o < d; o++) {
            double r = -t[o];
            for (int a = 0; a < d; a++) r += W[o * d + a] * x[a];
            L += r * r;
            for (int a = 0; a < d; a++) G[o * d + a] += 2 * r * x[a];
        }
    }
    double gn = 0, hgn = 0;
    for (int o = 0; o < d; o++)
        for (int b = 0; b < d; b++) {
            for (int a = 0; a < d; a++) HG[o * d + b] += 2 * G[o * d + a] * C[a * d + b];
            gn += G[o * d + b] * G[o * d + b];
        }
    for (int i = 0; i < 16; i++) hgn += HG[i] * HG[i];
    gn = sqrt(gn);
    hgn = sqrt(hgn);
    /* lambda_max(C) by power iteration in double */
    double v[4] = {1, 0.5, 0.25, 0.125}, lam = 0;
    for (int it = 0; it < 2000; it++) {
        double w2[4] = {0}, nn = 0;
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++) w2[a] += C[a * d + b] * v[b];
        for (int a = 0; a < d; a++) nn += w2[a] * w2[a];
        nn = sqrt(nn);
        lam = nn;
        for (int a = 0; a < d; a++) v[a] = w2[a] / nn;
    }

    ns_assert_close(m.p_loss[0], L, 1e-5);
    ns_assert_close(m.p_gnorm[0], gn, 1e-5);
    ns_assert_close(m.beta[0], hgn / gn, 1e-4);
    ns_assert_close(m.lambda[0], 2 * lam, 1e-4);
    for (int k = 0; k < 4; k++) {
        double eta = m.eta[0][k];
        ns_assert_close(m.dg[0][k], eta * hgn, 1e-4);
        /* L(W - eta G) = ||R - eta G X||^2 exactly (quadratic) */
        double Lk = 0;
        for (int i = 0; i < n; i++) {
            const float *x = data->x_train + i * d, *t = data->t_train + i * d;
            for (int o = 0; o < d; o++) {
                double r = -t[o];
                for (int a = 0; a < d; a++) r += (W[o * d + a] - eta * G[o * d + a]) * x[a];
                Lk += r * r;
            }
        }
        ns_assert_close(m.land[0][k], Lk, 1e-4);
    }
    ns_assert_close(m.eta[0][0], 0.5 * cfg->lr, 1e-12);
    ns_assert_close(m.eta[0][3], 4.0 * cfg->lr, 1e-12);
    free(m.weights);
    ns_net_free(net);
    ns_spec_free(s);
}
END_TEST

/* ------------------------------------------------------------ invariance */

START_TEST(probes_do_not_change_training)
{
    mem a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    run_spec(MLP_SPEC("", ""), &a, NULL);
    run_spec(MLP_SPEC(ALL_PROBES, ""), &b, NULL);
    ck_assert_int_eq(a.res.status, NS_RUN_DONE);
    ck_assert_int_eq(b.res.status, NS_RUN_DONE);
    ck_assert_int_eq(a.nsteps_seen, 13);
    ck_assert_mem_eq(a.loss, b.loss, sizeof a.loss);
    ck_assert_mem_eq(a.test_loss, b.test_loss, sizeof a.test_loss);
    ck_assert_uint_eq(a.nweights, b.nweights);
    ck_assert_mem_eq(a.weights, b.weights, a.nweights * sizeof(float));
    /* the probes did measure something */
    ck_assert(isfinite(b.beta[0]) && b.beta[0] > 0);
    ck_assert(isfinite(b.lambda[1]));
    /* ICS: the first layer has no preceding layer: exactly 0 and cosine 1 */
    ck_assert(b.ics_l2[1][0] == 0.0 && b.ics_cos[1][0] == 1.0);
    ck_assert(b.ics_l2[1][1] > 0.0 && b.ics_cos[1][1] < 1.0);
    free(a.weights);
    free(b.weights);
}
END_TEST

/* The probe step applies the optimizer's update itself: Adam's moments and
 * schedule must come out as in a run without probes. */
START_TEST(probes_do_not_change_adam_training)
{
    mem a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    edit_config = use_adam;
    run_spec(MLP_SPEC("", ""), &a, NULL);
    run_spec(MLP_SPEC(ALL_PROBES, ""), &b, NULL);
    edit_config = NULL;
    ck_assert_int_eq(b.res.status, NS_RUN_DONE);
    ck_assert_mem_eq(a.loss, b.loss, sizeof a.loss);
    ck_assert_mem_eq(a.weights, b.weights, a.nweights * sizeof(float));
    /* ICS compares with w_{t+1} of Adam's update: layer 2 moved */
    ck_assert(b.ics_l2[1][1] > 0.0 && b.ics_cos[1][1] < 1.0);
    /* and Adam trains differently from SGD */
    mem c;
    memset(&c, 0, sizeof c);
    run_spec(MLP_SPEC("", ""), &c, NULL);
    ck_assert(memcmp(a.weights, c.weights, a.nweights * sizeof(float)) != 0);
    free(a.weights);
    free(b.weights);
    free(c.weights);
}
END_TEST

START_TEST(same_spec_bitwise_same_run)
{
    mem a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    run_spec(MLP_SPEC(ALL_PROBES, ""), &a, NULL);
    run_spec(MLP_SPEC(ALL_PROBES, ""), &b, NULL);
    ck_assert_mem_eq(a.loss, b.loss, sizeof a.loss);
    ck_assert_mem_eq(a.land, b.land, sizeof a.land);
    ck_assert_mem_eq(a.lambda, b.lambda, sizeof a.lambda);
    ck_assert_mem_eq(a.weights, b.weights, a.nweights * sizeof(float));
    free(a.weights);
    free(b.weights);
}
END_TEST

/* ------------------------------------------------------------ resume */

typedef struct stopper {
    int calls, stop_at;
} stopper;
static int stop_fn(void *ctx)
{
    stopper *s = ctx;
    return s->calls++ >= s->stop_at;
}

/* Stop at step 6, resume from the checkpoint: bitwise the uninterrupted run.
 * Loop index 0: SGD with momentum; 1: AdamW with warm-up and cosine (its
 * moments are in the checkpoint). */
START_TEST(kill_and_resume_is_bitwise_identical)
{
    edit_config = _i == 1 ? use_adam : NULL;
    const char *dir = ns_test_tmpdir("run");
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", dir);
    const char *yaml = MLP_SPEC(ALL_PROBES, "checkpoint: {every: 4}\n");

    mem whole, parts;
    memset(&whole, 0, sizeof whole);
    memset(&parts, 0, sizeof parts);
    run_spec(yaml, &whole, NULL);

    /* stop at the start of step 6: checkpoint holds w_6 */
    stopper sp = {0, 6};
    ns_run_control ctl = {&sp, NULL, stop_fn, ckpt, NULL};
    run_spec(yaml, &parts, &ctl);
    ck_assert_int_eq(parts.res.status, NS_RUN_STOPPED);
    ck_assert_int_eq(parts.res.steps_done, 6);
    ck_assert_int_eq(access(ckpt, F_OK), 0);
    ns_run_control ctl2 = {NULL, NULL, NULL, ckpt, NULL};
    run_spec(yaml, &parts, &ctl2);
    ck_assert_int_eq(parts.res.status, NS_RUN_DONE);
    ck_assert_int_eq(parts.res.steps_done, 13);
    ck_assert_int_ne(access(ckpt, F_OK), 0); /* removed when the run finished */

    ck_assert_mem_eq(whole.loss, parts.loss, sizeof whole.loss);
    ck_assert_mem_eq(whole.test_loss, parts.test_loss, sizeof whole.test_loss);
    ck_assert_mem_eq(whole.land, parts.land, sizeof whole.land);
    ck_assert_mem_eq(whole.ics_l2, parts.ics_l2, sizeof whole.ics_l2);
    ck_assert_mem_eq(whole.weights, parts.weights, whole.nweights * sizeof(float));
    free(whole.weights);
    free(parts.weights);
    ns_test_rmtree(dir);
    edit_config = NULL;
}
END_TEST

/* ------------------------------------------------------------ divergence, Thm 4.1 */

START_TEST(divergence_is_recorded)
{
    mem m;
    memset(&m, 0, sizeof m);
    run_spec("name: t\n"
             "data: 'synthetic-cls:n=96,test=32,c=1,h=4,w=4,classes=3'\n"
             "train: {steps: 50, batch: 16, log_every: 1, diverge_above: 50}\n"
             "grid: {lr: [1000.0], arch: ['mlp:16-12-12-3'], norm: [none], seed: [1]}\n",
             &m, NULL);
    ck_assert_int_eq(m.res.status, NS_RUN_DIVERGED);
    ck_assert_int_ge(m.res.diverged_step, 1);
    ck_assert_int_lt(m.res.diverged_step, 50);
    ck_assert_int_eq(m.res.steps_done, m.res.diverged_step);
    ck_assert(strstr(m.res.message, "step") != NULL);
    /* the first logged loss above the bound (or non-finite) is the diverged step's */
    int d = m.res.diverged_step;
    for (int k = 0; k < d; k++)
        ck_assert_msg(m.loss[k] <= 50, "loss %g at step %d < diverged step %d", m.loss[k], k, d);
    ck_assert_msg(!(m.loss[d] <= 50), "loss %g at the diverged step %d", m.loss[d], d);
    free(m.weights);
}
END_TEST

/* No bound given (diverge_above defaults to +inf): only the NaN/inf check can
 * stop this run, which IEEE semantics make possible (error.h refuses fast-math). */
START_TEST(nonfinite_loss_is_recorded_as_divergence)
{
    mem m;
    memset(&m, 0, sizeof m);
    run_spec("name: t\n"
             "data: 'synthetic-cls:n=96,test=32,c=1,h=4,w=4,classes=3'\n"
             "train: {steps: 50, batch: 16, log_every: 1}\n"
             "grid: {lr: [1.0e30], arch: ['mlp:16-12-12-3'], norm: [none], seed: [1]}\n",
             &m, NULL);
    ck_assert_int_eq(m.res.status, NS_RUN_DIVERGED);
    ck_assert_int_ge(m.res.diverged_step, 1);
    ck_assert_int_lt(m.res.diverged_step, 50);
    ck_assert(isfinite(m.loss[0]));
    ck_assert_msg(!isfinite(m.loss[m.res.diverged_step]), "loss at the diverged step %g",
                  m.loss[m.res.diverged_step]);
    ck_assert(!isfinite(m.res.final_train_loss));
    free(m.weights);
}
END_TEST

START_TEST(theorem41_identity_on_batch_norm)
{
    mem m;
    memset(&m, 0, sizeof m);
    run_spec("name: t\n"
             "data: 'synthetic-cls:n=96,test=32,c=1,h=4,w=4,classes=3'\n"
             "train: {steps: 4, batch: 16, log_every: 1}\n"
             "grid: {lr: [0.1], arch: ['mlp:16-12-12-3'], norm: [batch], seed: [2]}\n"
             "probes: {every: 1, thm41: true}\n",
             &m, NULL);
    for (int p = 0; p < 4; p++)
        for (int l = 0; l < 2; l++) {
            ck_assert(m.thm_lhs[p][l] > 0);
            ns_assert_close(m.thm_lhs[p][l], m.thm_rhs[p][l], 1e-3);
        }
    free(m.weights);
}
END_TEST

/* ------------------------------------------------------------ probe state */

typedef struct span {
    const char *name;
    uintptr_t lo, hi;
} span;

/* Every array of the table lies in the block, on a cache line, in table order
 * without overlap; the workspaces are views of the net's params and grads
 * (the Hessian's gradient its own); free releases it all (ASan/LSan check). */
START_TEST(probe_state_is_one_block_bound_to_its_net)
{
    ns_spec *s = spec_of(MLP_SPEC(ALL_PROBES, ""));
    const ns_run_config *cfg = &s->runs[0];
    const ns_dataset *data = data_of(s);
    ns_run_dims d;
    ck_assert_int_eq(ns_run_dims_get(cfg, &data->info, &d), NS_OK);
    ns_norm_config norm;
    ck_assert_int_eq(ns_norm_parse(cfg->norm, &norm), NS_OK);
    ns_net *net = NULL;
    ck_assert_int_eq(ns_net_build(cfg->arch, &norm, data->info.shape, data->info.nclasses,
                                  NS_LOSS_SOFTMAX_CE, cfg->batch, &net),
                     NS_OK);
    ck_assert_int_eq(ns_net_init(net, cfg->seed, NS_INIT_GLOROT), NS_OK);
    d.nparams = net->nparams;
    ck_assert_int_gt(d.nunits, 0);
    ck_assert_int_gt(d.neta, 0);

    ns_run_probe p;
    ck_assert_int_eq(ns_run_probe_init(&p, cfg, &d, net), NS_OK);
    size_t n = net->nparams, L = (size_t)d.nlayers, M = (size_t)d.nnorm, U = (size_t)d.nunits;
    size_t Q = (size_t)d.nquant, E = (size_t)d.neta;
    (void)L, (void)M, (void)U, (void)Q, (void)E;
    span sp[64];
    int k = 0;
#define SPAN(type, name, len) sp[k++] = (span){#name, (uintptr_t)p.name, (uintptr_t)(p.name + (len))};
    struct { size_t L, M, U, Q, E, n, max_units, max_sample, lanczos, cn, K, V, SM, CL; } z = {
        L, M, U, Q, E, n, 12, 16, 0, 0, 0, 0, 0, 0}; /* the curvature is off */
    NS_RUN_PROBE_ARRAYS(SPAN)
#undef SPAN
    uintptr_t prev = (uintptr_t)p.block;
    for (int i = 0; i < k; i++) {
        ck_assert_msg(sp[i].lo % 64 == 0, "%s not on a cache line", sp[i].name);
        ck_assert_msg(sp[i].lo >= prev, "%s overlaps the array before it", sp[i].name);
        prev = sp[i].hi;
    }
    ck_assert_ptr_eq(p.ws_in_place.wx, net->params);
    ck_assert_ptr_eq(p.ws_in_place.gx, net->grads);
    ck_assert_ptr_eq(p.ws_hessian.wx, net->params);
    ck_assert_ptr_eq(p.ws_hessian.gx, p.hess_gx);
    ck_assert_ptr_eq(p.ws_in_place.gy, p.ws_gy);
    ck_assert_ptr_eq(p.ws_hessian.v, p.ws_v);
    ck_assert(p.ws_in_place.n == n && !p.ws_in_place.owned && !p.ws_hessian.owned);
    ck_assert_ptr_eq(p.layer_names[0], net->weights[0].name);
    ck_assert(isnan(p.thm_lhs[0]) && isnan(p.thm_rhs[M - 1]));
    ns_probe_ws view = p.ws_in_place;
    ns_probe_ws_free(&view); /* a view frees nothing: the net's buffers stay */
    ck_assert_ptr_null(view.wx);
    net->params[0] = 1.0f;
    ns_run_probe_free(&p);
    ck_assert_ptr_null(p.block);
    ns_run_probe_free(&p); /* twice is harmless */
    ns_net_free(net);
    ns_spec_free(s);
}
END_TEST

static Suite *run_suite(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, dln_depth1_probes_match_least_squares);
    tcase_add_test(tc, probes_do_not_change_training);
    tcase_add_test(tc, probes_do_not_change_adam_training);
    tcase_add_test(tc, same_spec_bitwise_same_run);
    tcase_add_loop_test(tc, kill_and_resume_is_bitwise_identical, 0, 2);
    tcase_add_test(tc, divergence_is_recorded);
    tcase_add_test(tc, nonfinite_loss_is_recorded_as_divergence);
    tcase_add_test(tc, theorem41_identity_on_batch_norm);
    tcase_add_test(tc, probe_state_is_one_block_bound_to_its_net);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(run_suite(), argc, argv); }
