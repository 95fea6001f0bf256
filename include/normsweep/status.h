/* status.h - how a run stands, shared by the run loop, the coordinator and
 * the results file (its `status` column holds ns_run_status_name()). */
#ifndef NORMSWEEP_STATUS_H
#define NORMSWEEP_STATUS_H

typedef enum ns_run_status {
    NS_RUN_PENDING = 0, /* never started: not dispatched, or a stop came first    */
    NS_RUN_SKIPPED,     /* finished by an earlier job (resume)                    */
    NS_RUN_DONE,        /* ran to its last step                                   */
    NS_RUN_DIVERGED,    /* stopped early by the divergence rule (a result, too)   */
    NS_RUN_FAILED,      /* an error ended it (message recorded)                   */
    NS_RUN_STOPPED,     /* interrupted by a stop request, checkpointed: resumable */
    NS_RUN_RUNNING      /* in progress (what a killed job leaves behind)          */
} ns_run_status;

/* "pending", "skipped", "done", "diverged", "failed", "stopped", "running". */
const char *ns_run_status_name(ns_run_status s);
/* Inverse of ns_run_status_name; unknown text -> NS_RUN_PENDING. */
ns_run_status ns_run_status_parse(const char *name);

#endif
