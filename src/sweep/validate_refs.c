/* validate_refs.c - the ONE place the sweep module asks other modules about
 * the names a spec uses: architecture strings (arch.h), normalization names
 * (norm.h) and data set strings (data.h). Everything else in src/sweep/ sees
 * only the small ns_ref_* functions of sweep_internal.h, so a change in those
 * modules' APIs touches this file alone. */
#include "sweep_internal.h"

#include "normsweep/arch.h"
#include "normsweep/data.h"
#include "normsweep/norm.h"

#include <ctype.h>
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

/* The normalization a mistyped name most likely means, or NULL: the names
 * other libraries use (bn, LayerNorm, ...), else a kind within a few edits. */
static const char *norm_suggestion(const char *name, size_t len)
{
    static const struct {
        const char *alias, *kind;
    } aliases[] = {{"bn", "batch"},          {"batchnorm", "batch"}, {"batch_norm", "batch"},
                   {"noisy", "noisy_batch"}, {"noisy_bn", "noisy_batch"},
                   {"ln", "layer"},          {"layernorm", "layer"}, {"layer_norm", "layer"},
                   {"gn", "group"},          {"groupnorm", "group"}, {"group_norm", "group"},
                   {"l_inf", "linf"},        {"l-inf", "linf"},      {"lmax", "linf"}};
    char low[48];
    if (len == 0 || len >= sizeof low) return NULL;
    for (size_t i = 0; i <= len; i++) low[i] = (char)(i < len ? tolower((unsigned char)name[i]) : 0);
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcmp(low, aliases[i].alias)) return aliases[i].kind;
    const char *best = NULL;
    int bestd = ((int)len + 2) / 3 + 1; /* batx -> batch, nosiy_batch -> noisy_batch; bn -/-> l1 */
    for (int k = 0; k < NS_NORM_COUNT; k++) {
        int d = ns_edit_distance(low, ns_norm_name(k));
        if (d < bestd) bestd = d, best = ns_norm_name(k);
    }
    return best;
}

ns_status ns_ref_norm(const char *norm)
{
    ns_norm_config cfg;
    ns_status st = ns_norm_parse(norm, &cfg);
    if (st != NS_ERR_ARG) return st;
    size_t len = strcspn(norm, ":");
    for (int k = 0; k < NS_NORM_COUNT; k++) /* a known name: the options were wrong */
        if (strlen(ns_norm_name(k)) == len && !strncmp(norm, ns_norm_name(k), len)) return st;
    const char *near = norm_suggestion(norm, len);
    if (!near) return st;
    return ns_error_set(NS_ERR_ARG, "norm \"%s\": unknown normalization '%.*s' (did you mean '%s'?)",
                        norm, (int)len, norm, near);
}
