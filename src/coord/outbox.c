/* outbox.c - non-blocking sends, sleeping waits, and the pieces both roles
 * share (running one run, the FINISH summary).
 *
 * Why Isend + test + nanosleep and never MPI_Send/MPI_Wait: a blocked MPI call
 * in Open MPI busy-polls its core, and a waiting rank must leave its core to
 * the ranks that train. */
#include "coord_internal.h"
#include "normsweep/clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NS_BACKOFF_MIN_NS = 100000, NS_BACKOFF_MAX_NS = 5000000 };

void ns_backoff_reset(ns_backoff *b) { b->ns = NS_BACKOFF_MIN_NS; }

void ns_backoff_sleep(ns_backoff *b)
{
    if (b->ns < NS_BACKOFF_MIN_NS) b->ns = NS_BACKOFF_MIN_NS;
    struct timespec ts = {b->ns / 1000000000L, b->ns % 1000000000L};
    nanosleep(&ts, NULL); /* EINTR (a signal) just ends the nap early */
    b->ns *= 2;
    if (b->ns > NS_BACKOFF_MAX_NS) b->ns = NS_BACKOFF_MAX_NS;
}

/* Slots are preallocated by ns_outbox_init: the protocol bounds the number of
 * sends in flight (a worker has at most one request outstanding, so rank 0
 * owes it at most a reply, a STOP and a FINISH). */
ns_status ns_outbox_init(ns_outbox *o, int cap)
{
    o->slot = calloc((size_t)cap, sizeof *o->slot);
    if (!o->slot) return ns_error_set(NS_ERR_NOMEM, "coordinator: cannot allocate %d send slots", cap);
    o->cap = cap;
    for (o->n = 0; o->n < cap; o->n++) {
        o->slot[o->n] = malloc(sizeof(ns_outbox_slot));
        if (!o->slot[o->n])
            return ns_error_set(NS_ERR_NOMEM, "coordinator: cannot allocate send slot %d", o->n);
        o->slot[o->n]->req = MPI_REQUEST_NULL;
    }
    return NS_OK;
}

void ns_outbox_progress(ns_coord *c)
{
    ns_outbox *o = &c->out;
    for (int i = 0; i < o->n && !c->err; i++) {
        if (o->slot[i]->req == MPI_REQUEST_NULL) continue;
        int done = 0; /* MPI_Test sets the request to NULL when done */
        ns_coord_mpi_ok(c, MPI_Test(&o->slot[i]->req, &done, MPI_STATUS_IGNORE),
                        "coordinator: MPI_Test (send)");
    }
}

static int outbox_free_slot(ns_outbox *o)
{
    for (int i = 0; i < o->n; i++)
        if (o->slot[i]->req == MPI_REQUEST_NULL) return i;
    return -1;
}

/* After an MPI failure (c->err) sends are dropped: the job is being aborted. */
void ns_outbox_send(ns_coord *c, int dest, int tag, const void *msg, int bytes)
{
    ns_outbox *o = &c->out;
    NS_ASSERT((size_t)bytes <= sizeof o->slot[0]->m);
    int i = outbox_free_slot(o);
    ns_backoff b;
    ns_backoff_reset(&b);
    while (i < 0 && !c->err) { /* cannot happen with the protocol's bound; never spin anyway */
        ns_outbox_progress(c);
        i = outbox_free_slot(o);
        if (i < 0) ns_backoff_sleep(&b);
    }
    if (c->err) return;
    memcpy(&o->slot[i]->m, msg, (size_t)bytes);
    ns_coord_mpi_ok(c, MPI_Isend(&o->slot[i]->m, bytes, MPI_BYTE, dest, tag, c->comm,
                                 &o->slot[i]->req),
                    "coordinator: MPI_Isend");
}

void ns_outbox_drain(ns_coord *c, double max_s)
{
    ns_outbox *o = &c->out;
    ns_backoff b;
    ns_backoff_reset(&b);
    double until = ns_now_s() + max_s;
    while (!c->err && ns_now_s() < until) {
        ns_outbox_progress(c);
        int busy = 0;
        for (int i = 0; i < o->n; i++) busy |= o->slot[i]->req != MPI_REQUEST_NULL;
        if (!busy) return;
        ns_backoff_sleep(&b);
    }
}

void ns_outbox_free(ns_outbox *o)
{
    for (int i = 0; i < o->n; i++) free(o->slot[i]);
    free(o->slot);
    memset(o, 0, sizeof *o);
}

void ns_coord_run_one(ns_coord *c, int run, ns_run_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->status = NS_RUN_DONE;
    out->final_loss = NAN;
    out->dispatch_seq = -1;
    double t0 = ns_now_s();
    ns_error_clear();
    ns_status st = c->fn(c->ctx, c, run, out);
    out->wall_s = ns_now_s() - t0;
    out->rank = c->rank;
    if (st != NS_OK) {
        out->status = NS_RUN_FAILED;
        snprintf(out->msg, sizeof out->msg, "%s: %s", ns_status_name(st), ns_error_msg());
    } else if (out->status < NS_RUN_DONE || out->status > NS_RUN_STOPPED) {
        int bad = (int)out->status;
        out->status = NS_RUN_FAILED;
        snprintf(out->msg, sizeof out->msg,
                 "callback returned NS_OK but set out->status = %d (expected done, "
                 "diverged or stopped)", bad);
    }
    out->msg[sizeof out->msg - 1] = '\0';
}

void ns_summary_pack(const ns_coord_result *r, int s[NS_SUMMARY_INTS])
{
    int v[NS_SUMMARY_INTS] = {r->complete,   r->stop_requested, r->stop_signal, r->n_done,
                              r->n_diverged, r->n_failed,       r->n_stopped,   r->n_pending,
                              r->n_skipped,  r->nruns,          r->n_lost};
    memcpy(s, v, sizeof v);
}

void ns_summary_unpack(const int s[NS_SUMMARY_INTS], ns_coord_result *r)
{
    r->complete = s[0];
    r->stop_requested = s[1];
    r->stop_signal = s[2];
    r->n_done = s[3];
    r->n_diverged = s[4];
    r->n_failed = s[5];
    r->n_stopped = s[6];
    r->n_pending = s[7];
    r->n_skipped = s[8];
    r->nruns = s[9];
    r->n_lost = s[10];
}
