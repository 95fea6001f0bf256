/* validate_refs.c - the ONE place the sweep module asks other modules about
 * the names a spec uses: architecture strings (arch.h), normalization names
 * (norm.h) and data set strings (data.h). Everything else in src/sweep/ sees
 * only the small ns_ref_* functions of sweep_internal.h, so a change in those
 * modules' APIs touches this file alone.
 *
 * arch.h and data.h are written in parallel on other branches; until they are
 * in this tree their prototypes are declared here (as agreed in the task
 * briefs) and src/sweep/TEMP_stubs.c stands in for them. */
#include "sweep_internal.h"

#include "normsweep/norm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include("normsweep/arch.h")
#include "normsweep/arch.h"
#else
ns_status ns_arch_check(const char *arch, ns_shape in, int nout, double *train_flops_per_sample);
#endif

#if __has_include("normsweep/data.h")
#include "normsweep/data.h"
#else
typedef struct ns_dataset_info {
    char canonical[256];
    ns_shape shape;
    int nclasses;
    int target_dim;
    size_t n_train, n_test;
} ns_dataset_info;
ns_status ns_dataset_info_get(const char *spec, ns_dataset_info *out);
#endif

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

/* Number of measured (dense/conv) layers an arch string builds, for the ICS
 * cost and layer-number checks; -1 when not known. arch.h has no such query
 * (yet), so this reads the documented arch grammar (docs/architectures.md):
 * vggNN (+1 classifier), mlp:a-b-...-z (one dense per '-'), dln:depth=D. */
static int measured_layers(const char *arch)
{
    static const struct { const char *name; int convs; } vgg[] = {
        {"vgg11", 8}, {"vgg13", 10}, {"vgg16", 13}, {"vgg19", 16}};
    for (size_t i = 0; i < sizeof vgg / sizeof vgg[0]; i++) {
        size_t l = strlen(vgg[i].name);
        if (!strncmp(arch, vgg[i].name, l) && (arch[l] == '\0' || arch[l] == ':'))
            return vgg[i].convs + 1;
    }
    if (!strncmp(arch, "mlp:", 4)) {
        int dashes = 0;
        for (const char *p = arch + 4; *p && *p != ':'; p++) dashes += *p == '-';
        return dashes;
    }
    if (!strncmp(arch, "dln:", 4)) {
        const char *d = strstr(arch, "depth=");
        return d ? atoi(d + 6) : -1;
    }
    return -1;
}

ns_status ns_ref_arch(const char *arch, ns_shape in, int nout, double *train_flops_per_sample,
                      int *nlayers)
{
    double f = 0;
    NS_TRY(ns_arch_check(arch, in, nout, &f));
    *train_flops_per_sample = f;
    *nlayers = measured_layers(arch);
    return NS_OK;
}

ns_status ns_ref_norm(const char *norm)
{
    ns_norm_config cfg;
    return ns_norm_parse(norm, &cfg);
}
