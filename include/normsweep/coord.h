/* coord.h - the sweep coordinator: a dynamic work queue of run indices over MPI.
 *
 * Rank 0 owns the queue (runs sorted longest estimated cost first) and hands
 * run indices to ranks that ask; it also executes runs itself, servicing other
 * ranks' requests from inside its own runs through ns_coord_poll(). No rank
 * spins a core while it waits: all waits are MPI_Test/Iprobe + nanosleep
 * backoff (100 us doubling to 5 ms). The coordinator knows nothing of what a
 * run is: a callback executes one run index. docs/coordinator.md has the
 * protocol, the polling model and the signal path.
 */
#ifndef NORMSWEEP_COORD_H
#define NORMSWEEP_COORD_H

#include "normsweep/error.h"
#include "normsweep/status.h"

#include <mpi.h>
#include <stdio.h>

/* How one run ended (status.h): the callback sets DONE (the default),
 * DIVERGED or STOPPED; a callback that returns a status other than NS_OK makes
 * the run FAILED. */


typedef struct ns_run_outcome {
    ns_run_status status; /* set by the callback (starts as NS_RUN_DONE)          */
    long steps;           /* set by the callback: steps completed (informational) */
    double final_loss;    /* set by the callback (informational; NaN if unknown)  */
    /* Filled by the coordinator: */
    int rank;             /* rank that executed the run; -1 if it never ran       */
    int dispatch_seq;     /* 0, 1, 2, ... in the order runs were handed out; -1   */
    double wall_s;        /* wall time of the callback, seconds                   */
    char msg[128];        /* FAILED: "NS_ERR_X: <ns_error_msg()>"; else callback's */
} ns_run_outcome;

typedef struct ns_coord ns_coord;

/* The work a rank does for one run. It must call ns_coord_poll(c) regularly
 * (every training step) so that rank 0 can serve other ranks between its own
 * steps, and when ns_coord_stop_requested(c) turns true it checkpoints, sets
 * out->status = NS_RUN_STOPPED and returns NS_OK. It must not make collective
 * MPI calls on the sweep communicator (ranks are at different places). */
typedef ns_status (*ns_run_fn)(void *ctx, ns_coord *c, int run_index, ns_run_outcome *out);

typedef struct ns_coord_opts {
    int nruns;
    const double *cost;          /* estimated cost per run (any unit, >= 0, finite):
                                    handed out LONGEST FIRST, ties by index; NULL: equal */
    const unsigned char *skip;   /* skip[i] != 0: finished earlier, never dispatched; may be NULL */
    double progress_every_s;     /* rank 0 prints a progress line this often (0: never) */
    const char *progress_json;   /* sidecar JSON rank 0 keeps updated atomically (NULL: none) */
    FILE *log;                   /* where progress lines go (NULL: stderr) */
    double rank_timeout_s;       /* a rank silent this long (dead, hung, cut off) stops the
                                    sweep, and after a stop ranks silent this long are given
                                    up (res->n_lost); 0: NS_COORD_RANK_TIMEOUT_S */
} ns_coord_opts;
#define NS_COORD_RANK_TIMEOUT_S 300.0
/* Only rank 0 reads cost, skip, progress_* and log; nruns must agree on all ranks. */

typedef struct ns_coord_result {
    /* Known on every rank: */
    int complete;       /* 1: no stop, and every non-skipped run ended done/diverged/failed */
    int stop_requested; /* a stop (signal or ns_coord_request_stop) reached the sweep */
    int stop_signal;    /* first signal number that caused the stop (0: none / programmatic) */
    char stop_from[128]; /* rank 0 only: "SIGTERM on rank 1, from mpirun (pid 42, ...)" */
    int nruns, n_done, n_diverged, n_failed, n_stopped, n_pending, n_skipped;
    int n_lost;         /* ranks given up after a stop (src/coord/lost.c): the communicator
                           has dead or hung members, so no collective call on it may follow
                           (a file close, MPI_Finalize): end the job with MPI_Abort. Their
                           runs are pending (a resumed job reruns them). */
    double wall_s;      /* wall time of ns_coord_execute on this rank */
    /* Rank 0 only (NULL elsewhere): runs[i] is run i's outcome; free with
     * ns_coord_result_free. */
    ns_run_outcome *runs;
} ns_coord_result;

/* Collective over comm. Every rank (rank 0 included) executes runs via fn; each
 * non-skipped run index is executed exactly once per call unless a stop is
 * requested before it starts. Returns NS_OK when the sweep ended - completed or
 * stopped, see res->complete (main exits NS_EXIT_INCOMPLETE = 3 when it is 0);
 * NS_ERR_ARG/NS_ERR_IO/NS_ERR_NOMEM (on every rank, before any run) for bad
 * options, an unwritable progress_json or no memory. Every MPI return code is
 * checked (mpi_check.h): with the default MPI_ERRORS_ARE_FATAL handler a
 * failure aborts the job; under MPI_ERRORS_RETURN the first failure stops
 * this rank's coordinator (its running run stops as if signalled) and
 * NS_ERR_MPI is returned on this rank only - the caller must then abort the
 * job (MPI_Abort), since the other ranks may wait for this one. A failing
 * callback does not end the sweep: its run is recorded as NS_RUN_FAILED. A rank
 * that dies, hangs or is cut off is given up after --rank-timeout: see
 * res->n_lost. */
ns_status ns_coord_execute(MPI_Comm comm, const ns_coord_opts *o, ns_run_fn fn, void *ctx,
                           ns_coord_result *res);
void ns_coord_result_free(ns_coord_result *res);

/* Service the coordinator: rank 0 answers pending requests and prints progress;
 * other ranks collect assignments and stop notices. Cheap (~1 us) when nothing
 * is pending. Call it from the run callback at least every step. */
void ns_coord_poll(ns_coord *c);
/* True once a stop has been requested anywhere in the sweep (as far as this rank
 * knows; it learns of remote stops in ns_coord_poll). */
int ns_coord_stop_requested(const ns_coord *c);
/* Ask the whole sweep to stop, as a signal would (e.g. disk full in a callback). */
void ns_coord_request_stop(ns_coord *c);
int ns_coord_rank(const ns_coord *c);

/* Collective: NS_OK if `value` is the same string on every rank of comm, else
 * NS_ERR_ARG on every rank, rank 0's message naming a rank that differs and its
 * host ("ranks differ in their BLAS kernel: rank 0 on node0 has Haswell, rank 2
 * on node1 has SkylakeX"). Values are compared by CRC-32, shown up to 63 chars. */
ns_status ns_coord_check_uniform(MPI_Comm comm, const char *what, const char *value);

/* Install handlers for SIGTERM, SIGUSR1 and SIGINT that only record the signal
 * (async-signal-safe); the coordinator turns it into a sweep-wide stop. A SIGINT
 * after any recorded stop signal restores the default action and re-raises
 * (Ctrl-C twice kills); repeated SIGTERM/SIGUSR1 are harmless. */
void ns_signals_install(void);
/* Number of the first stop signal caught since install/clear, 0 if none. */
int ns_signals_caught(void);
void ns_signals_clear(void);
/* "SIGTERM", "SIGUSR1", "SIGINT"; "a request" for 0. */
const char *ns_signal_name(int sig);
/* Who sent the caught signal, for messages: "from mpirun (pid 42, this
 * process's launcher)", "from the terminal or the kernel" (Ctrl-C), "no signal
 * caught". Not for signal handlers (it reads /proc). */
void ns_signals_sender(char *buf, size_t n);

#endif
