/* coordinator.c - ns_coord_execute and rank 0's side: the queue, dispatch,
 * stop fan-out, progress.
 *
 * Rank 0 is a worker too. Between its own training steps (ns_coord_poll from
 * the callback) and whenever it has nothing to run, it drains the requests of
 * the other ranks (Iprobe + Recv of a message known to be there) and answers
 * them with Isend. A worker asks for its next run as soon as it STARTS a run
 * (prefetch), so the reply is normally waiting when the run ends and the
 * worker never idles; rank 0 grants a prefetch only while at least `size` runs
 * are pending, so the tail of the sweep is still balanced run by run. */
#include "coord_internal.h"
#include "normsweep/clock.h"
#include "normsweep/mpi_check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>

/* ---------------------------------------------------------------- the queue */

typedef struct cost_index {
    double cost;
    int run;
} cost_index;

static int by_cost_desc(const void *a, const void *b)
{
    const cost_index *x = a, *y = b;
    if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
    return (x->run > y->run) - (x->run < y->run); /* ties: lower index first (reproducible) */
}

static ns_status check_opts(const ns_coord_opts *o)
{
    for (int i = 0; o->cost && i < o->nruns; i++)
        NS_CHECK(isfinite(o->cost[i]) && o->cost[i] >= 0, NS_ERR_ARG,
                 "ns_coord_execute: cost[%d] = %g, expected a finite value >= 0", i, o->cost[i]);
    NS_CHECK(isfinite(o->progress_every_s) && o->progress_every_s >= 0, NS_ERR_ARG,
             "ns_coord_execute: progress_every_s = %g, expected a finite value >= 0",
             o->progress_every_s);
    return NS_OK;
}

static double run_cost(const ns_coord *c, int run)
{
    return c->opts->cost ? c->opts->cost[run] : 1.0;
}

/* ---------------------------------------------------------------- progress */

void ns_leader_snapshot(ns_coord *c, ns_progress *p, int finished)
{
    memset(p, 0, sizeof *p);
    p->nruns = c->nruns;
    p->nranks = c->size;
    p->done = c->n_final[NS_RUN_DONE];
    p->diverged = c->n_final[NS_RUN_DIVERGED];
    p->failed = c->n_final[NS_RUN_FAILED];
    p->stopped = c->n_final[NS_RUN_STOPPED];
    double now = ns_now_s(), done_wall = 0, done_cost = 0, pending_cost = 0;
    int nr = 0; /* every running run counts: one scratch slot per run */
    for (int r = 0; r < c->nruns; r++) {
        switch (c->state[r]) {
        case NS_ST_SKIPPED: p->skipped++; break;
        case NS_ST_PENDING: p->pending++; pending_cost += run_cost(c, r); break;
        case NS_ST_QUEUED: p->queued++; pending_cost += run_cost(c, r); break;
        case NS_ST_RUNNING:
            p->running++;
            c->eta_cost[nr] = run_cost(c, r);
            c->eta_elapsed[nr++] = now - c->t_run[r];
            break;
        case NS_ST_FINAL:
            if (c->runs[r].status == NS_RUN_DONE) {
                done_wall += c->runs[r].wall_s;
                done_cost += run_cost(c, r);
            }
            break;
        }
    }
    p->elapsed_s = now - c->t_start;
    p->runs_per_hour =
        p->elapsed_s > 0 ? 3600.0 * (p->done + p->diverged + p->failed) / p->elapsed_s : 0;
    p->eta_s = c->stop ? -1
                       : ns_progress_eta(done_wall, done_cost, pending_cost, c->eta_cost,
                                         c->eta_elapsed, nr, c->size);
    if (finished && !c->stop) p->eta_s = 0;
    p->stop_requested = c->stop;
    p->finished = finished;
    p->complete = finished && !c->stop && p->pending == 0 && p->queued == 0 && p->stopped == 0;
}

static void write_json(ns_coord *c, const ns_progress *p)
{
    if (!c->opts->progress_json) return;
    c->last_json = ns_now_s();
    c->json_dirty = 0;
    if (ns_progress_write_json(c->opts->progress_json, p) != NS_OK && !c->json_warned) {
        /* A sidecar is a convenience: losing it must not lose the sweep. */
        fprintf(c->log, "sweep: warning: %s (progress file not updated)\n", ns_error_msg());
        fflush(c->log);
        c->json_warned = 1;
    }
}

/* Print on the interval; rewrite the JSON on the interval, or after a change
 * once at least a second has passed since the last write. */
static void progress_tick(ns_coord *c)
{
    const ns_coord_opts *o = c->opts;
    double now = ns_now_s();
    int print = o->progress_every_s > 0 && now >= c->next_print;
    int json = o->progress_json && ((c->json_dirty && now - c->last_json >= 1.0) || print);
    if (!print && !json) return;
    ns_progress p;
    ns_leader_snapshot(c, &p, 0);
    if (print) {
        char line[512];
        ns_progress_line(&p, line, sizeof line);
        fprintf(c->log, "%s\n", line);
        fflush(c->log);
        c->next_print = now + o->progress_every_s;
    }
    if (json) write_json(c, &p);
}

/* ---------------------------------------------------------------- dispatch */

static void begin_stop(ns_coord *c, int sig, int origin, const char *from)
{
    /* After FINISH the sweep is over (and no STOP may follow a FINISH). */
    if (c->stop || c->finishing) return;
    c->stop = 1;
    c->stop_signal = sig;
    c->json_dirty = 1;
    ns_lost_stop_seen(c);
    if (sig == 0)
        snprintf(c->stop_from, sizeof c->stop_from, "a request on rank %d", origin);
    else
        snprintf(c->stop_from, sizeof c->stop_from, "%s on rank %d, %.*s", ns_signal_name(sig),
                 origin, 80, from && *from ? from : "sender unknown");
    ns_down_msg m = {.kind = NS_DOWN_STOP, .run = -1, .stop_signal = sig};
    for (int w = 1; w < c->size; w++) ns_outbox_send(c, w, NS_TAG_DOWN, &m, sizeof m);
    fprintf(c->log,
            "sweep: stop requested (%s): no new runs; running runs checkpoint and return\n",
            c->stop_from);
    if (sig == SIGTERM && from && strstr(from, "launcher"))
        fprintf(c->log, "sweep: (a launcher sends SIGTERM when the job is cancelled, when it got "
                        "SIGINT/SIGTERM itself, or when another rank died: see its own message)\n");
    fflush(c->log);
}

static int pop_run(ns_coord *c, int to_rank)
{
    int run = c->order[c->qhead++];
    NS_ASSERT(c->state[run] == NS_ST_PENDING);
    c->state[run] = NS_ST_QUEUED;
    c->seq[run] = c->next_seq++;
    c->runs[run].rank = to_rank;
    c->json_dirty = 1;
    return run;
}

static void record(ns_coord *c, int run, const ns_run_outcome *out)
{
    NS_ASSERT(c->state[run] == NS_ST_QUEUED || c->state[run] == NS_ST_RUNNING);
    c->json_dirty = 1;
    if (out->status == NS_RUN_PENDING) { /* handed back unstarted (stop) */
        c->state[run] = NS_ST_PENDING;
        c->runs[run].rank = -1;
        c->seq[run] = -1;
        return;
    }
    NS_ASSERT(out->status >= NS_RUN_DONE && out->status <= NS_RUN_STOPPED);
    c->state[run] = NS_ST_FINAL;
    c->runs[run] = *out;
    c->runs[run].dispatch_seq = c->seq[run];
    c->n_final[out->status]++;
}

static void handle_up(ns_coord *c, int src, const ns_up_msg *m)
{
    if (m->flags & NS_UP_BYE) {
        NS_ASSERT(c->finishing && m->flags == NS_UP_BYE && c->parked[src]);
        c->parked[src] = 0; /* lost.c: a worker still parked after FINISH never said BYE */
        c->nparked--;
        c->nbye++;
        return;
    }
    if (m->flags & NS_UP_STOP) begin_stop(c, m->stop_signal, src, m->stop_from);
    if (m->flags & NS_UP_REPORT) {
        NS_ASSERT(m->report_run >= 0 && m->report_run < c->nruns);
        NS_ASSERT(c->runs[m->report_run].rank == src);
        record(c, m->report_run, &m->out);
    }
    if (m->flags & NS_UP_STARTED) {
        int r = m->started_run;
        NS_ASSERT(r >= 0 && r < c->nruns && c->state[r] == NS_ST_QUEUED);
        c->state[r] = NS_ST_RUNNING;
        c->t_run[r] = ns_now_s();
        c->json_dirty = 1;
    }
    if (m->flags & NS_UP_REQUEST) {
        int idle = (m->flags & NS_UP_IDLE) != 0, left = c->nq - c->qhead;
        if (!c->stop && left > 0 && (idle || left >= c->size)) {
            ns_down_msg d = {.kind = NS_DOWN_ASSIGN, .run = pop_run(c, src)};
            ns_outbox_send(c, src, NS_TAG_DOWN, &d, sizeof d);
        } else if (idle) {
            /* Nothing to give and nothing in its hands: the answer is FINISH. */
            NS_ASSERT(!c->parked[src]);
            c->parked[src] = 1;
            c->nparked++;
        } else {
            ns_down_msg d = {.kind = NS_DOWN_NONE, .run = -1};
            ns_outbox_send(c, src, NS_TAG_DOWN, &d, sizeof d);
        }
    }
}

/* The text begin_stop prints for this rank's own caught signal. */
static void local_stop(ns_coord *c)
{
    char from[128];
    ns_signals_sender(from, sizeof from);
    begin_stop(c, ns_signals_caught(), 0, from);
}

/* Handle everything that has arrived; returns how many messages that was. */
static int service(ns_coord *c)
{
    if (c->err) return 0;
    if (!c->stop && ns_signals_caught()) local_stop(c);
    int handled = 0;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        if (!ns_coord_mpi_ok(c, MPI_Iprobe(MPI_ANY_SOURCE, NS_TAG_UP, c->comm, &flag, &st),
                             "coordinator: MPI_Iprobe"))
            return handled;
        if (!flag) break;
        ns_up_msg m;
        /* The message is already there: this Recv does not wait. */
        if (!ns_coord_mpi_ok(c, MPI_Recv(&m, (int)sizeof m, MPI_BYTE, st.MPI_SOURCE, NS_TAG_UP,
                                         c->comm, MPI_STATUS_IGNORE),
                             "coordinator: MPI_Recv"))
            return handled;
        m.stop_from[sizeof m.stop_from - 1] = '\0';
        if (ns_lost_ignored(c, st.MPI_SOURCE)) continue; /* given up: its runs are pending */
        handle_up(c, st.MPI_SOURCE, &m);
        ns_lost_heard(c, st.MPI_SOURCE); /* after handle_up: a STOP from it sets t_stop */
        handled++;
    }
    ns_outbox_progress(c);
    ns_lost_watch(c);
    progress_tick(c);
    return handled;
}

void ns_leader_service(ns_coord *c) { service(c); }

ns_status ns_leader_start(ns_coord *c)
{
    const ns_coord_opts *o = c->opts;
    int n = c->nruns, nn = n > 0 ? n : 1;
    c->log = o->log ? o->log : stderr;
    NS_TRY(check_opts(o));
    c->order = malloc(sizeof(int) * (size_t)nn);
    c->state = calloc((size_t)nn, 1);
    c->seq = malloc(sizeof(int) * (size_t)nn);
    c->t_run = calloc((size_t)nn, sizeof(double));
    c->runs = calloc((size_t)nn, sizeof(ns_run_outcome));
    c->parked = calloc((size_t)c->size, 1);
    c->eta_cost = malloc(sizeof(double) * (size_t)nn);
    c->eta_elapsed = malloc(sizeof(double) * (size_t)nn);
    NS_CHECK(c->order && c->state && c->seq && c->t_run && c->runs && c->parked && c->eta_cost &&
                 c->eta_elapsed,
             NS_ERR_NOMEM, "coordinator: cannot allocate the state of %d runs", n);
    NS_TRY(ns_lost_alloc(c));
    for (int r = 0; r < n; r++) {
        c->seq[r] = -1;
        c->runs[r].rank = -1;
        c->runs[r].dispatch_seq = -1;
        c->runs[r].final_loss = NAN;
        if (o->skip && o->skip[r]) {
            c->state[r] = NS_ST_SKIPPED;
            c->runs[r].status = NS_RUN_SKIPPED;
        } else {
            c->order[c->nq++] = r;
        }
    }
    cost_index *ci = malloc(sizeof *ci * (size_t)(c->nq > 0 ? c->nq : 1));
    NS_CHECK(ci, NS_ERR_NOMEM, "coordinator: cannot allocate the order of %d runs", n);
    for (int k = 0; k < c->nq; k++) ci[k] = (cost_index){run_cost(c, c->order[k]), c->order[k]};
    qsort(ci, (size_t)c->nq, sizeof *ci, by_cost_desc);
    for (int k = 0; k < c->nq; k++) c->order[k] = ci[k].run;
    free(ci);
    c->next_print = c->t_start + o->progress_every_s;
    if (o->progress_json) {
        /* Fail before any work if the sidecar cannot be written at all. */
        ns_progress p;
        ns_leader_snapshot(c, &p, 0);
        NS_TRY(ns_progress_write_json(o->progress_json, &p));
        c->last_json = ns_now_s();
    }
    return NS_OK;
}

/* Hand out and run everything; returns when every worker is parked (each has
 * reported all it was given) or at an MPI failure (c->err). */
static void leader_dispatch(ns_coord *c)
{
    ns_backoff b;
    ns_backoff_reset(&b);
    while (!c->err) {
        if (service(c) > 0) ns_backoff_reset(&b); /* busy again: answer fast */
        if (!c->stop && c->qhead < c->nq) {
            int run = pop_run(c, 0);
            c->state[run] = NS_ST_RUNNING;
            c->t_run[run] = ns_now_s();
            ns_run_outcome out;
            ns_coord_run_one(c, run, &out);
            record(c, run, &out);
            ns_backoff_reset(&b);
            continue;
        }
        /* Nothing for rank 0 to run: done once every worker is parked, which
         * means each has reported everything it was given (or was given up). */
        if (c->nparked + c->nlost == c->size - 1) return;
        ns_backoff_sleep(&b);
    }
}

void ns_leader_loop(ns_coord *c)
{
    leader_dispatch(c);
    if (c->err) return; /* the caller aborts the job: no FINISH, no final progress */
    for (int r = 0; r < c->nruns; r++)
        NS_ASSERT(c->state[r] != NS_ST_QUEUED && c->state[r] != NS_ST_RUNNING);

    ns_progress p;
    ns_leader_snapshot(c, &p, 1);
    ns_coord_result sum = {0};
    ns_leader_result(c, &sum);
    ns_down_msg fin = {.kind = NS_DOWN_FINISH, .run = -1, .stop_signal = c->stop_signal};
    ns_summary_pack(&sum, fin.summary);
    c->finishing = 1;
    c->t_finish = ns_now_s();
    for (int w = 1; w < c->size; w++)
        if (!c->lost[w]) ns_outbox_send(c, w, NS_TAG_DOWN, &fin, sizeof fin);
    /* Wait for every BYE: then no message of this sweep is left unreceived
     * when the communicator is freed. A worker that died after it parked never
     * says BYE: lost.c gives it up rank_timeout_s after FINISH. */
    ns_backoff b;
    ns_backoff_reset(&b);
    while (c->nbye < c->size - 1 - c->nlost && !c->err)
        if (service(c) == 0) ns_backoff_sleep(&b);
    /* CLOSE: the final word, with the ranks lost since FINISH. Workers wait
     * for it before the collective file close, which a lost rank would hang
     * (Open MPI 4.1 without ULFM); with one lost, every rank ends the job. */
    ns_leader_result(c, &sum);
    ns_down_msg close = {.kind = NS_DOWN_CLOSE, .run = -1, .stop_signal = c->stop_signal};
    ns_summary_pack(&sum, close.summary);
    for (int w = 1; w < c->size && !c->err; w++)
        if (!c->lost[w]) ns_outbox_send(c, w, NS_TAG_DOWN, &close, sizeof close);
    if (c->opts->progress_every_s > 0) {
        char line[512];
        ns_progress_line(&p, line, sizeof line);
        fprintf(c->log, "%s\n", line);
        fflush(c->log);
    }
    write_json(c, &p);
}

/* Counts only; runs[] is handed over by ns_coord_execute. */
void ns_leader_result(ns_coord *c, ns_coord_result *res)
{
    res->nruns = c->nruns;
    res->n_done = c->n_final[NS_RUN_DONE];
    res->n_diverged = c->n_final[NS_RUN_DIVERGED];
    res->n_failed = c->n_final[NS_RUN_FAILED];
    res->n_stopped = c->n_final[NS_RUN_STOPPED];
    res->n_skipped = c->nruns - c->nq;
    res->n_pending = c->nq - (res->n_done + res->n_diverged + res->n_failed + res->n_stopped);
    res->stop_requested = c->stop;
    res->stop_signal = c->stop_signal;
    res->n_lost = c->nlost;
    snprintf(res->stop_from, sizeof res->stop_from, "%s", c->stop_from);
    res->complete = !c->stop && res->n_pending == 0 && res->n_stopped == 0 && c->nlost == 0;
}

void ns_leader_free(ns_coord *c)
{
    free(c->order);
    free(c->state);
    free(c->seq);
    free(c->t_run);
    free(c->runs);
    free(c->parked);
    free(c->eta_cost);
    free(c->eta_elapsed);
    ns_lost_free(c);
}

/* ---------------------------------------------------------------- public */

void ns_coord_poll(ns_coord *c)
{
    if (c->rank == 0)
        ns_leader_service(c);
    else
        ns_worker_service(c);
}

int ns_coord_stop_requested(const ns_coord *c)
{
    return c->stop || c->err != NS_OK || ns_signals_caught() != 0;
}

int ns_coord_mpi_ok(ns_coord *c, int rc, const char *what)
{
    if (rc == MPI_SUCCESS) return 1;
    if (c->err == NS_OK) {
        c->err = ns_mpi_check(rc, what);
        snprintf(c->err_msg, sizeof c->err_msg, "%s", ns_error_msg());
    }
    return 0;
}

void ns_coord_request_stop(ns_coord *c)
{
    if (c->rank == 0)
        begin_stop(c, 0, 0, NULL);
    else
        c->stop = 1; /* the next poll tells rank 0 */
}

int ns_coord_rank(const ns_coord *c) { return c->rank; }

void ns_coord_result_free(ns_coord_result *res)
{
    if (!res) return;
    free(res->runs);
    res->runs = NULL;
}

/* Rank, size, send slots, rank 0's queue; then every rank agrees in one
 * Allreduce on the setup status and on nruns: all fail alike, or none does. */
static ns_status coord_setup(ns_coord *c, const ns_coord_opts *o)
{
    if (!ns_coord_mpi_ok(c, MPI_Comm_rank(c->comm, &c->rank), "ns_coord_execute: MPI_Comm_rank") ||
        !ns_coord_mpi_ok(c, MPI_Comm_size(c->comm, &c->size), "ns_coord_execute: MPI_Comm_size"))
        return c->err;
    ns_status st = NS_OK;
    if (o->nruns < 0)
        st = ns_error_set(NS_ERR_ARG, "ns_coord_execute: nruns = %d, expected >= 0", o->nruns);
    if (st == NS_OK) st = ns_outbox_init(&c->out, 4 * c->size + 8);
    if (st == NS_OK && c->rank == 0) st = ns_leader_start(c);
    int mine[3] = {(int)st, o->nruns, -o->nruns}, all[3];
    if (!ns_coord_mpi_ok(c, MPI_Allreduce(mine, all, 3, MPI_INT, MPI_MAX, c->comm),
                         "ns_coord_execute: MPI_Allreduce (setup)"))
        return c->err;
    if (st == NS_OK && all[0] != NS_OK)
        st = ns_error_set((ns_status)all[0], "ns_coord_execute: setup failed on another rank "
                                             "(rank 0 prints the reason)");
    if (st == NS_OK && all[1] != -all[2])
        st = ns_error_set(NS_ERR_ARG, "ns_coord_execute: nruns differs between ranks (%d..%d)",
                          -all[2], all[1]);
    return st;
}

ns_status ns_coord_execute(MPI_Comm comm, const ns_coord_opts *o, ns_run_fn fn, void *ctx,
                           ns_coord_result *res)
{
    NS_CHECK(o && fn && res, NS_ERR_ARG, "ns_coord_execute: opts, fn and res must not be NULL");
    memset(res, 0, sizeof *res);
    ns_coord c0 = {0}, *c = &c0;
    c->t_start = ns_now_s();
    c->fn = fn;
    c->ctx = ctx;
    c->opts = o;
    c->nruns = o->nruns;
    c->held = -1;
    c->rank_timeout_s = o->rank_timeout_s > 0 ? o->rank_timeout_s : NS_COORD_RANK_TIMEOUT_S;
    /* A private communicator: our tags cannot meet the caller's messages. */
    if (!ns_coord_mpi_ok(c, MPI_Comm_dup(comm, &c->comm), "ns_coord_execute: MPI_Comm_dup"))
        return ns_error_set(c->err, "%s", c->err_msg);
    ns_status st = coord_setup(c, o);
    if (st == NS_OK) {
        ns_lost_gather_hosts(c);
        if (c->rank == 0) {
            ns_leader_loop(c);
            ns_leader_result(c, res);
            res->runs = c->runs;
            c->runs = NULL;
        } else {
            ns_worker_loop(c, res);
        }
        /* Sends to a lost rank may never complete: their slots stay allocated
         * (the caller ends the job with MPI_Abort), but the live workers get
         * their CLOSE first (a second is plenty: they are polling for it). */
        if (!c->err) ns_outbox_drain(c, c->nlost == 0 ? INFINITY : 1.0);
    }
    res->wall_s = ns_now_s() - c->t_start;
    if (c->rank == 0) ns_leader_free(c);
    if (c->nlost == 0) ns_outbox_free(&c->out);
    /* After an MPI failure or a lost rank the others may never arrive: the
     * collective free is skipped (the caller aborts the job). */
    if (!c->err && c->nlost == 0)
        ns_coord_mpi_ok(c, MPI_Comm_free(&c->comm), "ns_coord_execute: MPI_Comm_free");
    if (c->err) return ns_error_set(c->err, "%s", c->err_msg);
    return st;
}
