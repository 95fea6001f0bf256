/* progress.h - progress line and JSON sidecar of a sweep (rank 0). Internal to
 * src/coord; pure formatting plus one atomic file write, so it is unit-tested
 * without MPI. */
#ifndef NS_COORD_PROGRESS_H
#define NS_COORD_PROGRESS_H

#include "normsweep/error.h"

#include <stddef.h>

typedef struct ns_progress {
    int nruns;
    int done, diverged, failed, stopped; /* finished runs by outcome              */
    int running;                         /* started, not yet reported            */
    int queued;                          /* handed to a rank, not started yet     */
    int pending;                         /* not handed out (not skipped)          */
    int skipped;                         /* finished by an earlier job            */
    int nranks;
    double elapsed_s;
    double runs_per_hour;                /* (done + diverged + failed) / elapsed  */
    double eta_s;                        /* < 0: unknown                          */
    int stop_requested, finished, complete;
} ns_progress;

/* Estimated seconds left. spc = done_wall / done_cost is the seconds one rank
 * needs per cost unit, measured on runs that completed (diverged runs end early
 * and would bias it). A running run has max(0, cost*spc - elapsed) left; the
 * estimate is max(longest running remainder, total remaining work / nranks).
 * Returns -1 when nothing has completed yet (or costs are all zero). */
double ns_progress_eta(double done_wall, double done_cost, double pending_cost,
                       const double *running_cost, const double *running_elapsed,
                       int nrunning, int nranks);

/* Seconds as "H:MM:SS" ("?" when negative / not finite). */
void ns_progress_hms(double s, char *buf, size_t n);

/* One line, no newline, e.g.
 * "sweep: 12/37 finished (done 11, diverged 1, failed 0, stopped 0) | running 2, queued 1,
 *  pending 22, skipped 0 | 41.2 runs/h | elapsed 0:17:31 | ETA 0:31:10" */
void ns_progress_line(const ns_progress *p, char *buf, size_t n);

/* The sidecar's JSON object (one line + newline); returns the length, or a
 * value >= n when buf was too small (snprintf semantics). */
int ns_progress_json(const ns_progress *p, char *buf, size_t n);

/* Write the JSON to path atomically (ns_write_file_atomic: path.tmp, fsync,
 * rename, directory fsync). NS_ERR_IO names the path and errno text. */
ns_status ns_progress_write_json(const char *path, const ns_progress *p);

#endif
