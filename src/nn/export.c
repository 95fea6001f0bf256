/* export.c - weights as raw little-endian float32 + a JSON manifest (net.h,
 * docs/architectures.md "Weight export"). */
#include "normsweep/net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* float32 in little-endian order regardless of the host */
static int write_le(FILE *f, const float *x, size_t n)
{
    if (host_is_little_endian()) return fwrite(x, sizeof *x, n, f) == n ? 0 : -1;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[4];
        uint32_t u;
        memcpy(&u, &x[i], 4);
        for (int k = 0; k < 4; k++) b[k] = (uint8_t)(u >> (8 * k));
        if (fwrite(b, 1, 4, f) != 4) return -1;
    }
    return 0;
}

static void json_tensor(FILE *f, int *first, const ns_layer *l, const ns_param_view *v,
                        size_t base, const char *kind)
{
    size_t count = 1;
    fprintf(f, "%s\n  {\"name\":\"%s.%s\",\"kind\":\"%s\",\"layer_kind\":\"%s\",\"shape\":[",
            *first ? "" : ",", l->name, v->suffix, kind, l->ops->kind);
    for (int d = 0; d < v->ndim; d++) {
        fprintf(f, "%s%d", d ? "," : "", v->dims[d]);
        count *= (size_t)v->dims[d];
    }
    fprintf(f, "],\"offset\":%zu,\"count\":%zu}", base + v->offset, count);
    *first = 0;
}

ns_status ns_net_export(const ns_net *n, const char *prefix, const float *grads)
{
    char path[4096];
    /* checked against the longer of the two names (.json), so neither is cut */
    NS_CHECK(strlen(prefix) + sizeof ".json" <= sizeof path, NS_ERR_ARG,
             "export: path prefix too long: %s", prefix);
    snprintf(path, sizeof path, "%s.bin", prefix);
    FILE *f = fopen(path, "wb");
    if (!f) return ns_error_set(NS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    int bad = write_le(f, n->params, n->nparams) || write_le(f, n->state, n->nstate) ||
              (grads && write_le(f, grads, n->nparams));
    bad |= fclose(f) != 0;
    if (bad) return ns_error_set(NS_ERR_IO, "%s: write failed", path);

    snprintf(path, sizeof path, "%s.json", prefix);
    f = fopen(path, "w");
    if (!f) return ns_error_set(NS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "{\"format\":\"normsweep-weights-1\",\"dtype\":\"float32-le\",\n"
               " \"in_shape\":[%d,%d,%d],\"nout\":%d,\"loss\":\"%s\",\"norm\":\"%s\",\n"
               " \"nparams\":%zu,\"nstate\":%zu,\"has_grads\":%s,\n \"layers\":[",
            n->in_shape.c, n->in_shape.h, n->in_shape.w, n->nout, ns_loss_name(n->loss),
            ns_norm_name(n->norm.kind), n->nparams, n->nstate, grads ? "true" : "false");
    for (int i = 0; i < n->nlayers; i++) {
        const ns_layer *l = &n->layers[i];
        fprintf(f, "%s\n  {\"name\":\"%s\",\"kind\":\"%s\",\"in\":[%d,%d,%d],\"out\":[%d,%d,%d]}",
                i ? "," : "", l->name, l->ops->kind, l->in_shape.c, l->in_shape.h, l->in_shape.w,
                l->out_shape.c, l->out_shape.h, l->out_shape.w);
    }
    fprintf(f, "],\n \"tensors\":[");
    int first = 1;
    size_t po = 0, so = 0;
    for (int i = 0; i < n->nlayers; i++) {
        const ns_layer *l = &n->layers[i];
        for (int k = 0; k < l->nviews; k++) {
            const ns_param_view *v = &l->views[k];
            json_tensor(f, &first, l, v, v->is_state ? n->nparams + so : po,
                        v->is_state ? "state" : "param");
            if (grads && !v->is_state)
                json_tensor(f, &first, l, v, n->nparams + n->nstate + po, "grad");
        }
        po += l->nparams;
        so += l->nstate;
    }
    fprintf(f, "]}\n");
    if (fclose(f) != 0) return ns_error_set(NS_ERR_IO, "%s: write failed", path);
    return NS_OK;
}
