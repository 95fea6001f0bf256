/* test_coord_progress.c - the coordinator's progress line, ETA estimate and
 * JSON sidecar (src/coord/progress.c), and rank 0's snapshot of a sweep
 * (coordinator.c), without MPI. */
#include "ns_test.h"
#include "coord/coord_internal.h"
#include "coord/progress.h"
#include "normsweep/clock.h"

#include <math.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(eta_closed_forms)
{
    /* 4 runs done: 40 s for 8 cost units -> 5 s per unit on one rank. */
    double rc[2] = {2, 4}, re[2] = {3, 1};
    /* pending 10 units = 50 s; running: 2*5-3 = 7 s and 4*5-1 = 19 s left.
     * total 76 s over 2 ranks = 38 s > longest 19 s. */
    ns_assert_close(ns_progress_eta(40, 8, 10, rc, re, 2, 2), 38.0, 1e-12);
    /* 8 ranks: 76/8 = 9.5 s < the 19 s one run still needs. */
    ns_assert_close(ns_progress_eta(40, 8, 10, rc, re, 2, 8), 19.0, 1e-12);
    /* A run already past its estimate counts 0, not negative. */
    double re2[2] = {30, 1};
    ns_assert_close(ns_progress_eta(40, 8, 0, rc, re2, 2, 1), 19.0, 1e-12);
    /* Nothing completed yet: unknown. */
    ck_assert(ns_progress_eta(0, 0, 10, rc, re, 2, 2) < 0);
    ck_assert(ns_progress_eta(5, 0, 10, NULL, NULL, 0, 2) < 0);
}
END_TEST

/* Rank 0's snapshot sees every running run, not only the first 64 (it once
 * kept them in a fixed array of 64): 100 ranks each run one; the longest
 * (1000 s left) is run 80. */
START_TEST(eta_sees_every_running_run)
{
    enum { N = 100 };
    double cost[N];
    unsigned char state[N];
    double t_run[N], eta_cost[N], eta_elapsed[N];
    ns_run_outcome runs[N];
    memset(runs, 0, sizeof runs);
    double now = ns_now_s();
    for (int r = 0; r < N; r++) {
        cost[r] = r == 80 ? 100.0 : 1.0;
        state[r] = NS_ST_RUNNING;
        t_run[r] = now;
    }
    /* run 0 is done: 10 s for 1 cost unit */
    state[0] = NS_ST_FINAL;
    runs[0].status = NS_RUN_DONE;
    runs[0].wall_s = 10.0;
    ns_coord_opts o = {.nruns = N, .cost = cost};
    ns_coord c;
    memset(&c, 0, sizeof c);
    c.opts = &o;
    c.nruns = N;
    c.size = N;
    c.t_start = now;
    c.state = state;
    c.t_run = t_run;
    c.runs = runs;
    c.eta_cost = eta_cost;
    c.eta_elapsed = eta_elapsed;
    c.n_final[NS_RUN_DONE] = 1;
    ns_progress p;
    ns_leader_snapshot(&c, &p, 0);
    ck_assert_int_eq(p.running, N - 1);
    /* 100 cost units at 10 s each, less the few ms since t_run */
    ck_assert_msg(p.eta_s > 999.0 && p.eta_s <= 1000.0, "eta %g s, expected ~1000 s", p.eta_s);
}
END_TEST

START_TEST(hms)
{
    char b[32];
    ns_progress_hms(0, b, sizeof b);
    ck_assert_str_eq(b, "0:00:00");
    ns_progress_hms(3723.4, b, sizeof b);
    ck_assert_str_eq(b, "1:02:03");
    ns_progress_hms(59.6, b, sizeof b);
    ck_assert_str_eq(b, "0:01:00");
    ns_progress_hms(100 * 3600.0, b, sizeof b);
    ck_assert_str_eq(b, "100:00:00");
    ns_progress_hms(-1, b, sizeof b);
    ck_assert_str_eq(b, "?");
    ns_progress_hms(NAN, b, sizeof b);
    ck_assert_str_eq(b, "?");
}
END_TEST

static ns_progress sample(void)
{
    ns_progress p = {.nruns = 40, .done = 11, .diverged = 1, .failed = 0, .stopped = 0,
                     .running = 2, .queued = 1, .pending = 22, .skipped = 3, .nranks = 3,
                     .elapsed_s = 1051, .runs_per_hour = 41.1, .eta_s = 1870};
    return p;
}

START_TEST(line_format)
{
    ns_progress p = sample();
    char b[512];
    ns_progress_line(&p, b, sizeof b);
    ck_assert_str_eq(b, "sweep: 12/37 finished (done 11, diverged 1, failed 0, stopped 0) | "
                        "running 2, queued 1, pending 22, skipped 3 | 41.1 runs/h | "
                        "elapsed 0:17:31 | ETA 0:31:10");
    p.stop_requested = 1;
    p.eta_s = -1;
    ns_progress_line(&p, b, sizeof b);
    ck_assert_ptr_nonnull(strstr(b, "ETA ? | STOPPING"));
}
END_TEST

START_TEST(json_format)
{
    ns_progress p = sample();
    char b[1024];
    int n = ns_progress_json(&p, b, sizeof b);
    ck_assert_int_eq(n, (int)strlen(b));
    ck_assert_ptr_nonnull(strstr(b, "{\"nruns\": 40, \"done\": 11, \"diverged\": 1, \"failed\": 0, "
                                    "\"stopped\": 0, \"running\": 2, \"queued\": 1, "
                                    "\"pending\": 22, \"skipped\": 3, \"nranks\": 3, "
                                    "\"elapsed_s\": 1051.000, \"runs_per_hour\": 41.100, "
                                    "\"eta_s\": 1870.0, \"stop_requested\": false, "
                                    "\"finished\": false, \"complete\": false, "
                                    "\"updated_unix\": "));
    ck_assert_int_eq(b[n - 1], '\n');
    p.eta_s = -1;
    ns_progress_json(&p, b, sizeof b);
    ck_assert_ptr_nonnull(strstr(b, "\"eta_s\": null,"));
    /* Too small a buffer: snprintf semantics, the length it needed. */
    char small[16];
    ck_assert_int_ge(ns_progress_json(&p, small, sizeof small), (int)sizeof small);
}
END_TEST

START_TEST(json_file_atomic)
{
    const char *dir = ns_test_tmpdir("progress");
    char path[600], tmp[700], text[1024] = "";
    snprintf(path, sizeof path, "%s/p.json", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ns_progress p = sample();
    ck_assert_int_eq(ns_progress_write_json(path, &p), NS_OK);
    p.done = 12;
    ck_assert_int_eq(ns_progress_write_json(path, &p), NS_OK); /* replaces */
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "\"done\": 12,"));
    ck_assert_int_ne(access(tmp, F_OK), 0);
    ns_test_rmtree(dir);
}
END_TEST

START_TEST(json_file_errors_name_the_path)
{
    ns_progress p = sample();
    ck_assert_int_eq(ns_progress_write_json("/nonexistent-ns-dir/p.json", &p), NS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "/nonexistent-ns-dir/p.json.tmp"));
    /* The target is a directory: the write works, the rename cannot. */
    const char *dir = ns_test_tmpdir("progress");
    char sub[600];
    snprintf(sub, sizeof sub, "%s/d", dir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    char inner[700];
    snprintf(inner, sizeof inner, "%s/x", sub); /* non-empty directory */
    ck_assert_int_eq(ns_test_write_file(inner, "x", 1), 0);
    ck_assert_int_eq(ns_progress_write_json(sub, &p), NS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ns_error_msg(), "cannot rename"));
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.tmp", sub);
    ck_assert_int_ne(access(tmp, F_OK), 0); /* cleaned up */
    ns_test_rmtree(dir);
    /* A path too long for the temp name. */
    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    ck_assert_int_eq(ns_progress_write_json(longp, &p), NS_ERR_ARG);
}
END_TEST

static Suite *progress_suite(void)
{
    Suite *s = suite_create("coord_progress");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, eta_closed_forms);
    tcase_add_test(tc, eta_sees_every_running_run);
    tcase_add_test(tc, hms);
    tcase_add_test(tc, line_format);
    tcase_add_test(tc, json_format);
    tcase_add_test(tc, json_file_atomic);
    tcase_add_test(tc, json_file_errors_name_the_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv) { return ns_test_main(progress_suite(), argc, argv); }
