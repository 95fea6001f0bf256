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

static void ref_data_of(const ns_dataset_info *info, ns_ref_data *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->canonical, sizeof out->canonical, "%s", info->canonical);
    out->shape = info->shape;
    out->nclasses = info->nclasses;
    out->target_dim = info->target_dim;
    out->n_train = (int64_t)info->n_train;
    out->n_test = (int64_t)info->n_test;
}

ns_status ns_ref_data_info(const char *spec, ns_ref_data *out)
{
    ns_dataset_info info;
    memset(&info, 0, sizeof info);
    NS_TRY(ns_dataset_info_get(spec, &info));
    ref_data_of(&info, out);
    return NS_OK;
}

ns_status ns_ref_data_published(const char *spec, ns_ref_data *out)
{
    ns_dataset_info info;
    NS_TRY(ns_dataset_info_published(spec, &info));
    ref_data_of(&info, out);
    return NS_OK;
}

ns_status ns_ref_arch(const char *arch, ns_shape in, int nout, double *train_flops_per_sample,
                      int *nlayers)
{
    ns_arch_size_info z;
    NS_TRY(ns_arch_size(arch, in, nout, &z));
    *train_flops_per_sample = z.train_flops;
    *nlayers = z.measured_layers;
    return NS_OK;
}

ns_status ns_ref_arch_size(const char *arch, ns_shape in, int nout, ns_ref_size *out)
{
    ns_arch_size_info z;
    NS_TRY(ns_arch_size(arch, in, nout, &z));
    out->params = z.params;
    /* every layer's output, plus a norm and a ReLU output per hidden layer */
    out->values = z.outputs + 2 * z.hidden_outputs;
    return NS_OK;
}

int ns_ref_arch_width(char *buf, size_t cap, const char *arch, double width)
{
    if (strncmp(arch, "vgg", 3) != 0) return 0; /* only vgg archs take width= */
    snprintf(buf, cap, "%.*s:width=%.4g", (int)strcspn(arch, ":"), arch, width);
    return 1;
}

ns_status ns_ref_norm_fits(const char *norm, const char *arch, ns_shape in, int nout)
{
    ns_norm_config cfg;
    ns_arch a;
    NS_TRY(ns_norm_parse(norm, &cfg));
    if (cfg.kind != NS_NORM_GROUP) return NS_OK;
    NS_TRY(ns_arch_resolve(arch, in, nout, &a));
    for (int i = 0, layer = 0; i < a.nitems; i++) {
        if (a.items[i].op == NS_AOP_POOL) continue;
        layer++;
        if (a.items[i].hidden && a.items[i].width % cfg.groups != 0)
            return ns_error_set(NS_ERR_ARG, "'%s' does not fit '%s': groups=%d does not divide "
                                "the %d %s of layer %d", norm, arch, cfg.groups, a.items[i].width,
                                a.items[i].op == NS_AOP_CONV3 ? "channels" : "features", layer);
    }
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

/* Eval mode holds a normalization's statistics fixed at their running values.
 * layer and group keep none (each sample is normalized by its own statistics
 * in both modes), so they have no eval mode of their own: 0 for them, 1 for
 * every other kind (none has no statistics to hold), -1 if norm does not parse. */
int ns_ref_norm_has_eval(const char *norm)
{
    ns_norm_config cfg;
    if (ns_norm_parse(norm, &cfg) != NS_OK) return -1;
    return cfg.kind != NS_NORM_LAYER && cfg.kind != NS_NORM_GROUP;
}
