/* status.c - names of run states (status.h). */
#include "normsweep/status.h"

#include <string.h>

static const char *const names[] = {"pending", "skipped", "done",   "diverged",
                                    "failed",  "stopped", "running"};

const char *ns_run_status_name(ns_run_status s)
{
    unsigned i = (unsigned)s;
    return i < sizeof names / sizeof names[0] ? names[i] : "unknown";
}

ns_run_status ns_run_status_parse(const char *name)
{
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) return (ns_run_status)i;
    return NS_RUN_PENDING;
}
