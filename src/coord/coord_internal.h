/* coord_internal.h - state and wire format shared by coordinator.c (rank 0,
 * the "leader"), worker.c (every other rank) and outbox.c. Not installed. */
#ifndef NS_COORD_INTERNAL_H
#define NS_COORD_INTERNAL_H

#include "normsweep/coord.h"
#include "progress.h"

#include <time.h>

/* ---------------------------------------------------------------- wire format
 * Two tags on a private duplicate of the user's communicator. Messages are
 * fixed-size structs sent as MPI_BYTE: the ranks of one job run the same
 * binary on the same architecture. MPI keeps messages between one pair of
 * ranks on one tag in order, which the protocol relies on. */
enum { NS_TAG_UP = 7101, NS_TAG_DOWN = 7102 };

/* Worker -> rank 0. Flags combine; rank 0 handles them in this order:
 * STOP, REPORT, STARTED, REQUEST. */
enum {
    NS_UP_STOP = 1,    /* a stop signal / request happened on this rank       */
    NS_UP_REPORT = 2,  /* report_run ended (out); PENDING = returned unstarted */
    NS_UP_STARTED = 4, /* started_run has begun on this rank                   */
    NS_UP_REQUEST = 8, /* give me a run (exactly one reply: ASSIGN or NONE)... */
    NS_UP_IDLE = 16,   /* ...and I hold nothing: never NONE, park me instead   */
    NS_UP_BYE = 32,    /* reply to FINISH: the last message this rank sends    */
    NS_UP_ALIVE = 64   /* heartbeat: nothing else sent for NS_HEARTBEAT_S     */
};
typedef struct ns_up_msg {
    int flags;
    int report_run, started_run, stop_signal;
    char stop_from[64]; /* STOP: who sent the signal (ns_signals_describe) */
    ns_run_outcome out;
} ns_up_msg;

/* Rank 0 -> worker. FINISH is the last message a worker ever gets; its BYE
 * reply tells rank 0 that nothing more is in flight from that worker. */
enum { NS_DOWN_ASSIGN = 1, NS_DOWN_NONE, NS_DOWN_STOP, NS_DOWN_FINISH, NS_DOWN_CLOSE };
enum { NS_SUMMARY_INTS = 11 };
typedef struct ns_down_msg {
    int kind;
    int run;                 /* ASSIGN */
    int stop_signal;         /* STOP, FINISH */
    int summary[NS_SUMMARY_INTS]; /* FINISH: see ns_summary_pack */
} ns_down_msg;

/* ---------------------------------------------------------------- outbox
 * Every send is an MPI_Isend whose buffer lives in a slot until it completes;
 * slots are allocated one by one so they never move. */
typedef struct ns_outbox_slot {
    MPI_Request req;
    union {
        ns_up_msg up;
        ns_down_msg down;
    } m;
} ns_outbox_slot;

typedef struct ns_outbox {
    ns_outbox_slot **slot;
    int n, cap;
} ns_outbox;

/* Sleep that grows 100 us, 200 us, ... 5 ms while nothing happens. */
typedef struct ns_backoff {
    long ns;
} ns_backoff;

/* Internal run states on rank 0. */
enum { NS_ST_PENDING = 0, NS_ST_SKIPPED, NS_ST_QUEUED, NS_ST_RUNNING, NS_ST_FINAL };

struct ns_coord {
    MPI_Comm comm; /* duplicate of the caller's communicator */
    int rank, size, nruns;
    ns_run_fn fn;
    void *ctx;
    int stop;        /* a stop is known on this rank */
    int stop_signal; /* signal that caused it (0: programmatic / unknown) */
    char stop_from[128]; /* rank 0: where the stop came from, for messages */
    int stop_sent;   /* worker: its STOP went up (its own stop, or the answer to rank 0's) */
    double t_start;
    ns_outbox out;
    /* The first failed MPI call on this rank (mpi_check.h's policy): from then
     * on the coordinator makes no MPI call, the running run stops as if
     * signalled, and ns_coord_execute returns it. */
    ns_status err;
    char err_msg[256];

    /* ---- rank 0 */
    const ns_coord_opts *opts;
    int *order, nq, qhead; /* dispatch order (longest first), next to hand out */
    unsigned char *state;  /* NS_ST_* per run */
    int *seq;              /* dispatch sequence number per run (-1: never) */
    double *t_run;         /* rank 0's clock when a run was seen to start */
    double *eta_cost, *eta_elapsed; /* ETA scratch: one slot per running run */
    ns_run_outcome *runs;
    unsigned char *parked; /* per rank: idle request waiting for FINISH */
    int nparked, next_seq;
    int finishing, nbye; /* FINISH sent: stops are ignored, BYEs counted */
    double t_finish;     /* when FINISH was sent */
    int n_final[NS_RUN_STOPPED + 1]; /* finished runs by status */
    double next_print, last_json;
    int json_dirty, json_warned;
    FILE *log;

    /* ---- other ranks */
    MPI_Request down_req;
    ns_down_msg down;
    int held;     /* run assigned to this rank, not started (-1: none) */
    int req_out;  /* a REQUEST is outstanding */
    int finished; /* FINISH received */

    /* ---- lost ranks (lost.c): who stays silent after a stop */
    double t_stop;          /* when this rank learned of the stop (0: no stop yet) */
    double rank_timeout_s;  /* resolved ns_coord_opts.rank_timeout_s */
    int nlost;              /* rank 0: ranks given up; worker: 1 if it gave up rank 0 */
    double *heard;          /* rank 0: when the last message of each rank came */
    unsigned char *lost;    /* rank 0: per rank, given up */
    char *hosts;            /* rank 0: [size][NS_HOST_LEN] processor name of each rank */
    int noticed;            /* rank 0: the early notice about silent ranks was printed */
    double next_watch;      /* rank 0: when ns_lost_watch looks again */
    double t_last_up;       /* worker: when it last sent rank 0 anything */
};
enum { NS_HOST_LEN = 64 };
#define NS_HEARTBEAT_S 5.0 /* a worker that sent nothing for this long says it is alive
                            * (or for a quarter of rank_timeout_s, if that is shorter) */

void ns_backoff_reset(ns_backoff *b);
void ns_backoff_sleep(ns_backoff *b);

/* 1 when rc is MPI_SUCCESS; else records the failure in c->err (the first one
 * only) and returns 0. Every MPI call of the coordinator goes through it. */
int ns_coord_mpi_ok(ns_coord *c, int rc, const char *what);

ns_status ns_outbox_init(ns_outbox *o, int cap); /* cap preallocated slots */
void ns_outbox_send(ns_coord *c, int dest, int tag, const void *msg, int bytes);
void ns_outbox_progress(ns_coord *c);
/* wait (sleeping) until every send completed, at most max_s (INFINITY: no limit) */
void ns_outbox_drain(ns_coord *c, double max_s);
void ns_outbox_free(ns_outbox *o);

/* Execute run `run` on this rank: call the callback, time it, turn an error
 * into NS_RUN_FAILED with the message. */
void ns_coord_run_one(ns_coord *c, int run, ns_run_outcome *out);

void ns_summary_pack(const ns_coord_result *r, int s[NS_SUMMARY_INTS]);
void ns_summary_unpack(const int s[NS_SUMMARY_INTS], ns_coord_result *r);

/* lost.c: ranks that do not answer a stop. */
ns_status ns_lost_alloc(ns_coord *c);      /* rank 0, in ns_leader_start   */
void ns_lost_gather_hosts(ns_coord *c);    /* collective, after setup       */
void ns_lost_stop_seen(ns_coord *c);       /* this rank learned of the stop */
void ns_lost_heard(ns_coord *c, int src);  /* rank 0: a message from src    */
int ns_lost_ignored(const ns_coord *c, int src); /* rank 0: src was given up */
void ns_lost_watch(ns_coord *c);           /* rank 0, every service         */
int ns_lost_worker_gives_up(ns_coord *c);  /* worker waiting for FINISH     */
void ns_lost_heartbeat(ns_coord *c);       /* worker, every service         */
void ns_lost_free(ns_coord *c);

/* Role entry points and pollers. */
ns_status ns_leader_start(ns_coord *c);
void ns_leader_loop(ns_coord *c);
void ns_leader_service(ns_coord *c);
void ns_leader_result(ns_coord *c, ns_coord_result *res);
/* Rank 0's view of the sweep now (finished: the final one). */
void ns_leader_snapshot(ns_coord *c, ns_progress *p, int finished);
void ns_leader_free(ns_coord *c);
void ns_worker_loop(ns_coord *c, ns_coord_result *res);
void ns_worker_service(ns_coord *c);

#endif
