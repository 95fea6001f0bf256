/* progress.c - see progress.h. */
#include "progress.h"
#include "normsweep/checkpoint.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

double ns_progress_eta(double done_wall, double done_cost, double pending_cost,
                       const double *running_cost, const double *running_elapsed,
                       int nrunning, int nranks)
{
    if (!(done_cost > 0) || !(done_wall >= 0) || nranks < 1) return -1;
    double spc = done_wall / done_cost; /* seconds per cost unit on one rank */
    double total = pending_cost * spc, longest = 0;
    for (int i = 0; i < nrunning; i++) {
        double left = running_cost[i] * spc - running_elapsed[i];
        if (left < 0) left = 0;
        total += left;
        if (left > longest) longest = left;
    }
    double spread = total / nranks;
    return spread > longest ? spread : longest;
}

void ns_progress_hms(double s, char *buf, size_t n)
{
    if (!(s >= 0) || !isfinite(s)) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

void ns_progress_line(const ns_progress *p, char *buf, size_t n)
{
    char el[32], eta[32];
    ns_progress_hms(p->elapsed_s, el, sizeof el);
    ns_progress_hms(p->eta_s, eta, sizeof eta);
    snprintf(buf, n,
             "sweep: %d/%d finished (done %d, diverged %d, failed %d, stopped %d) | "
             "running %d, queued %d, pending %d, skipped %d | %.1f runs/h | elapsed %s | "
             "ETA %s%s",
             p->done + p->diverged + p->failed, p->nruns - p->skipped, p->done, p->diverged,
             p->failed, p->stopped, p->running, p->queued, p->pending, p->skipped,
             p->runs_per_hour, el, eta, p->stop_requested ? " | STOPPING" : "");
}

int ns_progress_json(const ns_progress *p, char *buf, size_t n)
{
    char eta[32];
    if (p->eta_s >= 0 && isfinite(p->eta_s))
        snprintf(eta, sizeof eta, "%.1f", p->eta_s);
    else
        snprintf(eta, sizeof eta, "null");
    return snprintf(buf, n,
                    "{\"nruns\": %d, \"done\": %d, \"diverged\": %d, \"failed\": %d, "
                    "\"stopped\": %d, \"running\": %d, \"queued\": %d, \"pending\": %d, "
                    "\"skipped\": %d, \"nranks\": %d, \"elapsed_s\": %.3f, "
                    "\"runs_per_hour\": %.3f, \"eta_s\": %s, \"stop_requested\": %s, "
                    "\"finished\": %s, \"complete\": %s, \"updated_unix\": %lld}\n",
                    p->nruns, p->done, p->diverged, p->failed, p->stopped, p->running,
                    p->queued, p->pending, p->skipped, p->nranks, p->elapsed_s,
                    p->runs_per_hour, eta, p->stop_requested ? "true" : "false",
                    p->finished ? "true" : "false", p->complete ? "true" : "false",
                    (long long)time(NULL));
}

ns_status ns_progress_write_json(const char *path, const ns_progress *p)
{
    char text[1024];
    int len = ns_progress_json(p, text, sizeof text);
    NS_ASSERT(len > 0 && (size_t)len < sizeof text);
    NS_CHECK(strlen(path) + sizeof ".tmp" <= PATH_MAX, NS_ERR_ARG,
             "progress JSON path too long (%zu chars)", strlen(path));
    /* tmp + fsync + rename + directory fsync: after a crash the sidecar is the
     * old or the new content, never empty. */
    return ns_write_file_atomic(path, text);
}
