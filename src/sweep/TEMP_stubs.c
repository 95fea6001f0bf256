/* TEMP_stubs.c - TEMPORARY stand-ins for ns_arch_check (branch engine),
 * ns_norm_parse (branch norms) and ns_dataset_info_get (branch data), so the
 * sweep module can be built and tested before those branches land.
 * >>> DELETE THIS FILE when engine, norms and data are merged into main. <<<
 * Accepted names follow the task briefs: vgg11/13/16/19[:width=W], mlp:a-b-..-z,
 * dln:depth=D,width=W; norms none/batch/noisy_batch/l1/l2/linf/layer/group[:opts];
 * data fashion-mnist[:DIR], mnist:DIR, kmnist:DIR, cifar10:DIR,
 * synthetic-dln:n=N,d=D. FLOPs: training = 3 x forward (backward = dX + dW). */
#include "normsweep/error.h"
#include "normsweep/layer.h"
#include "normsweep/norm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ns_status ns_arch_check(const char *arch, ns_shape in, int nout, double *train_flops_per_sample);

typedef struct ns_dataset_info {
    char canonical[256];
    ns_shape shape;
    int nclasses;
    int target_dim;
    size_t n_train, n_test;
} ns_dataset_info;
ns_status ns_dataset_info_get(const char *spec, ns_dataset_info *out);

static const int vgg_cfg[4][22] = {
    /* 0 = max-pool, -1 = end */
    {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0, -1},
    {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0, -1},
    {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0, -1},
    {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0,
     -1},
};

ns_status ns_arch_check(const char *arch, ns_shape in, int nout, double *flops)
{
    double macs = 0;
    static const char *vgg[4] = {"vgg11", "vgg13", "vgg16", "vgg19"};
    for (int v = 0; v < 4; v++) {
        if (strncmp(arch, vgg[v], 5) || (arch[5] && arch[5] != ':')) continue;
        double width = 1.0;
        if (arch[5] == ':') {
            char *end;
            if (strncmp(arch + 6, "width=", 6) || (width = strtod(arch + 12, &end), *end) ||
                !(width > 0))
                return ns_error_set(NS_ERR_ARG, "arch '%s': bad option (expected width=W, W > 0)",
                                    arch);
        }
        int c = in.c, h = in.h, w = in.w;
        for (int i = 0; vgg_cfg[v][i] >= 0; i++) {
            int k = vgg_cfg[v][i];
            if (k == 0) {
                if (h > 1 || w > 1) h /= 2, w /= 2;
                continue;
            }
            int co = (int)lround(k * width);
            if (co < 1) return ns_error_set(NS_ERR_ARG, "arch '%s': width rounds %d channels to 0", arch, k);
            macs += (double)h * w * c * co * 9;
            c = co;
        }
        macs += (double)c * h * w * nout;
        *flops = 6 * macs;
        return NS_OK;
    }
    if (!strncmp(arch, "mlp:", 4)) {
        const char *p = arch + 4;
        long prev = -1, first = -1, last = -1;
        while (*p) {
            char *end;
            long n = strtol(p, &end, 10);
            if (end == p || n <= 0 || (*end && *end != '-'))
                return ns_error_set(NS_ERR_ARG, "arch '%s': expected mlp:N-N-...-N", arch);
            if (prev > 0) macs += (double)prev * n;
            if (first < 0) first = n;
            prev = last = n;
            p = *end ? end + 1 : end;
        }
        if (first != (long)ns_shape_size(in) || last != nout)
            return ns_error_set(NS_ERR_ARG, "arch '%s': input must be %zu and output %d", arch,
                                ns_shape_size(in), nout);
        *flops = 6 * macs;
        return NS_OK;
    }
    if (!strncmp(arch, "dln:", 4)) {
        int depth = 25, width = 10;
        if (sscanf(arch, "dln:depth=%d,width=%d", &depth, &width) != 2 || depth < 1 || width < 1)
            return ns_error_set(NS_ERR_ARG, "arch '%s': expected dln:depth=D,width=W", arch);
        if ((size_t)width != ns_shape_size(in) || width != nout)
            return ns_error_set(NS_ERR_ARG, "arch '%s': width must equal the input size %zu", arch,
                                ns_shape_size(in));
        *flops = 6.0 * depth * width * width;
        return NS_OK;
    }
    return ns_error_set(NS_ERR_ARG, "unknown architecture '%s' (expected vgg11|vgg13|vgg16|vgg19[:width=W], mlp:..., dln:...)", arch);
}

ns_status ns_norm_parse(const char *text, ns_norm_config *out)
{
    static const char *names[] = {"none", "batch", "noisy_batch", "l1", "l2", "linf", "layer", "group"};
    size_t l = strcspn(text, ":");
    for (int k = 0; k < 8; k++)
        if (strlen(names[k]) == l && !strncmp(text, names[k], l)) {
            memset(out, 0, sizeof *out);
            out->kind = (ns_norm_kind)k;
            return NS_OK;
        }
    return ns_error_set(NS_ERR_ARG,
                        "unknown normalization '%s' (expected none, batch, noisy_batch, l1, l2, linf, layer, group)",
                        text);
}

ns_status ns_dataset_info_get(const char *spec, ns_dataset_info *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->canonical, sizeof out->canonical, "%s", spec);
    if (!strcmp(spec, "fashion-mnist") || !strncmp(spec, "fashion-mnist:", 14) ||
        !strncmp(spec, "mnist:", 6) || !strncmp(spec, "kmnist:", 7)) {
        out->shape = (ns_shape){1, 28, 28};
        out->nclasses = 10;
        out->n_train = 60000;
        out->n_test = 10000;
        return NS_OK;
    }
    if (!strncmp(spec, "cifar10:", 8)) {
        out->shape = (ns_shape){3, 32, 32};
        out->nclasses = 10;
        out->n_train = 50000;
        out->n_test = 10000;
        return NS_OK;
    }
    if (!strncmp(spec, "synthetic-dln", 13)) {
        int n = 1000, d = 10;
        if (spec[13] && sscanf(spec, "synthetic-dln:n=%d,d=%d", &n, &d) != 2)
            return ns_error_set(NS_ERR_ARG, "data '%s': expected synthetic-dln:n=N,d=D", spec);
        out->shape = (ns_shape){d, 1, 1};
        out->target_dim = d;
        out->n_train = (size_t)n;
        return NS_OK;
    }
    return ns_error_set(NS_ERR_ARG, "unknown data set '%s' (expected fashion-mnist[:DIR], mnist:DIR, kmnist:DIR, cifar10:DIR, synthetic-dln:n=N,d=D)", spec);
}
