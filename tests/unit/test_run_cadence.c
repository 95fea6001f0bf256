/* test_run_cadence.c - the wall-time cadences of a run (ns_run_cadence): the
 * rule, traces synced after every step at flush_s = 0 and never without a
 * cadence, a time flush never more than the interval's worth of steps apart,
 * and time checkpoints that leave the run bitwise what it is without them
 * (resumed from one, too).
 * ctest-timeout: 300 */
#include "ns_test.h"

#include "normsweep/data.h"
#include "normsweep/net.h"
#include "normsweep/run.h"
#include "normsweep/spec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run_mem_sink.h"

/* ------------------------------------------------------------ a counting sync */

/* Each test runs in its own process (Check's fork mode): globals are fresh. */
enum { MAXSYNC = 64 };
static int nsync;
static int synced_at[MAXSYNC]; /* logged steps the sink had seen at each sync */

static ns_status count_sync(void *ctx)
{
    const mem *m = ctx;
    if (nsync < MAXSYNC) synced_at[nsync] = m->nsteps_seen;
    nsync++;
    return NS_OK;
}

/* run_spec with the counting sync; a second call on the same `m` resumes. */
static void run_counted(const char *yaml, mem *m, const ns_run_control *ctl)
{
    ns_spec *s = spec_of(yaml);
    const ns_dataset *data = data_of(s);
    ns_run_sink sink;
    mem keep = *m;
    mem_init(m, &sink);
    if (keep.begun) *m = keep;
    sink.sync = count_sync;
    ns_run_result res;
    ck_assert_msg(ns_run_execute(&s->runs[0], data, &sink, ctl, &res) == NS_OK, "%s",
                  ns_error_msg());
    ns_spec_free(s);
}

static void assert_same_run(const mem *a, const mem *b)
{
    ck_assert_mem_eq(a->loss, b->loss, sizeof a->loss);
    ck_assert_mem_eq(a->gnorm, b->gnorm, sizeof a->gnorm);
    ck_assert_mem_eq(a->test_loss, b->test_loss, sizeof a->test_loss);
    ck_assert_mem_eq(a->land, b->land, sizeof a->land);
    ck_assert_mem_eq(a->ics_l2, b->ics_l2, sizeof a->ics_l2);
    ck_assert_uint_eq(a->nweights, b->nweights);
    ck_assert_mem_eq(a->weights, b->weights, a->nweights * sizeof(float));
}

#define SPEC MLP_SPEC(ALL_PROBES, "") /* 13 steps, every one logged */

/* ------------------------------------------------------------ the rule */

START_TEST(due_rule)
{
    ck_assert(ns_run_cadence_due(0.0, 0.0));      /* 0: every step */
    ck_assert(!ns_run_cadence_due(1.0, 0.999));
    ck_assert(ns_run_cadence_due(1.0, 1.0));
    ck_assert(ns_run_cadence_due(1.0, 7.5));
    ck_assert(!ns_run_cadence_due(-1.0, 1e9));    /* < 0: off */
    ck_assert(!ns_run_cadence_due(INFINITY, 1e300));
    ck_assert(!ns_run_cadence_due(NAN, 5.0));
    ck_assert(!ns_run_cadence_due(1.0, NAN));
}
END_TEST

/* ------------------------------------------------------------ flushes */

START_TEST(flush_zero_syncs_every_step_and_changes_nothing)
{
    mem plain, flushed;
    memset(&plain, 0, sizeof plain);
    memset(&flushed, 0, sizeof flushed);
    run_counted(SPEC, &plain, NULL);
    ck_assert_int_eq(nsync, 0); /* no control: synced by the sink's end only */

    ns_run_cadence cad = {0.0, 0.0};
    ns_run_control ctl = {NULL, NULL, NULL, NULL, &cad};
    run_counted(SPEC, &flushed, &ctl);
    ck_assert_int_eq(nsync, 13);
    for (int k = 0; k < 13; k++) ck_assert_int_eq(synced_at[k], k + 1); /* each step at once */
    assert_same_run(&plain, &flushed);
    free(plain.weights);
    free(flushed.weights);
}
END_TEST

START_TEST(flush_off_never_syncs)
{
    const double off[] = {INFINITY, -1.0, 1e9};
    for (int i = 0; i < 3; i++) {
        mem m;
        memset(&m, 0, sizeof m);
        nsync = 0;
        ns_run_cadence cad = {off[i], 0.0};
        ns_run_control ctl = {NULL, NULL, NULL, NULL, &cad};
        run_counted(SPEC, &m, &ctl);
        ck_assert_msg(nsync == 0, "flush_s %g: %d syncs", off[i], nsync);
        free(m.weights);
    }
}
END_TEST

/* Every step sleeps 20 ms (in the poll hook): with flush_s = 0.05 no more than
 * 3 steps (>= 60 ms) can pass between syncs, however loaded the machine. */
static void sleep_20ms(void *ctx)
{
    (void)ctx;
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

START_TEST(flush_by_time_bounds_the_unsynced_steps)
{
    mem m;
    memset(&m, 0, sizeof m);
    ns_run_cadence cad = {0.05, 0.0};
    ns_run_control ctl = {NULL, sleep_20ms, NULL, NULL, &cad};
    run_counted(SPEC, &m, &ctl);
    ck_assert_int_ge(nsync, 4);
    int prev = 0;
    for (int k = 0; k < nsync && k < MAXSYNC; k++) {
        ck_assert_msg(synced_at[k] - prev <= 3, "sync %d: %d steps after the previous one", k,
                      synced_at[k] - prev);
        prev = synced_at[k];
    }
    ck_assert_int_ge(prev, 10); /* the last sync is at most 3 steps before the end */
    free(m.weights);
}
END_TEST

/* ------------------------------------------------------------ time checkpoints */

typedef struct stopper {
    const char *ckpt;
    int calls, stop_at;
    int ckpt_seen; /* steps at whose start a checkpoint file existed */
} stopper;

static int stop_fn(void *ctx)
{
    stopper *s = ctx;
    if (s->calls > 0 && access(s->ckpt, F_OK) == 0) s->ckpt_seen++;
    return s->calls++ >= s->stop_at;
}

/* checkpoint_s tiny: a checkpoint after every step. Stop at step 6, resume:
 * bitwise the run without any cadence. With checkpoint_s = 0 (off) and no
 * checkpoint.every no checkpoint exists before the stop. */
START_TEST(time_checkpoints_are_bitwise_neutral)
{
    const char *dir = ns_test_tmpdir("cadence");
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/run.ckpt", dir);
    mem whole, parts, off;
    memset(&whole, 0, sizeof whole);
    memset(&parts, 0, sizeof parts);
    memset(&off, 0, sizeof off);
    run_counted(SPEC, &whole, NULL);

    ns_run_cadence none = {INFINITY, 0.0};
    stopper s0 = {ckpt, 0, 6, 0};
    ns_run_control c0 = {&s0, NULL, stop_fn, ckpt, &none};
    run_counted(SPEC, &off, &c0);
    ck_assert_int_eq(off.res.status, NS_RUN_STOPPED);
    ck_assert_int_eq(s0.ckpt_seen, 0);
    ck_assert_int_eq(nsync, 1); /* the stop checkpoint's */
    ck_assert_int_eq(unlink(ckpt), 0);

    nsync = 0;
    ns_run_cadence often = {INFINITY, 1e-9};
    stopper s1 = {ckpt, 0, 6, 0};
    ns_run_control c1 = {&s1, NULL, stop_fn, ckpt, &often};
    run_counted(SPEC, &parts, &c1);
    ck_assert_int_eq(parts.res.status, NS_RUN_STOPPED);
    ck_assert_int_eq(parts.res.steps_done, 6);
    ck_assert_int_eq(s1.ckpt_seen, 6); /* at the start of steps 1..6 */
    ck_assert_int_eq(nsync, 7);        /* 6 time checkpoints + the stop's, each synced first */
    ns_run_control c2 = {NULL, NULL, NULL, ckpt, &often};
    run_counted(SPEC, &parts, &c2);
    ck_assert_int_eq(parts.res.status, NS_RUN_DONE);
    ck_assert_int_eq(parts.res.steps_done, 13);
    ck_assert_int_ne(access(ckpt, F_OK), 0); /* removed when the run finished */
    assert_same_run(&whole, &parts);
    free(whole.weights);
    free(parts.weights);
    free(off.weights);
    ns_test_rmtree(dir);
}
END_TEST

static Suite *cadence_suite(void)
{
    Suite *s = suite_create("run_cadence");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, due_rule);
    tcase_add_test(tc, flush_zero_syncs_every_step_and_changes_nothing);
    tcase_add_test(tc, flush_off_never_syncs);
    tcase_add_test(tc, flush_by_time_bounds_the_unsynced_steps);
    tcase_add_test(tc, time_checkpoints_are_bitwise_neutral);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(cadence_suite(), argc, argv); }
