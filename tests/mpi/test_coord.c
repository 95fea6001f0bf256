/* test_coord.c - the coordinator over MPI: exactly-once dispatch, longest-first
 * order, failed/diverged outcomes, idle ranks sleeping, live ranks in runs
 * longer than a short --rank-timeout, progress output, option errors, and
 * dispatch throughput. Stops are in test_coord_stop.c; the fake runs in
 * coord_harness.c.
 *
 * `test_coord --bench [--runs N] [--work-ms W] [--step-ms S]` runs the
 * throughput benchmark instead (bench/coord_throughput.sh drives it).
 * ctest-ranks: 2 3
 * ctest-sources: coord_harness.c
 * ctest-timeout: 120 */
#define _DEFAULT_SOURCE /* getloadavg */
#include "coord_harness.h"
#include "ns_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- exactly once */

static void check_exactly_once(int nruns, int with_skip)
{
    int size = mpi_size(), rank = mpi_rank();
    tctx t;
    tctx_init(&t, nruns, 0.010);
    unsigned char *skip = calloc((size_t)(nruns > 0 ? nruns : 1), 1);
    int nskip = 0;
    for (int i = 0; with_skip && i < nruns; i += 5) skip[i] = 1, nskip++;
    ns_coord_opts o = {.nruns = nruns, .skip = with_skip ? skip : NULL};
    ns_coord_result res;
    ns_status st = ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res);

    /* Collectives first: a failed assertion on one rank must not leave the
     * others waiting in a reduction. */
    int n = nruns > 0 ? nruns : 1;
    int *total = calloc((size_t)n, sizeof(int)), *who = calloc((size_t)n, sizeof(int));
    gather_counts(&t, total, who);
    int ran = t.norder > 0, nran = 0;
    MPI_Allreduce(&ran, &nran, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    ck_assert_int_eq(st, NS_OK);
    for (int i = 0; i < nruns; i++)
        ck_assert_msg(total[i] == (skip[i] ? 0 : 1), "nruns %d: run %d executed %d times",
                      nruns, i, total[i]);
    ck_assert_int_eq(res.complete, 1);
    ck_assert_int_eq(res.stop_requested, 0);
    ck_assert_int_eq(res.nruns, nruns);
    ck_assert_int_eq(res.n_done, nruns - nskip);
    ck_assert_int_eq(res.n_skipped, nskip);
    ck_assert_int_eq(res.n_pending + res.n_failed + res.n_stopped + res.n_diverged, 0);
    if (rank == 0) {
        ck_assert_ptr_nonnull(res.runs);
        int seen_seq = 0;
        for (int i = 0; i < nruns; i++) {
            const ns_run_outcome *r = &res.runs[i];
            if (skip[i]) {
                ck_assert_int_eq(r->status, NS_RUN_SKIPPED);
                ck_assert_int_eq(r->rank, -1);
                continue;
            }
            ck_assert_int_eq(r->status, NS_RUN_DONE);
            ck_assert_int_eq(r->rank, who[i]); /* rank 0 knows who ran it */
            ck_assert(r->wall_s >= 0.009 && r->wall_s < 1.0);
            ns_assert_close(r->final_loss, 1.0 / (1.0 + i), 1e-12);
            ck_assert_int_eq(r->steps, 1000 + i);
            ck_assert(r->dispatch_seq >= 0 && r->dispatch_seq < nruns - nskip);
            seen_seq += r->dispatch_seq;
        }
        int m = nruns - nskip;
        ck_assert_int_eq(seen_seq, m * (m - 1) / 2); /* a permutation of 0..m-1 */
    } else {
        ck_assert_ptr_null(res.runs);
    }
    if (nruns == 37) ck_assert_int_eq(nran, size); /* all N ranks train */
    ns_coord_result_free(&res);
    free(total);
    free(who);
    free(skip);
    tctx_free(&t);
}

/* One loop iteration per case, so a failure in one case cannot make this
 * rank skip the collective calls of the next. */
START_TEST(exactly_once)
{
    int n = mpi_size();
    int nruns[] = {0, 1, n - 1, n, 37, 37, n}, skip[] = {0, 0, 0, 0, 0, 1, 1};
    check_exactly_once(nruns[_i], skip[_i]);
}
END_TEST

/* Every rank alone (MPI_COMM_SELF): the order of execution is exactly cost
 * descending, ties by index. */
START_TEST(longest_first_single_rank)
{
    enum { N = 23 };
    double cost[N];
    for (int i = 0; i < N; i++) cost[i] = (double)((i * 7 + 3) % 11); /* ties included */
    unsigned char skip[N] = {0};
    skip[4] = skip[17] = 1;
    tctx t;
    tctx_init(&t, N, 0.0);
    ns_coord_opts o = {.nruns = N, .cost = cost, .skip = skip};
    ns_coord_result res;
    ck_assert_int_eq(ns_coord_execute(MPI_COMM_SELF, &o, test_run, &t, &res), NS_OK);
    ck_assert_int_eq(t.norder, N - 2);
    for (int k = 1; k < t.norder; k++) {
        int a = t.order[k - 1], b = t.order[k];
        ck_assert_msg(cost[a] > cost[b] || (cost[a] == cost[b] && a < b),
                      "position %d: run %d (cost %g) before run %d (cost %g)", k, a, cost[a], b,
                      cost[b]);
    }
    for (int k = 0; k < t.norder; k++) ck_assert_int_eq(res.runs[t.order[k]].dispatch_seq, k);
    ck_assert_int_eq(t.order[0], 1); /* cost 10 is run 1 ((1*7+3)%11) */
    ck_assert_int_eq(res.complete, 1);
    ns_coord_result_free(&res);
    tctx_free(&t);
}
END_TEST

/* With N ranks the hand-out order (dispatch_seq) is still longest first. */
START_TEST(longest_first_many_ranks)
{
    enum { N = 30 };
    double cost[N];
    for (int i = 0; i < N; i++) cost[i] = (double)((i * 13 + 5) % 17) + 0.5;
    tctx t;
    tctx_init(&t, N, 0.004);
    ns_coord_opts o = {.nruns = N, .cost = cost};
    ns_coord_result res;
    ck_assert_int_eq(ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res), NS_OK);
    if (mpi_rank() == 0) {
        int by_seq[N];
        for (int i = 0; i < N; i++) by_seq[res.runs[i].dispatch_seq] = i;
        for (int k = 1; k < N; k++)
            ck_assert_msg(cost[by_seq[k - 1]] >= cost[by_seq[k]], "dispatch %d out of order", k);
    }
    ns_coord_result_free(&res);
    tctx_free(&t);
}
END_TEST

/* ---------------------------------------------------------------- outcomes */

START_TEST(failed_and_diverged_runs_are_recorded)
{
    tctx t;
    tctx_init(&t, 12, 0.002);
    t.fail_run = 3;
    t.diverge_run = 5;
    t.bad_status_run = 8;
    ns_coord_opts o = {.nruns = 12};
    ns_coord_result res;
    ck_assert_int_eq(ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res), NS_OK);
    ck_assert_int_eq(res.n_failed, 2);
    ck_assert_int_eq(res.n_diverged, 1);
    ck_assert_int_eq(res.n_done, 9);
    ck_assert_int_eq(res.complete, 1); /* every run has a final outcome */
    if (mpi_rank() == 0) {
        ck_assert_int_eq(res.runs[3].status, NS_RUN_FAILED);
        ck_assert_str_eq(res.runs[3].msg, "NS_ERR_NUMERIC: boom in run 3");
        ck_assert_int_eq(res.runs[5].status, NS_RUN_DIVERGED);
        ck_assert_int_eq(res.runs[8].status, NS_RUN_FAILED);
        ck_assert_ptr_nonnull(strstr(res.runs[8].msg, "out->status = 0"));
        ck_assert_str_eq(ns_run_status_name(NS_RUN_DIVERGED), "diverged");
    }
    ns_coord_result_free(&res);
    tctx_free(&t);
}
END_TEST

/* ---------------------------------------------------------------- idle CPU */

/* A rank with nothing to run waits for another rank's long run; its process
 * CPU time (all threads) outside callbacks must stay under 10% of wall. */
static void check_idle_cpu(int nruns, double rank0_work_s, const char *what)
{
    tctx t;
    tctx_init(&t, nruns, 1.0);
    t.rank0_work_s = rank0_work_s;
    ns_coord_opts o = {.nruns = nruns};
    ns_coord_result res;
    double w0 = now_s(), c0 = cpu_s();
    ns_status st = ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res);
    double idle_wall = now_s() - w0 - t.cb_wall, idle_cpu = cpu_s() - c0 - t.cb_cpu;
    int waited = idle_wall > 0.5, nwaited = 0;
    MPI_Allreduce(&waited, &nwaited, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    ck_assert_int_eq(st, NS_OK);
    if (waited) {
        double frac = idle_cpu / idle_wall;
        if (getenv("NS_TEST_VERBOSE"))
            printf("%s: rank %d idle %.3f s wall, %.4f s cpu (%.2f%%)\n", what, mpi_rank(),
                   idle_wall, idle_cpu, 100 * frac);
        ck_assert_msg(frac < 0.10, "%s: rank %d used %.1f%% CPU while waiting %.2f s", what,
                      mpi_rank(), 100 * frac, idle_wall);
    }
    ck_assert_int_ge(nwaited, 1); /* the test measured someone */
    ns_coord_result_free(&res);
    tctx_free(&t);
}

START_TEST(idle_ranks_sleep)
{
    if (_i == 0) /* One 1 s run: everyone else waits (parked workers, or rank 0). */
        check_idle_cpu(1, -1, "one long run");
    else /* Rank 0's runs are short (50 ms), the workers' 1 s: rank 0 waits. */
        check_idle_cpu(mpi_size(), 0.05, "rank 0 waiting");
}
END_TEST

/* ---------------------------------------------------------------- liveness */

/* Runs 4x longer than --rank-timeout (0.4 s): a worker in a run says nothing
 * but heartbeats, which must come often enough (rank_timeout/4) that rank 0
 * never takes a live rank for dead. At the 5 s fixed heartbeat it stopped the
 * sweep after 0.4 s. Sleeping steps: 2 cores hold 3 ranks. */
START_TEST(short_rank_timeout_keeps_live_ranks)
{
    int size = mpi_size();
    tctx t;
    tctx_init(&t, size, 1.6);
    t.sleep_steps = 1;
    t.step_s = 0.005;
    ns_coord_opts o = {.nruns = size, .rank_timeout_s = 0.4};
    ns_coord_result res;
    ns_status st = ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res);
    ck_assert_int_eq(st, NS_OK);
    ck_assert_int_eq(res.n_lost, 0);
    ck_assert_int_eq(res.stop_requested, 0);
    ck_assert_int_eq(res.complete, 1);
    ck_assert_int_eq(res.n_done, size);
    ns_coord_result_free(&res);
    tctx_free(&t);
}
END_TEST

/* ---------------------------------------------------------------- progress */

static int count_lines(const char *text, const char *prefix)
{
    int n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, strlen(prefix)) == 0;
    return n;
}

START_TEST(progress_lines_and_sidecar)
{
    int rank = mpi_rank();
    sidecar sc;
    sidecar_init(&sc, "coord");
    FILE *log = tmpfile();
    tctx t;
    tctx_init(&t, 20, 0.010);
    ns_coord_opts o = {.nruns = 20, .progress_every_s = 0.04, .progress_json = sc.json, .log = log};
    ns_coord_result res;
    ck_assert_int_eq(ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res), NS_OK);
    if (rank == 0) {
        char text[16384], js[2048];
        read_stream(log, text, sizeof text);
        /* 20 x 10 ms over N ranks: >= 60 ms, so at least one interval line and the final one. */
        ck_assert_int_ge(count_lines(text, "sweep: "), 2);
        const char *last = strstr(text, "sweep: 20/20 finished (done 20, diverged 0, failed 0, "
                                        "stopped 0) | running 0, queued 0, pending 0, skipped 0");
        ck_assert_msg(last != NULL, "no final progress line in:\n%s", text);
        read_file(sc.json, js, sizeof js);
        ck_assert_ptr_nonnull(strstr(js, "\"done\": 20,"));
        ck_assert_ptr_nonnull(strstr(js, "\"pending\": 0,"));
        ck_assert_ptr_nonnull(strstr(js, "\"complete\": true"));
        ck_assert_ptr_nonnull(strstr(js, "\"finished\": true"));
        ck_assert_ptr_nonnull(strstr(js, "\"eta_s\": 0.0,"));
        char tmp[700];
        snprintf(tmp, sizeof tmp, "%s.tmp", sc.json);
        ck_assert_int_ne(access(tmp, F_OK), 0); /* renamed into place, nothing left over */
        ns_test_rmtree(sc.dir);
    }
    fclose(log);
    ns_coord_result_free(&res);
    tctx_free(&t);
}
END_TEST

/* ---------------------------------------------------------------- errors */

/* Every case runs on every rank before any assertion, so a failure on one
 * rank cannot leave the others in a different collective. */
START_TEST(bad_options_fail_on_every_rank)
{
    int rank = mpi_rank();
    tctx t;
    tctx_init(&t, 4, 0.001);
    ns_coord_result res;
    double cost[4] = {1, NAN, 2, 3};
    const char *json = "/nonexistent-dir/x/progress.json";
    struct {
        ns_coord_opts o;
        int fn_null, opts_null;
        ns_status want;
        const char *msg0, *msg; /* expected in the message on rank 0 / elsewhere */
    } cases[] = {
        {{.nruns = -1}, 0, 0, NS_ERR_ARG, "nruns = -1", "nruns = -1"},
        {{.nruns = 4, .cost = cost}, 0, 0, NS_ERR_ARG, "cost[1] = nan", "another rank"},
        {{.nruns = 4, .progress_json = json}, 0, 0, NS_ERR_IO, json, "another rank"},
        {{.nruns = rank == 0 ? 4 : 3}, 0, 0, NS_ERR_ARG, "nruns differs", "nruns differs"},
        {{.nruns = 4, .progress_every_s = -1}, 0, 0, NS_ERR_ARG, "progress_every_s = -1",
         "another rank"},
        {{.nruns = 4}, 1, 0, NS_ERR_ARG, "must not be NULL", "must not be NULL"},
        {{.nruns = 4}, 0, 1, NS_ERR_ARG, "must not be NULL", "must not be NULL"},
    };
    enum { NC = sizeof cases / sizeof cases[0] };
    ns_status got[NC];
    char msg[NC][256];
    for (int k = 0; k < NC; k++) {
        got[k] = ns_coord_execute(MPI_COMM_WORLD, cases[k].opts_null ? NULL : &cases[k].o,
                                  cases[k].fn_null ? NULL : test_run, &t, &res);
        snprintf(msg[k], sizeof msg[k], "%s", ns_error_msg());
    }
    int ran = t.norder, all = 0;
    MPI_Allreduce(&ran, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (int k = 0; k < NC; k++) {
        ck_assert_msg(got[k] == cases[k].want, "case %d: %s", k, ns_status_name(got[k]));
        const char *want = rank == 0 ? cases[k].msg0 : cases[k].msg;
        ck_assert_msg(strstr(msg[k], want), "case %d: message '%s' lacks '%s'", k, msg[k], want);
    }
    ck_assert_int_eq(all, 0); /* nothing ran */
    tctx_free(&t);
}
END_TEST

/* The MPI return-code policy (mpi_check.h): with MPI_ERRORS_RETURN a failing
 * call is reported as NS_ERR_MPI naming the call, on every rank, instead of
 * being ignored (an invalid communicator once went on to MPI_Comm_rank on an
 * undefined handle). */
START_TEST(mpi_errors_are_returned)
{
    tctx t;
    tctx_init(&t, 4, 0.001);
    ns_coord_opts o = {.nruns = 4};
    ns_coord_result res;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    ns_status st = ns_coord_execute(MPI_COMM_NULL, &o, test_run, &t, &res);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", ns_error_msg());
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    ck_assert_int_eq(st, NS_ERR_MPI);
    ck_assert_msg(strstr(msg, "MPI_Comm_dup") && strstr(msg, "MPI_ERR_COMM"), "message: %s", msg);
    ck_assert_int_eq(t.norder, 0);
    ns_coord_result_free(&res);
    tctx_free(&t);
}
END_TEST

/* ---------------------------------------------------------------- throughput */

typedef struct bench_result {
    double wall, ideal, ratio, work, work_ratio, max_gap;
    double startup;  /* sweep start -> first run starts anywhere           */
    double teardown; /* last run ends anywhere -> the last rank returns   */
} bench_result;

/* nruns equal runs of work_s busy wall time each; ratio = wall / (nominal
 * total / N). A descheduled rank overruns its runs' nominal length, so
 * work_ratio = wall / (measured total run time / N) isolates the
 * coordinator's own cost. max_gap: longest time a rank spent between two of
 * its runs. */
static bench_result bench(int nruns, double work_s, double step_s)
{
    int size = mpi_size();
    tctx t;
    tctx_init(&t, nruns, work_s);
    t.step_s = step_s;
    ns_coord_opts o = {.nruns = nruns};
    ns_coord_result res;
    MPI_Barrier(MPI_COMM_WORLD);
    double w0 = now_s();
    ns_status st = ns_coord_execute(MPI_COMM_WORLD, &o, test_run, &t, &res);
    double t_ret = now_s(), w = t_ret - w0, wall = 0;
    NS_ASSERT(st == NS_OK && res.complete);
    MPI_Allreduce(&w, &wall, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    double gap = 0, max_gap = 0;
    for (int k = 1; k < t.norder; k++) {
        double g = t.t_begin[t.order[k]] - t.t_end[t.order[k - 1]];
        if (g > gap) gap = g;
    }
    MPI_Allreduce(&gap, &max_gap, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    /* One clock on one node: compare times across ranks. max of -first = -min. */
    double work = 0, edges[3] = {-1e300, -1e300, t_ret}, max_edges[3];
    if (t.norder > 0) {
        edges[0] = -t.t_begin[t.order[0]];
        edges[1] = t.t_end[t.order[t.norder - 1]];
    }
    MPI_Allreduce(&t.cb_wall, &work, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(edges, max_edges, 3, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    bench_result b = {.wall = wall, .ideal = nruns * work_s / size, .work = work,
                      .max_gap = max_gap, .startup = -max_edges[0] - w0,
                      .teardown = max_edges[2] - max_edges[1]};
    b.ratio = b.wall / b.ideal;
    b.work_ratio = b.wall / (work / size);
    ns_coord_result_free(&res);
    tctx_free(&t);
    return b;
}

START_TEST(throughput_equal_runs)
{
    /* Wall time measures the coordinator only when our N ranks have the cores
     * to themselves: skipped when oversubscribed, or when other processes keep
     * the machine busy (1-min load above cores + 0.5; our own ranks count ~N). */
    long ncores = sysconf(_SC_NPROCESSORS_ONLN);
    double load[1] = {0};
    int got = getloadavg(load, 1);
    int busy = mpi_size() > ncores || got != 1 || load[0] > (double)ncores + 0.5;
    MPI_Bcast(&busy, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (busy) {
        if (mpi_rank() == 0)
            printf("throughput_equal_runs: skipped (N=%d, %ld cores, load %.2f)\n", mpi_size(),
                   ncores, load[0]);
        return;
    }
    /* 60 runs of 10 ms per rank. Judged on the measured run time (work_ratio):
     * on a shared machine a descheduled rank overruns its runs, which is not
     * the coordinator's cost. The tail alone can idle a rank for up to one run
     * in 60. */
    bench_result b = bench(60 * mpi_size(), 0.01, 0.001);
    if (mpi_rank() == 0 && getenv("NS_TEST_VERBOSE"))
        printf("throughput: N=%d wall %.3f s ideal %.3f s ratio %.4f (measured work: %.4f) "
               "max gap %.2f ms\n",
               mpi_size(), b.wall, b.ideal, b.ratio, b.work_ratio, 1e3 * b.max_gap);
    ck_assert_msg(b.work_ratio < 1.10, "wall/(work/N) = %.3f", b.work_ratio);
    ck_assert_msg(b.max_gap < 0.1, "a rank waited %.1f ms between runs", 1e3 * b.max_gap);
}
END_TEST

static int bench_main(int argc, char **argv)
{
    int nruns = 0, rank, size;
    double work_ms = 50, step_ms = 1;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) nruns = atoi(argv[++i]);
        else if (strcmp(argv[i], "--work-ms") == 0 && i + 1 < argc) work_ms = atof(argv[++i]);
        else if (strcmp(argv[i], "--step-ms") == 0 && i + 1 < argc) step_ms = atof(argv[++i]);
    }
    if (nruns <= 0) nruns = 40 * size;
    bench_result b = bench(nruns, work_ms * 1e-3, step_ms * 1e-3);
    if (rank == 0)
        printf("coord_throughput: N=%d runs=%d work=%.1f ms step=%.2f ms wall=%.4f s "
               "ideal=%.4f s ratio=%.4f measured_work=%.4f s work_ratio=%.4f "
               "max_gap=%.3f ms startup=%.2f ms teardown=%.2f ms\n",
               size, nruns, work_ms, step_ms, b.wall, b.ideal, b.ratio, b.work,
               b.work_ratio, 1e3 * b.max_gap, 1e3 * b.startup, 1e3 * b.teardown);
    MPI_Finalize();
    return 0;
}

static Suite *coord_suite(void)
{
    Suite *s = suite_create("coord");
    TCase *tc = tcase_create("dispatch");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, exactly_once, 0, 7);
    tcase_add_test(tc, longest_first_single_rank);
    tcase_add_test(tc, longest_first_many_ranks);
    tcase_add_test(tc, failed_and_diverged_runs_are_recorded);
    tcase_add_loop_test(tc, idle_ranks_sleep, 0, 2);
    tcase_add_test(tc, short_rank_timeout_keeps_live_ranks);
    tcase_add_test(tc, progress_lines_and_sidecar);
    tcase_add_test(tc, bad_options_fail_on_every_rank);
    tcase_add_test(tc, mpi_errors_are_returned);
    tcase_add_test(tc, throughput_equal_runs);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--bench") == 0) return bench_main(argc, argv);
    return ns_test_main_mpi(coord_suite(), argc, argv);
}
