/* extend.c - the rows an extended sweep takes over from the file it extends
 * (`run --extend`, docs/cli.md). Like merge, but run i of the old file lands
 * in row old_of_new^-1(i) of the new one (the extended spec orders its runs
 * differently), and the new layout may be wider (a new arch or norm can bring
 * more layers, weights or tensors): rows are copied into the leading corner,
 * the rest keeps its fill - exactly what a fresh run of that run writes.
 *
 * Both files are opened with the serial driver by one process (rank 0) while
 * no MPI-IO handle is open on either. A run's status is copied last, so a
 * kill in the middle leaves a row that still reads as unfinished and is
 * copied again (or run) next time. */
#include "results_internal.h"

#include "normsweep/fault.h"

#include <signal.h>
#include <stdlib.h>

static int finished(ns_run_status s) { return s == NS_RUN_DONE || s == NS_RUN_DIVERGED; }

/* Run j of dst from run i of src, if src has something dst lacks. */
static ns_status carry_one(ns_h5 *dst, ns_h5 *src, int j, int i, const ns_carry_ops *ops,
                           ns_carry_counts *c)
{
    ns_run_status sd, ss;
    NS_TRY(ns_results_status_in(dst, (size_t)j, &sd));
    if (finished(sd)) return NS_OK; /* carried (or run) before */
    NS_TRY(ns_results_status_in(src, (size_t)i, &ss));
    if (finished(ss)) {
        NS_TRY(ns_h5_copy_row_into(dst, (size_t)j, src, (size_t)i, "run", "status", NULL));
        c->finished++;
        return NS_OK;
    }
    /* started but unfinished: worth carrying only with a checkpoint to go on
     * from, and only into a run the new file has not started itself */
    if (ss == NS_RUN_PENDING || sd != NS_RUN_PENDING || !ops || !ops->can_resume ||
        !ops->can_resume(ops->ctx, j, i))
        return NS_OK;
    /* the row first (the steps before the checkpoint), then the checkpoint:
     * a kill in between leaves a started row without one, which restarts
     * from step 0 and rewrites every cell it has */
    NS_TRY(ns_h5_copy_row_into(dst, (size_t)j, src, (size_t)i, "run", "status", NULL));
    NS_TRY(ops->resume(ops->ctx, j, i));
    c->resumed++;
    return NS_OK;
}

ns_status ns_results_carry(const char *dst_path, const char *src_path, const int *old_of_new,
                           int nnew, const ns_carry_ops *ops, ns_carry_counts *counts)
{
    ns_h5 *dst = NULL, *src = NULL;
    ns_carry_counts c = {0, 0};
    ns_status st = ns_h5_open(src_path, MPI_COMM_NULL, 0, &src);
    if (st == NS_OK) st = ns_h5_open(dst_path, MPI_COMM_NULL, 1, &dst);
    for (int j = 0; st == NS_OK && j < nnew; j++) {
        if (old_of_new[j] >= 0) st = carry_one(dst, src, j, old_of_new[j], ops, &c);
        if (c.finished + c.resumed == 1 && ns_fault("kill-mid-carry", 0)) raise(SIGKILL); /* tests */
    }
    ns_status cs = dst ? ns_h5_close(dst) : NS_OK;
    if (src) ns_h5_close(src);
    if (st == NS_OK) st = cs;
    if (counts) *counts = c;
    return st;
}
