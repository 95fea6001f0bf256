/* worker.c - the side of every rank but 0: ask, run, report, repeat.
 *
 * A worker always has one MPI_Irecv posted for rank 0's messages (until
 * FINISH, then again for CLOSE: the end handshake is FINISH -> BYE -> CLOSE) and at most one request outstanding. It asks for its next run when
 * it starts one (prefetch), so a run normally follows the previous one with no
 * wait. While it waits it sleeps (MPI_Test + nanosleep backoff), it never sits
 * in a blocking MPI call. */
#include "coord_internal.h"
#include "normsweep/clock.h"

#include <stdio.h>
#include <string.h>

static void post_recv(ns_coord *c)
{
    ns_coord_mpi_ok(c, MPI_Irecv(&c->down, (int)sizeof c->down, MPI_BYTE, 0, NS_TAG_DOWN, c->comm,
                                 &c->down_req),
                    "worker: MPI_Irecv");
}

static void send_up(ns_coord *c, const ns_up_msg *m)
{
    ns_outbox_send(c, 0, NS_TAG_UP, m, (int)sizeof *m);
    c->t_last_up = ns_now_s();
}

/* lost.c's heartbeat: rank 0 hears from every live worker at least this often
 * (given a poll per step), so a silent one is dead, hung or cut off. Well
 * inside rank_timeout_s: a short --rank-timeout must not take a rank in a long
 * run for dead. */
void ns_lost_heartbeat(ns_coord *c)
{
    double every = c->rank_timeout_s / 4 < NS_HEARTBEAT_S ? c->rank_timeout_s / 4 : NS_HEARTBEAT_S;
    if (c->finished || c->err || ns_now_s() - c->t_last_up < every) return;
    ns_up_msg m = {.flags = NS_UP_ALIVE, .report_run = -1, .started_run = -1};
    send_up(c, &m);
}

static void handle_down(ns_coord *c, const ns_down_msg *d, ns_coord_result *fin)
{
    switch (d->kind) {
    case NS_DOWN_ASSIGN:
        NS_ASSERT(c->held < 0 && c->req_out);
        c->held = d->run;
        c->req_out = 0;
        break;
    case NS_DOWN_NONE:
        NS_ASSERT(c->req_out);
        c->req_out = 0;
        break;
    case NS_DOWN_STOP:
        /* Answered with a STOP of ours (unless sent already): that tells rank
         * 0 this rank is alive (lost.c), within one step of the stop. */
        if (!c->stop) c->stop_signal = d->stop_signal;
        c->stop = 1;
        break;
    case NS_DOWN_FINISH:
        NS_ASSERT(fin); /* only in the worker loop, never inside a run */
        c->finished = 1;
        ns_summary_unpack(d->summary, fin);
        break;
    default: NS_ASSERT(!"unknown message kind from rank 0");
    }
}

/* Drain rank 0's messages, notice local stops; returns how many messages
 * arrived. FINISH can only arrive in the worker loop (rank 0 sends it once this
 * rank is parked), never mid-run. */
static int service(ns_coord *c, ns_coord_result *fin)
{
    int handled = 0;
    while (!c->finished && !c->err) {
        int flag = 0;
        if (!ns_coord_mpi_ok(c, MPI_Test(&c->down_req, &flag, MPI_STATUS_IGNORE),
                             "worker: MPI_Test (receive)") ||
            !flag)
            break;
        ns_down_msg d = c->down;
        handle_down(c, &d, fin);
        handled++;
        if (!c->finished) post_recv(c);
    }
    if (!c->stop && ns_signals_caught()) {
        c->stop = 1;
        c->stop_signal = ns_signals_caught();
    }
    if (c->stop) ns_lost_stop_seen(c);
    if (c->stop && !c->stop_sent && !c->finished) {
        ns_up_msg m = {.flags = NS_UP_STOP, .report_run = -1, .started_run = -1,
                       .stop_signal = c->stop_signal};
        if (c->stop_signal) ns_signals_sender(m.stop_from, sizeof m.stop_from);
        send_up(c, &m);
        c->stop_sent = 1;
    }
    ns_lost_heartbeat(c);
    ns_outbox_progress(c);
    return handled;
}

void ns_worker_service(ns_coord *c) { service(c, NULL); }

/* After BYE: rank 0's CLOSE, the final summary (ranks lost after FINISH
 * included), before anything collective. Rank 0 sends it at most
 * rank_timeout_s after FINISH; silence for twice that means rank 0 is gone. */
static void wait_close(ns_coord *c, ns_coord_result *res)
{
    double t_bye = ns_now_s();
    ns_backoff b;
    ns_backoff_reset(&b);
    post_recv(c);
    while (!c->err) {
        int flag = 0;
        ns_outbox_progress(c);
        if (!ns_coord_mpi_ok(c, MPI_Test(&c->down_req, &flag, MPI_STATUS_IGNORE),
                             "worker: MPI_Test (close)"))
            return;
        if (flag) {
            NS_ASSERT(c->down.kind == NS_DOWN_CLOSE);
            ns_summary_unpack(c->down.summary, res);
            return;
        }
        double waited = ns_now_s() - t_bye;
        if (waited >= 2 * c->rank_timeout_s) {
            fprintf(stderr, "sweep: rank %d: no word from rank 0 %.0f s after the end of the "
                            "sweep: giving it up (dead or hung); every run is in the file\n",
                    c->rank, waited);
            fflush(stderr);
            ns_coord_mpi_ok(c, MPI_Cancel(&c->down_req), "worker: MPI_Cancel");
            c->nlost = 1;
            res->n_lost = 1;
            res->complete = 0;
            return;
        }
        ns_backoff_sleep(&b);
    }
}

void ns_worker_loop(ns_coord *c, ns_coord_result *res)
{
    ns_backoff b;
    ns_backoff_reset(&b);
    post_recv(c);
    while (!c->err) {
        if (service(c, res) > 0) ns_backoff_reset(&b);
        if (c->finished) break;
        if (c->held >= 0 && c->stop) {
            /* Assigned before the stop reached rank 0: hand it back unstarted. */
            ns_up_msg m = {.flags = NS_UP_REPORT, .report_run = c->held, .started_run = -1};
            m.out.status = NS_RUN_PENDING;
            m.out.rank = c->rank;
            send_up(c, &m);
            c->held = -1;
        }
        if (c->held >= 0) {
            int run = c->held;
            c->held = -1;
            ns_up_msg m = {.flags = NS_UP_STARTED, .report_run = -1, .started_run = run};
            if (!c->req_out) { /* prefetch the next run while this one trains */
                m.flags |= NS_UP_REQUEST;
                c->req_out = 1;
            }
            send_up(c, &m);
            ns_up_msg r = {.flags = NS_UP_REPORT, .report_run = run, .started_run = -1};
            ns_coord_run_one(c, run, &r.out);
            send_up(c, &r);
            ns_backoff_reset(&b);
            continue;
        }
        if (!c->req_out) {
            /* Holding nothing: ask for a run, or (queue empty / stopping) be
             * parked until FINISH. */
            ns_up_msg m = {.flags = NS_UP_REQUEST | NS_UP_IDLE, .report_run = -1,
                           .started_run = -1};
            send_up(c, &m);
            c->req_out = 1;
            continue; /* the reply may already be there after a fast rank 0 */
        }
        if (ns_lost_worker_gives_up(c)) {
            /* No FINISH will come: leave without BYE; the caller aborts the job. */
            ns_coord_mpi_ok(c, MPI_Cancel(&c->down_req), "worker: MPI_Cancel");
            res->nruns = c->nruns;
            res->stop_requested = 1;
            res->stop_signal = c->stop_signal;
            res->n_lost = 1;
            return;
        }
        ns_backoff_sleep(&b);
    }
    if (c->err) return; /* the caller aborts the job */
    ns_up_msg bye = {.flags = NS_UP_BYE, .report_run = -1, .started_run = -1};
    send_up(c, &bye);
    wait_close(c, res);
}
