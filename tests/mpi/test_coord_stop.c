/* test_coord_stop.c - stopping a sweep over MPI: a signal on a worker or on
 * rank 0 only, a programmatic stop, a signal caught before the sweep starts,
 * and the log line and sidecar that announce it. The fake runs are in
 * coord_harness.c.
 * ctest-ranks: 2 3
 * ctest-sources: coord_harness.c
 * ctest-timeout: 120 */
#include "coord_harness.h"
#include "ns_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stop raised on `stop_rank` during its 2nd run or later (runs are 20 ms, the sweep
 * would take seconds). Checks: no rank starts a run once it knows of the stop;
 * every rank returns within 1 s and no run starts more than 0.25 s after the
 * stop (generous: the test machine is shared, a rank can be descheduled for
 * tens of ms); counts add up; complete == 0. */
static void check_stop(int stop_mode, int stop_rank)
{
    int rank = mpi_rank();
    enum { N = 300 };
    tctx t;
    tctx_init(&t, N, 0.020);
    t.stop_mode = stop_mode;
    t.stop_rank = stop_rank;
    t.stop_after = 1;
    ns_signals_install();
    ns_coord_opts o = {.nruns = N};
    ns_coord_result res;
    ns_status st = ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res);
    double t_ret = now_s(), t_stop = 0;
    MPI_Allreduce(&t.t_stop, &t_stop, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    int *total = calloc(N, sizeof(int)), *who = calloc(N, sizeof(int));
    gather_counts(&t, total, who);
    MPI_Barrier(MPI_COMM_WORLD);
    ns_signals_clear();
    MPI_Barrier(MPI_COMM_WORLD);
    ck_assert_int_eq(st, NS_OK);
    ck_assert_msg(t_stop > 0, "the stop was never raised");
    ck_assert_msg(t_ret - t_stop < 1.0, "rank %d returned %.3f s after the stop", rank,
                  t_ret - t_stop);
    for (int i = 0; i < N; i++)
        if (t.count[i])
            ck_assert_msg(t.t_begin[i] < t_stop + 0.25,
                          "run %d started on rank %d %.3f s after the stop", i, rank,
                          t.t_begin[i] - t_stop);
    ck_assert_int_eq(t.started_with_stop, 0);
    ck_assert_int_eq(res.complete, 0);
    ck_assert_int_eq(res.stop_requested, 1);
    ck_assert_int_eq(res.stop_signal, stop_mode == STOP_SIGNAL ? SIGUSR1 : 0);
    ck_assert_int_eq(res.n_done + res.n_stopped + res.n_pending, N);
    ck_assert_int_ge(res.n_stopped, 1); /* at least the stopping rank's own run */
    ck_assert_int_gt(res.n_pending, 100);
    int executed = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_int_le(total[i], 1);
        executed += total[i];
    }
    ck_assert_int_eq(executed, res.n_done + res.n_stopped);
    if (rank == 0)
        for (int i = 0; i < N; i++)
            ck_assert_int_eq(res.runs[i].status == NS_RUN_PENDING, total[i] == 0);
    free(total);
    free(who);
    ns_coord_result_free(&res);
    tctx_free(&t);
}

START_TEST(stop_signal_on_one_worker) { check_stop(STOP_SIGNAL, mpi_size() - 1); }
END_TEST

START_TEST(stop_signal_on_rank0_only) { check_stop(STOP_SIGNAL, 0); }
END_TEST

START_TEST(stop_requested_by_callback) { check_stop(STOP_PROGRAMMATIC, 1); }
END_TEST

/* A signal caught before the sweep starts. On rank 0: nothing runs at all. On
 * a worker: its STOP reaches rank 0 after rank 0 may already have started
 * (or handed out) a few runs; those stop at their next poll. */
static void check_stop_before_start(int raiser)
{
    enum { N = 100 };
    ns_signals_install();
    if (mpi_rank() == raiser) raise(SIGTERM);
    tctx t;
    tctx_init(&t, N, 0.01);
    ns_coord_opts o = {.nruns = N};
    ns_coord_result res;
    ns_status st = ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res);
    int ran = t.norder, all = 0;
    MPI_Allreduce(&ran, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    ns_signals_clear();
    MPI_Barrier(MPI_COMM_WORLD);
    ck_assert_int_eq(st, NS_OK);
    if (raiser == 0)
        ck_assert_int_eq(all, 0);
    else /* timing-dependent; N/2 runs would mean a stop ~0.2 s late */
        ck_assert_int_lt(all, N / 2);
    ck_assert_int_eq(t.started_with_stop, 0);
    ck_assert_int_eq(res.complete, 0);
    ck_assert_int_eq(res.stop_signal, SIGTERM);
    ck_assert_int_eq(res.n_done + res.n_stopped, all);
    ck_assert_int_eq(res.n_pending, N - all);
    ns_coord_result_free(&res);
    tctx_free(&t);
}

START_TEST(stop_before_start_on_rank0) { check_stop_before_start(0); }
END_TEST

START_TEST(stop_before_start_on_worker) { check_stop_before_start(mpi_size() - 1); }
END_TEST

/* A stop is announced on the log with the signal and the rank it came from,
 * and the sidecar ends with stop_requested true and complete false. */
START_TEST(stop_is_logged)
{
    int rank = mpi_rank(), size = mpi_size();
    sidecar sc;
    sidecar_init(&sc, "coordstop");
    FILE *log = tmpfile();
    tctx t;
    tctx_init(&t, 50, 0.02);
    t.stop_mode = STOP_SIGNAL;
    t.stop_rank = size - 1;
    t.stop_after = 0;
    ns_signals_install();
    ns_coord_opts o = {.nruns = 50, .log = log, .progress_json = sc.json};
    ns_coord_result res;
    ns_status st = ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res);
    MPI_Barrier(MPI_COMM_WORLD);
    ns_signals_clear();
    MPI_Barrier(MPI_COMM_WORLD);
    ck_assert_int_eq(st, NS_OK);
    if (rank == 0) {
        char text[4096], want[128], js[2048];
        read_stream(log, text, sizeof text);
        /* the signal, the rank, and who sent it (raise(): the rank itself) */
        snprintf(want, sizeof want,
                 "sweep: stop requested (SIGUSR1 on rank %d, from test_coord_stop (pid ", size - 1);
        ck_assert_msg(strstr(text, want) != NULL, "log was: %s", text);
        read_file(sc.json, js, sizeof js);
        ck_assert_msg(strstr(js, "\"stop_requested\": true, \"finished\": true, "
                                 "\"complete\": false") != NULL, "sidecar: %s", js);
        ck_assert_ptr_nonnull(strstr(js, "\"eta_s\": null,"));
        ns_test_rmtree(sc.dir);
    }
    fclose(log);
    ns_coord_result_free(&res);
    tctx_free(&t);
}
END_TEST

static Suite *coord_stop_suite(void)
{
    Suite *s = suite_create("coord_stop");
    TCase *tc = tcase_create("stop");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stop_signal_on_one_worker);
    tcase_add_test(tc, stop_signal_on_rank0_only);
    tcase_add_test(tc, stop_requested_by_callback);
    tcase_add_test(tc, stop_before_start_on_rank0);
    tcase_add_test(tc, stop_before_start_on_worker);
    tcase_add_test(tc, stop_is_logged);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main_mpi(coord_stop_suite(), argc, argv); }
