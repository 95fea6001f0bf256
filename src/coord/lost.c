/* lost.c - ranks that stop answering: a killed process, a crashed or cut-off
 * host, a hung file system.
 *
 * Open MPI 4.1 (no ULFM) tells a program nothing when a peer dies. Its launcher
 * notices a dead process at once (mpirun SIGTERMs the survivors
 * odls_base_sigkill_timeout seconds later, default 1, and SIGKILLs them as
 * long again later), but not a host cut off from the network (no TCP reset
 * arrives: the job would wait forever). So the coordinator watches, on rank 0:
 *   - without a stop: every worker sends something at least every
 *     NS_HEARTBEAT_S (a heartbeat when it has nothing else to say, from its
 *     poll, i.e. once per training step); one silent for rank_timeout_s stops
 *     the sweep, as a signal would;
 *   - after a stop (a signal, the launcher's SIGTERM, or the above): every live
 *     worker answers within one training step. NS_LOST_NOTICE_S after the stop
 *     rank 0 names the ranks that have not, their hosts and the runs they hold
 *     (what a user reads when the launcher then kills the job);
 *     rank_timeout_s after the stop it gives them up: their runs go back to
 *     pending, FINISH goes to the others only, and res->n_lost tells the caller
 *     that no collective call may follow (normsweep run ends with MPI_Abort).
 * A worker that hears nothing from rank 0 for twice that long after a stop gives
 * rank 0 up the same way. docs/coordinator.md, "Dead ranks", has the bounds. */
#include "coord_internal.h"
#include "normsweep/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_LOST_NOTICE_S 0.5 /* < mpirun's default TERM -> KILL delay (about 1 s) */

ns_status ns_lost_alloc(ns_coord *c)
{
    size_t n = (size_t)c->size;
    c->heard = calloc(n, sizeof *c->heard);
    c->lost = calloc(n, 1);
    c->hosts = calloc(n, NS_HOST_LEN);
    NS_CHECK(c->heard && c->lost && c->hosts, NS_ERR_NOMEM,
             "coordinator: cannot allocate the liveness state of %d ranks", c->size);
    for (int w = 0; w < c->size; w++) c->heard[w] = c->t_start; /* the silence clock starts now */
    return NS_OK;
}

void ns_lost_free(ns_coord *c)
{
    free(c->heard);
    free(c->lost);
    free(c->hosts);
}

/* Every rank's processor name to rank 0, for messages that name hosts. */
void ns_lost_gather_hosts(ns_coord *c)
{
    char name[MPI_MAX_PROCESSOR_NAME] = "", mine[NS_HOST_LEN];
    int len = 0;
    if (MPI_Get_processor_name(name, &len) != MPI_SUCCESS) snprintf(name, sizeof name, "?");
    snprintf(mine, sizeof mine, "%.*s", NS_HOST_LEN - 1, name); /* cut long host names */
    ns_coord_mpi_ok(c, MPI_Gather(mine, NS_HOST_LEN, MPI_CHAR, c->hosts, NS_HOST_LEN, MPI_CHAR, 0,
                                  c->comm),
                    "coordinator: MPI_Gather of host names");
}

void ns_lost_stop_seen(ns_coord *c)
{
    if (c->t_stop == 0) c->t_stop = ns_now_s();
}

void ns_lost_heard(ns_coord *c, int src) { c->heard[src] = ns_now_s(); }

int ns_lost_ignored(const ns_coord *c, int src) { return c->lost && c->lost[src]; }

static int silent(const ns_coord *c, int w) { return !c->lost[w] && c->heard[w] < c->t_stop; }

/* One line per silent rank: its host and the runs it holds. */
static void list_silent(const ns_coord *c, double now)
{
    for (int w = 1; w < c->size; w++) {
        if (!silent(c, w)) continue;
        char runs[256] = "";
        size_t used = 0;
        for (int r = 0; r < c->nruns && used < sizeof runs - 48; r++) {
            if (c->runs[r].rank != w) continue;
            if (c->state[r] == NS_ST_RUNNING)
                used += (size_t)snprintf(runs + used, sizeof runs - used, "%srun %d (running for %.1f s)",
                                         used ? ", " : "", r, now - c->t_run[r]);
            else if (c->state[r] == NS_ST_QUEUED)
                used += (size_t)snprintf(runs + used, sizeof runs - used, "%srun %d (assigned, not started)",
                                         used ? ", " : "", r);
        }
        fprintf(stderr, "sweep:   rank %d on %s: %s\n", w, c->hosts + (size_t)w * NS_HOST_LEN,
                used ? runs : "no run");
    }
}

/* Give up the silent ranks: their runs go back to pending. */
static void give_up(ns_coord *c)
{
    for (int w = 1; w < c->size; w++) {
        if (!silent(c, w)) continue;
        for (int r = 0; r < c->nruns; r++)
            if (c->runs[r].rank == w && (c->state[r] == NS_ST_RUNNING || c->state[r] == NS_ST_QUEUED)) {
                c->state[r] = NS_ST_PENDING;
                c->runs[r].rank = -1;
                c->seq[r] = -1;
            }
        if (c->parked[w]) {
            c->parked[w] = 0;
            c->nparked--;
        }
        c->lost[w] = 1;
        c->nlost++;
    }
    c->json_dirty = 1;
}

/* No stop yet: a worker silent for rank_timeout_s (workers send a heartbeat
 * every NS_HEARTBEAT_S) is dead, hung or cut off, and nobody else may notice: a
 * host cut off from the network sends no TCP reset, so mpirun waits forever. */
static void check_silence(ns_coord *c, double now)
{
    for (int w = 1; w < c->size; w++) {
        double quiet = now - c->heard[w];
        if (quiet < c->rank_timeout_s) continue;
        fprintf(stderr, "sweep: rank %d on %s has been silent for %.0f s (dead, hung or cut off): "
                        "stopping the sweep\n", w, c->hosts + (size_t)w * NS_HOST_LEN, quiet);
        fflush(stderr);
        ns_coord_request_stop(c);
        return;
    }
}

/* After FINISH every live worker is parked and answers with BYE at its next
 * poll. One that has not within rank_timeout_s died after it parked (between
 * its last heartbeat and the end of the sweep): without this, rank 0 would
 * wait for its BYE forever under a launcher that keeps the job. */
static void check_bye(ns_coord *c, double now)
{
    double waited = now - c->t_finish;
    if (waited < c->rank_timeout_s) return;
    for (int w = 1; w < c->size; w++) {
        if (c->lost[w] || !c->parked[w]) continue;
        fprintf(stderr, "sweep: rank %d on %s has not answered the end of the sweep %.0f s after "
                        "it (dead, hung or cut off): giving it up; every run is in the file; "
                        "ending the job\n", w, c->hosts + (size_t)w * NS_HOST_LEN, waited);
        c->parked[w] = 0;
        c->nparked--;
        c->lost[w] = 1;
        c->nlost++;
    }
    fflush(stderr);
}

void ns_lost_watch(ns_coord *c)
{
    double now = ns_now_s();
    if (now < c->next_watch) return;
    c->next_watch = now + 0.1; /* O(ranks) per look: not at every poll */
    if (c->finishing) {
        check_bye(c, now);
        return;
    }
    if (!c->stop) {
        check_silence(c, now);
        return;
    }
    int nsilent = 0;
    for (int w = 1; w < c->size; w++) nsilent += silent(c, w);
    if (nsilent == 0) return;
    double waited = now - c->t_stop;
    if (!c->noticed && waited >= NS_LOST_NOTICE_S) {
        c->noticed = 1;
        fprintf(stderr,
                "sweep: %d of %d ranks have not answered the stop after %.1f s (a live rank answers "
                "within one training step: dead, or in a very long step):\n",
                nsilent, c->size, waited);
        list_silent(c, now);
        fprintf(stderr, "sweep: if they are dead, those runs lose the steps since their last "
                        "checkpoint; every finished run is in the file, and --resume reruns the "
                        "rest from their checkpoints\n");
        fflush(stderr);
    }
    if (waited >= c->rank_timeout_s) {
        fprintf(stderr, "sweep: giving up %d silent rank%s %.0f s after the stop (dead, hung or cut "
                        "off):\n", nsilent, nsilent == 1 ? "" : "s", waited);
        list_silent(c, now);
        fprintf(stderr, "sweep: their runs are pending again; ending the job (resume it with "
                        "--resume)\n");
        fflush(stderr);
        give_up(c);
    }
}

int ns_lost_worker_gives_up(ns_coord *c)
{
    if (!c->stop || c->t_stop == 0) return 0;
    double waited = ns_now_s() - c->t_stop;
    /* rank 0 itself waits rank_timeout_s for silent ranks before it answers */
    if (waited < 2 * c->rank_timeout_s) return 0;
    fprintf(stderr, "sweep: rank %d: no word from rank 0 %.0f s after the stop: giving it up "
                    "(dead or hung); this rank's run is checkpointed\n", c->rank, waited);
    fflush(stderr);
    c->nlost = 1;
    return 1;
}
