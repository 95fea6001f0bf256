/* validate_refs.c - the ONE place the sweep module asks other modules about
 * the names a spec uses: architecture strings (arch.h), normalization names
 * (norm.h) and data set strings (data.h). Everything else in src/sweep/ sees
 * only the small ns_ref_* functions of sweep_internal.h, so a change in those
 * modules' APIs touches this file alone. */
#include "sweep_internal.h"

#include "normsweep/arch.h"
#include "normsweep/data.h"
#include "normsweep/norm.h"

#include <stdio.h>
#include <string.h>

ns_status ns_ref_data_info(const char *spec, ns_ref_data *out)
{
    ns_dataset_info info;
    memset(&info, 0, sizeof info);
    NS_TRY(ns_dataset_info_get(spec, &info));
    memset(out, 0, sizeof *out);
    snprintf(out->canonical, sizeof out->canonical, "%s", info.canonical);
    out->shape = info.shape;
    out->nclasses = info.nclasses;
    out->target_dim = info.target_dim;
    out->n_train = (int64_t)info.n_train;
    out->n_test = (int64_t)info.n_test;
    return NS_OK;
}

ns_status ns_ref_arch(const char *arch, ns_shape in, int nout, double *train_flops_per_sample,
                      int *nlayers)
{
    double f = 0;
    NS_TRY(ns_arch_check(arch, in, nout, &f));
    *train_flops_per_sample = f;
    /* Measured layers: every dense/conv of the resolved plan (pools are not). */
    ns_arch a;
    NS_TRY(ns_arch_resolve(arch, in, nout, &a));
    *nlayers = 0;
    for (int i = 0; i < a.nitems; i++) *nlayers += a.items[i].op != NS_AOP_POOL;
    return NS_OK;
}

ns_status ns_ref_norm(const char *norm)
{
    ns_norm_config cfg;
    return ns_norm_parse(norm, &cfg);
}
