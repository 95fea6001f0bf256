/* coord_harness.h - a fake training run for the coordinator's MPI tests
 * (test_coord.c, test_coord_stop.c): each run busy-waits or naps in
 * "steps", polls the coordinator between them, records what ran where and
 * when, and can raise a stop, fail or diverge on request. */
#ifndef NS_TEST_COORD_HARNESS_H
#define NS_TEST_COORD_HARNESS_H

#include "normsweep/coord.h"

#include <stdio.h>

double now_s(void); /* CLOCK_MONOTONIC: one clock for every process on the node */
double cpu_s(void); /* this process's CPU time, all threads */
void nap(double s);
int mpi_rank(void);
int mpi_size(void);

enum { STOP_NONE = 0, STOP_SIGNAL, STOP_PROGRAMMATIC };

typedef struct tctx {
    int nruns;
    double work_s;         /* duration of a run (wall clock)                        */
    double step_s;         /* one "training step": poll between steps               */
    int sleep_steps;       /* steps nap instead of spinning                         */
    double rank0_work_s;   /* >= 0: rank 0's runs last this long instead            */
    int stop_mode, stop_rank, stop_after; /* stop during this rank's stop_after-th run */
    int fail_run, diverge_run, bad_status_run;
    /* recorded on this rank */
    int *count;
    double *t_begin, *t_end;
    int *order, norder;
    int started_with_stop; /* runs entered while a stop was already known here */
    int nstarted;
    double t_stop;         /* when this rank raised the stop (0: did not)           */
    double cb_wall, cb_cpu; /* time spent inside callbacks                          */
} tctx;

void tctx_init(tctx *t, int nruns, double work_s);
void tctx_free(tctx *t);
/* The ns_coord run callback; vctx is a tctx. */
ns_status test_run(void *vctx, ns_coord *c, int run, ns_run_outcome *out);
/* Sum over ranks of how often each run executed; on rank 0 also which rank
 * (-1: nobody). Collective. */
void gather_counts(const tctx *t, int *total, int *who);

/* A sweep's progress sidecar: on rank 0 a fresh directory (tag names it) and
 * dir/progress.json in it; elsewhere both stay "" (only rank 0 writes it). */
typedef struct sidecar {
    char dir[512], json[600];
} sidecar;
void sidecar_init(sidecar *s, const char *tag);
/* All of a stream from its start, or of a file, into text (NUL-terminated,
 * cut at n - 1 bytes); a file that cannot be opened gives "" and fails. */
void read_stream(FILE *f, char *text, size_t n);
void read_file(const char *path, char *text, size_t n);

#endif
