/* test_save_weights.c - save_weights: {at: [...]} from the spec key to the
 * run's sink: the steps are read and checked (one line per bad value), the
 * canonical text names them only when given, the weights handed to the sink
 * at step t are w_t (step 0: the initialization, parameters and BN state),
 * saving does not change training, and a run that dies between two save steps
 * and resumes from its checkpoint hands the sink the same bits again. */
#include "spec_expect.h"

#include "normsweep/data.h"
#include "normsweep/net.h"
#include "normsweep/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPEC(save, extra)                                                                     \
    "data: 'synthetic-cls:n=96,test=32,c=1,h=4,w=4,classes=3'\n"                              \
    "train: {steps: 13, batch: 16, eval_every: 4, momentum: 0.9}\n"                           \
    "grid: {lr: [0.05], arch: ['mlp:16-12-12-3'], norm: [batch], seed: [7]}\n"                \
    "probes: {every: 3, eta: {count: 2}, ics: {layers: all}}\n" save extra

#define SAVES "save_weights: {at: [0, 5, 9]}\n"

/* ------------------------------------------------------------ the spec key */

START_TEST(steps_are_read_and_checked)
{
    ns_spec *s = spec_ok(SPEC(SAVES, ""), NULL);
    const ns_run_config *r = &s->runs[0];
    ck_assert_int_eq(r->nsave, 3);
    ck_assert(r->save_at[0] == 0 && r->save_at[1] == 5 && r->save_at[2] == 9);
    char *c = ns_spec_canonical(s);
    ck_assert_ptr_nonnull(strstr(c, ",\"checkpoint\":{\"every\":0},\"save_weights\":{\"at\":[0,5,9]},"
                                    "\"nruns\":1}"));
    free(c);
    ns_spec_free(s);
    s = spec_ok(SPEC("", ""), NULL); /* without the key: nothing saved, the text as before */
    ck_assert_int_eq(s->runs[0].nsave, 0);
    c = ns_spec_canonical(s);
    ck_assert_ptr_null(strstr(c, "save_weights"));
    ck_assert_ptr_nonnull(strstr(c, ",\"checkpoint\":{\"every\":0},\"nruns\":1}"));
    free(c);
    ns_spec_free(s);

    EXPECT_ERRORS(SPEC("save_weights: {at: [0, 13, -1, 5, 5]}\n", ""),
                  "t.yaml:5:24: save_weights.at[1]: step 13 is outside [0, train.steps = 13) (the "
                  "final weights are always stored)\n"
                  "t.yaml:5:28: save_weights.at[2]: a step must be >= 0, got -1\n"
                  "t.yaml:5:35: save_weights.at[4]: steps must be strictly increasing (5 after 5)\n");
    EXPECT_ERRORS(SPEC("save_weights: {at: []}\n", ""),
                  "t.yaml:5:20: save_weights.at: must not be empty\n");
    EXPECT_ERRORS(SPEC("save_weights: {every: 3}\n", ""),
                  "t.yaml:5:15: save_weights: missing key 'at' ([0, ...]: steps whose weights to "
                  "keep)\n"
                  "t.yaml:5:16: save_weights: unknown key 'every' (expected one of: at)\n");
    char many[1024] = SPEC("save_weights: {at: [0", "");
    for (int i = 1; i <= NS_SPEC_MAX_SAVE_STEPS; i++) snprintf(many + strlen(many), 16, ", %d", i);
    strcat(many, "]}\n");
    spec_errors(many, NULL, "t.yaml:5:20: save_weights.at: too many values (65, at most 64)\n");
}
END_TEST

/* ------------------------------------------------------------ the run */

typedef struct saves {
    float *w[NS_SPEC_MAX_SAVE_STEPS]; /* the weights handed over at save i */
    int calls[NS_SPEC_MAX_SAVE_STEPS];
    float *final;
    size_t n;
    int64_t fail_at; /* the step callback fails at this step: a run that dies */
} saves;

static float *flat_copy(const ns_net *net, size_t *n)
{
    *n = net->nparams + net->nstate;
    float *w = malloc(*n * sizeof *w);
    ck_assert_ptr_nonnull(w);
    memcpy(w, net->params, net->nparams * sizeof *w);
    memcpy(w + net->nparams, net->state, net->nstate * sizeof *w);
    return w;
}

static ns_status s_save(void *ctx, int index, int64_t step, const ns_net *net)
{
    saves *m = ctx;
    static const int64_t want[3] = {0, 5, 9};
    ck_assert_int_lt(index, 3);
    ck_assert_int_eq(step, want[index]);
    float *w = flat_copy(net, &m->n);
    if (m->w[index]) /* again after a resume: the same bits */
        ck_assert_mem_eq(m->w[index], w, m->n * sizeof *w);
    free(m->w[index]);
    m->w[index] = w;
    m->calls[index]++;
    return NS_OK;
}

static ns_status s_step(void *ctx, const ns_step_rec *r)
{
    saves *m = ctx;
    if (r->step == m->fail_at) return ns_error_set(NS_ERR_IO, "the job died at step %lld", (long long)r->step);
    return NS_OK;
}

static ns_status s_weights(void *ctx, const ns_net *net)
{
    saves *m = ctx;
    free(m->final);
    m->final = flat_copy(net, &m->n);
    return NS_OK;
}

static void saves_free(saves *m)
{
    for (int i = 0; i < NS_SPEC_MAX_SAVE_STEPS; i++) free(m->w[i]);
    free(m->final);
}

/* Run the spec's only run into m; returns the run's status. */
static ns_run_status run_into(const char *yaml, saves *m, const char *ckpt)
{
    ns_spec *s = spec_ok(yaml, NULL);
    const ns_dataset *data = NULL;
    ck_assert_int_eq(ns_dataset_cache_get(s->data, s->runs[0].data_seed, &data), NS_OK);
    ns_run_sink sink = {.ctx = m, .step = s_step, .weights = s_weights, .save = s_save};
    ns_run_control ctl = {.checkpoint_path = ckpt};
    ns_run_result res;
    ns_run_execute(&s->runs[0], data, &sink, ckpt ? &ctl : NULL, &res);
    ns_spec_free(s);
    return res.status;
}

/* Step 0's save is the initialization (parameters and BN running statistics);
 * later saves differ from it; the final weights are those of a run without
 * save_weights, bit for bit. */
START_TEST(saves_are_w_t_and_leave_training_alone)
{
    saves a = {.fail_at = -1}, b = {.fail_at = -1};
    ck_assert_int_eq(run_into(SPEC(SAVES, ""), &a, NULL), NS_RUN_DONE);
    ck_assert_int_eq(run_into(SPEC("", ""), &b, NULL), NS_RUN_DONE);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(a.calls[i], 1);
    ck_assert_ptr_null(b.w[0]);
    ck_assert_mem_eq(a.final, b.final, a.n * sizeof(float));

    ns_norm_config bn;
    ck_assert_int_eq(ns_norm_parse("batch", &bn), NS_OK);
    ns_net *net = NULL;
    ck_assert_int_eq(ns_net_build("mlp:16-12-12-3", &bn, (ns_shape){1, 4, 4}, 3,
                                  NS_LOSS_SOFTMAX_CE, 16, &net), NS_OK);
    ck_assert_int_eq(ns_net_init(net, 7, NS_INIT_GLOROT), NS_OK);
    size_t n;
    float *init = flat_copy(net, &n);
    ck_assert_uint_eq(n, a.n);
    ck_assert_uint_gt(net->nstate, 0); /* BN's running statistics are in the save */
    ck_assert_mem_eq(a.w[0], init, n * sizeof(float));
    ck_assert(memcmp(a.w[1], init, net->nparams * sizeof(float)) != 0);
    ck_assert(memcmp(a.w[2] + net->nparams, a.w[1] + net->nparams,
                     net->nstate * sizeof(float)) != 0); /* the state moved on too */
    free(init);
    ns_net_free(net);
    saves_free(&a);
    saves_free(&b);
}
END_TEST

/* Checkpoints every 4 steps (after steps 3 and 7); the run dies at step 6,
 * after save 5 and before the next checkpoint. Resumed from step 4, it saves
 * step 5 again - the same bits (s_save asserts it) - and then step 9: every
 * save and the final weights equal the uninterrupted run's. */
START_TEST(a_run_killed_between_saves_resumes_to_the_same_saves)
{
    const char *dir = ns_test_tmpdir("save");
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", dir);
    const char *yaml = SPEC(SAVES, "checkpoint: {every: 4}\n");
    saves whole = {.fail_at = -1}, parts = {.fail_at = 6};
    ck_assert_int_eq(run_into(yaml, &whole, NULL), NS_RUN_DONE);
    ck_assert_int_eq(run_into(yaml, &parts, ckpt), NS_RUN_FAILED);
    ck_assert_int_eq(access(ckpt, F_OK), 0);
    ck_assert_int_eq(parts.calls[1], 1);
    ck_assert_ptr_null(parts.w[2]);
    parts.fail_at = -1;
    ck_assert_int_eq(run_into(yaml, &parts, ckpt), NS_RUN_DONE);
    ck_assert_int_eq(parts.calls[0], 1); /* before the checkpoint: not again */
    ck_assert_int_eq(parts.calls[1], 2); /* after it: again, the same bits */
    ck_assert_int_eq(parts.calls[2], 1);
    for (int i = 0; i < 3; i++) ck_assert_mem_eq(whole.w[i], parts.w[i], whole.n * sizeof(float));
    ck_assert_mem_eq(whole.final, parts.final, whole.n * sizeof(float));
    saves_free(&whole);
    saves_free(&parts);
    ns_test_rmtree(dir);
}
END_TEST

static Suite *save_weights_suite(void)
{
    Suite *s = suite_create("save_weights");
    TCase *tc = tcase_create("save_weights");
    tcase_add_test(tc, steps_are_read_and_checked);
    tcase_add_test(tc, saves_are_w_t_and_leave_training_alone);
    tcase_add_test(tc, a_run_killed_between_saves_resumes_to_the_same_saves);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(save_weights_suite(), argc, argv); }
