/* probe_internal.h - checks shared by the probe files (not public API). */
#ifndef NS_PROBE_INTERNAL_H
#define NS_PROBE_INTERNAL_H

#include "normsweep/probe.h"

/* The workspace exists and was made for this objective's n. */
static inline ns_status ns_probe_check_ws(const ns_objective *obj, const ns_probe_ws *ws,
                                          const char *who)
{
    NS_CHECK(ws && ws->wx && ws->gx && ws->gy && ws->v, NS_ERR_ARG,
             "%s: probe workspace not allocated (call ns_probe_ws_alloc)", who);
    NS_CHECK(ws->n == obj->n, NS_ERR_ARG,
             "%s: workspace made for n = %zu parameters, objective has n = %zu", who, ws->n,
             obj->n);
    return NS_OK;
}

#endif
