/* norm_pending.c - TEMPORARY stand-in for the normalization layers (branch
 * `norms`), so the engine links and runs with norm "none" before they land.
 * Deleted when `norms` is merged. */
#include "normsweep/norm.h"

#include <string.h>

ns_norm_config ns_norm_defaults(ns_norm_kind kind)
{
    ns_norm_config c = {kind, 1e-5f, 0.1f, 32, 0.5f, 1.25f, 0.1f, 0.1f};
    return c;
}

const char *ns_norm_name(ns_norm_kind kind)
{
    return kind == NS_NORM_NONE ? "none" : "unbuilt";
}

ns_status ns_norm_parse(const char *text, ns_norm_config *out)
{
    if (strcmp(text, "none") == 0) {
        *out = ns_norm_defaults(NS_NORM_NONE);
        return NS_OK;
    }
    return ns_error_set(NS_ERR_ARG, "norm '%s': normalization layers are not built yet", text);
}

ns_status ns_norm_create(ns_layer *l, const ns_norm_config *cfg, ns_shape shape, int max_batch)
{
    (void)l; (void)cfg; (void)shape; (void)max_batch;
    return ns_error_set(NS_ERR_STATE, "normalization layers are not built yet");
}

ns_status ns_norm_thm41(const ns_layer *l, const float *dout, const float *din, int batch,
                        double *lhs, double *rhs)
{
    (void)l; (void)dout; (void)din; (void)batch; (void)lhs; (void)rhs;
    return ns_error_set(NS_ERR_STATE, "normalization layers are not built yet");
}
