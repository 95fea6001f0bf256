/* objective.c - the objective's table checks, the probe workspace and the
 * probe rng streams. */
#include "normsweep/probe.h"
#include "normsweep/rng.h"

#include <stdlib.h>

ns_status ns_objective_check(const ns_objective *obj)
{
    NS_CHECK(obj && obj->loss_grad, NS_ERR_ARG, "probe: objective or its loss_grad is NULL");
    NS_CHECK(obj->n > 0, NS_ERR_ARG, "probe: objective has n = 0 parameters");
    NS_CHECK(obj->nlayers >= 0, NS_ERR_ARG, "probe: objective nlayers = %d < 0", obj->nlayers);
    if (obj->nlayers == 0) return NS_OK;
    NS_CHECK(obj->layer_off && obj->layer_len && obj->prefix_end, NS_ERR_ARG,
             "probe: objective has %d layers but NULL layer tables", obj->nlayers);
    for (int i = 0; i < obj->nlayers; i++) {
        size_t off = obj->layer_off[i], len = obj->layer_len[i], pe = obj->prefix_end[i];
        NS_CHECK(len > 0 && off <= obj->n && len <= obj->n - off, NS_ERR_ARG,
                 "probe: layer %d slice [%zu, %zu+%zu) is empty or outside [0, n=%zu)", i, off,
                 off, len, obj->n);
        NS_CHECK(pe <= off, NS_ERR_ARG,
                 "probe: layer %d prefix_end %zu > layer_off %zu (must end before the layer)",
                 i, pe, off);
        NS_CHECK(i == 0 || pe >= obj->prefix_end[i - 1], NS_ERR_ARG,
                 "probe: prefix_end[%d] = %zu < prefix_end[%d] = %zu (must be non-decreasing)",
                 i, pe, i - 1, obj->prefix_end[i - 1]);
    }
    return NS_OK;
}

ns_status ns_probe_ws_alloc(ns_probe_ws *ws, size_t n)
{
    NS_CHECK(ws && n > 0, NS_ERR_ARG, "probe: workspace needs n > 0 (got %zu)", n);
    *ws = (ns_probe_ws){0};
    ws->n = n;
    ws->owned = 1;
    float **bufs[] = {&ws->wx, &ws->gx, &ws->gy, &ws->v};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        *bufs[i] = malloc(n * sizeof(float));
        if (!*bufs[i]) {
            ns_probe_ws_free(ws);
            return ns_error_set(NS_ERR_NOMEM, "probe: cannot allocate workspace of 4 x %zu floats",
                                n);
        }
    }
    return NS_OK;
}

ns_probe_ws ns_probe_ws_over(size_t n, float *wx, float *gx, float *gy, float *v)
{
    return (ns_probe_ws){.n = n, .wx = wx, .gx = gx, .gy = gy, .v = v, .owned = 0};
}

void ns_probe_ws_free(ns_probe_ws *ws)
{
    if (!ws) return;
    if (!ws->owned) {
        *ws = (ns_probe_ws){0};
        return;
    }
    free(ws->wx);
    free(ws->gx);
    free(ws->gy);
    free(ws->v);
    *ws = (ns_probe_ws){0};
}

uint64_t ns_probe_stream(int purpose, long step)
{
    uint32_t sub = ((uint32_t)purpose << 28) | ((uint32_t)step & 0x0fffffffu);
    return NS_STREAM(NS_STREAM_PROBE, sub);
}
