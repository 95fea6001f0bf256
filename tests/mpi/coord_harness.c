/* coord_harness.c - the fake training run shared by the coordinator's MPI
 * tests (coord_harness.h). */
#include "coord_harness.h"
#include "ns_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* one clock for every process on the node */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* all threads, MPI's included */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void nap(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int mpi_rank(void)
{
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int mpi_size(void)
{
    int s;
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

void tctx_init(tctx *t, int nruns, double work_s)
{
    memset(t, 0, sizeof *t);
    t->nruns = nruns;
    t->work_s = work_s;
    t->step_s = 0.001;
    t->rank0_work_s = -1;
    t->stop_rank = -1;
    t->fail_run = t->diverge_run = t->bad_status_run = -1;
    int n = nruns > 0 ? nruns : 1;
    t->count = calloc((size_t)n, sizeof(int));
    t->t_begin = calloc((size_t)n, sizeof(double));
    t->t_end = calloc((size_t)n, sizeof(double));
    t->order = calloc((size_t)n, sizeof(int));
}

void tctx_free(tctx *t)
{
    free(t->count);
    free(t->t_begin);
    free(t->t_end);
    free(t->order);
}

ns_status test_run(void *vctx, ns_coord *c, int run, ns_run_outcome *out)
{
    tctx *t = vctx;
    double t0 = now_s(), c0 = cpu_s();
    int rank = ns_coord_rank(c), k = t->nstarted++;
    NS_ASSERT(run >= 0 && run < t->nruns); /* not ck_assert: --bench runs outside Check */
    t->count[run]++;
    t->t_begin[run] = t0;
    t->order[t->norder++] = run;
    t->started_with_stop += ns_coord_stop_requested(c);
    double dur = (rank == 0 && t->rank0_work_s >= 0) ? t->rank0_work_s : t->work_s;
    long steps = 0;
    for (;;) {
        ns_coord_poll(c);
        if (ns_coord_stop_requested(c)) {
            out->status = NS_RUN_STOPPED; /* a real run checkpoints here */
            break;
        }
        double el = now_s() - t0;
        if (el >= dur) break;
        if (t->stop_mode && rank == t->stop_rank && k >= t->stop_after && el > 0.3 * dur &&
            t->t_stop == 0) {
            t->t_stop = now_s();
            if (t->stop_mode == STOP_SIGNAL)
                raise(SIGUSR1);
            else
                ns_coord_request_stop(c);
            continue; /* the next poll sees it */
        }
        double next = t0 + (double)(steps + 1) * t->step_s;
        if (t->sleep_steps)
            nap(t->step_s);
        else
            while (now_s() < next) {} /* busy: this is the "training" */
        steps++;
    }
    (void)steps;
    out->steps = 1000 + run; /* known values: the test checks they reach rank 0 */
    out->final_loss = 1.0 / (1.0 + run);
    t->t_end[run] = now_s();
    t->cb_wall += t->t_end[run] - t0;
    t->cb_cpu += cpu_s() - c0;
    if (run == t->fail_run) return ns_error_set(NS_ERR_NUMERIC, "boom in run %d", run);
    if (run == t->diverge_run) out->status = NS_RUN_DIVERGED;
    if (run == t->bad_status_run) out->status = NS_RUN_PENDING;
    return NS_OK;
}

/* Sum over ranks of how often each run executed; on rank 0 also which rank. */
void gather_counts(const tctx *t, int *total, int *who)
{
    int n = t->nruns > 0 ? t->nruns : 1, rank = mpi_rank();
    int *mine = calloc((size_t)n, sizeof(int));
    for (int i = 0; i < t->nruns; i++) mine[i] = t->count[i] ? rank + 1 : 0;
    MPI_Allreduce(t->count, total, t->nruns, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(mine, who, t->nruns, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    for (int i = 0; i < t->nruns; i++) who[i] -= 1; /* -1: nobody */
    free(mine);
}

void sidecar_init(sidecar *s, const char *tag)
{
    s->dir[0] = s->json[0] = '\0';
    if (mpi_rank() != 0) return;
    snprintf(s->dir, sizeof s->dir, "%s", ns_test_tmpdir(tag));
    snprintf(s->json, sizeof s->json, "%s/progress.json", s->dir);
}

void read_stream(FILE *f, char *text, size_t n)
{
    rewind(f);
    text[fread(text, 1, n - 1, f)] = '\0';
}

void read_file(const char *path, char *text, size_t n)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    read_stream(f, text, n);
    fclose(f);
}
