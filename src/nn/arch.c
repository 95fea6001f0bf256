/* arch.c - architecture strings -> a plan of layers (arch.h, docs/architectures.md). */
#include "normsweep/arch.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define POOL (-1)
#define END 0

/* torchvision-style CIFAR VGG configurations: channels, POOL = 'M' */
static const struct {
    const char *name;
    int cfg[24];
} vgg_cfgs[] = {
    {"vgg11", {64, POOL, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL, END}},
    {"vgg13", {64, 64, POOL, 128, 128, POOL, 256, 256, POOL, 512, 512, POOL, 512, 512, POOL, END}},
    {"vgg16", {64, 64, POOL, 128, 128, POOL, 256, 256, 256, POOL, 512, 512, 512, POOL, 512, 512,
               512, POOL, END}},
    {"vgg19", {64, 64, POOL, 128, 128, POOL, 256, 256, 256, 256, POOL, 512, 512, 512, 512, POOL,
               512, 512, 512, 512, POOL, END}},
};

#define MAX_WIDTH (1 << 20)

/* Copy the token s[0..len) into buf (NUL-terminated) or fail naming it. */
static ns_status token(const char *s, size_t len, char *buf, size_t cap, const char *what,
                       const char *text)
{
    NS_CHECK(len > 0 && len < cap, NS_ERR_ARG, "arch '%s': %s '%.*s' is not a number", text,
             what, (int)len, s);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return NS_OK;
}

/* Whole-token integer in [lo, hi]; the error names `what` and the full arch text. */
static ns_status parse_int(const char *s, size_t len, long lo, long hi, const char *what,
                           const char *text, int *out)
{
    char buf[32], *end;
    NS_TRY(token(s, len, buf, sizeof buf, what, text));
    errno = 0;
    long v = strtol(buf, &end, 10);
    NS_CHECK(*end == '\0' && errno == 0 && buf[0] != '+' && buf[0] != '-', NS_ERR_ARG,
             "arch '%s': %s '%s' is not a positive integer", text, what, buf);
    NS_CHECK(v >= lo && v <= hi, NS_ERR_ARG, "arch '%s': %s %ld is outside [%ld, %ld]", text,
             what, v, lo, hi);
    *out = (int)v;
    return NS_OK;
}

static ns_status parse_double(const char *s, size_t len, const char *what, const char *text,
                              double *out)
{
    char buf[32], *end;
    NS_TRY(token(s, len, buf, sizeof buf, what, text));
    errno = 0;
    double v = strtod(buf, &end);
    NS_CHECK(*end == '\0' && errno == 0 && isfinite(v) && v > 0.0, NS_ERR_ARG,
             "arch '%s': %s '%s' is not a positive number", text, what, buf);
    *out = v;
    return NS_OK;
}

static void add_item(ns_arch *a, ns_arch_op op, int width, int bias, int hidden)
{
    NS_ASSERT(a->nitems < NS_ARCH_MAX_ITEMS);
    a->items[a->nitems++] = (ns_arch_item){op, width, bias, hidden};
}

/* Options "key=value,key=value" after the ':'; calls back per pair. */
typedef ns_status (*opt_fn)(void *ctx, const char *key, size_t klen, const char *val, size_t vlen,
                            const char *text);

static ns_status each_option(const char *opts, const char *text, opt_fn fn, void *ctx)
{
    const char *p = opts;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        NS_CHECK(eq, NS_ERR_ARG, "arch '%s': option '%.*s' is not key=value", text, (int)n, p);
        NS_TRY(fn(ctx, p, (size_t)(eq - p), eq + 1, n - (size_t)(eq - p) - 1, text));
        if (!comma) break;
        p = comma + 1;
        NS_CHECK(*p, NS_ERR_ARG, "arch '%s': empty option after ','", text);
    }
    return NS_OK;
}

static int key_is(const char *key, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(key, name, klen) == 0;
}

static ns_status vgg_opt(void *ctx, const char *key, size_t klen, const char *val, size_t vlen,
                         const char *text)
{
    if (key_is(key, klen, "width")) return parse_double(val, vlen, "width", text, ctx);
    return ns_error_set(NS_ERR_ARG, "arch '%s': unknown option '%.*s' (vgg takes width=F)", text,
                        (int)klen, key);
}

typedef struct dln_opts {
    int depth, width;
} dln_opts;

static ns_status dln_opt(void *ctx, const char *key, size_t klen, const char *val, size_t vlen,
                         const char *text)
{
    dln_opts *o = ctx;
    if (key_is(key, klen, "depth"))
        return parse_int(val, vlen, 1, NS_ARCH_MAX_ITEMS, "depth", text, &o->depth);
    if (key_is(key, klen, "width"))
        return parse_int(val, vlen, 1, MAX_WIDTH, "width", text, &o->width);
    return ns_error_set(NS_ERR_ARG, "arch '%s': unknown option '%.*s' (dln takes depth=D,width=W)",
                        text, (int)klen, key);
}

static ns_status parse_vgg(const char *text, const char *opts, int which, ns_arch *a)
{
    double width = 1.0;
    if (opts) NS_TRY(each_option(opts, text, vgg_opt, &width));
    a->family = NS_ARCH_VGG;
    a->relu = 1;
    for (const int *c = vgg_cfgs[which].cfg; *c != END; c++) {
        if (*c == POOL) {
            add_item(a, NS_AOP_POOL, 0, 0, 0);
            continue;
        }
        double w = round(*c * width);
        NS_CHECK(w >= 1.0, NS_ERR_ARG,
                 "arch '%s': width=%g rounds a %d-channel layer to 0 channels", text, width, *c);
        NS_CHECK(w <= MAX_WIDTH, NS_ERR_ARG, "arch '%s': width=%g gives %g channels (max %d)",
                 text, width, w, MAX_WIDTH);
        add_item(a, NS_AOP_CONV3, (int)w, 1, 1);
    }
    add_item(a, NS_AOP_DENSE, 0, 1, 0); /* classifier, width = nout (resolve) */
    return NS_OK;
}

static ns_status parse_mlp(const char *text, const char *spec, ns_arch *a)
{
    a->family = NS_ARCH_MLP;
    a->relu = 1;
    NS_CHECK(spec && *spec, NS_ERR_ARG, "arch '%s': mlp needs sizes, e.g. mlp:784-256-10", text);
    int sizes[NS_ARCH_MAX_ITEMS + 1], n = 0;
    const char *p = spec;
    for (;;) {
        const char *dash = strchr(p, '-');
        size_t len = dash ? (size_t)(dash - p) : strlen(p);
        NS_CHECK(n <= NS_ARCH_MAX_ITEMS, NS_ERR_ARG, "arch '%s': more than %d layers", text,
                 NS_ARCH_MAX_ITEMS);
        NS_TRY(parse_int(p, len, 1, MAX_WIDTH, "layer size", text, &sizes[n]));
        n++;
        if (!dash) break;
        p = dash + 1;
    }
    NS_CHECK(n >= 2, NS_ERR_ARG, "arch '%s': mlp needs at least an input and an output size",
             text);
    a->mlp_in = sizes[0]; /* checked against the data by ns_arch_resolve */
    for (int i = 1; i < n; i++) add_item(a, NS_AOP_DENSE, sizes[i], 1, i < n - 1);
    return NS_OK;
}

static ns_status parse_dln(const char *text, const char *opts, ns_arch *a)
{
    dln_opts o = {0, 0};
    NS_CHECK(opts && *opts, NS_ERR_ARG, "arch '%s': dln needs depth=D,width=W", text);
    NS_TRY(each_option(opts, text, dln_opt, &o));
    NS_CHECK(o.depth > 0 && o.width > 0, NS_ERR_ARG,
             "arch '%s': dln needs both depth=D and width=W", text);
    a->family = NS_ARCH_DLN;
    a->relu = 0;
    for (int i = 0; i < o.depth; i++) add_item(a, NS_AOP_DENSE, o.width, 0, i < o.depth - 1);
    return NS_OK;
}

ns_status ns_arch_parse(const char *text, ns_arch *out)
{
    NS_CHECK(text && *text, NS_ERR_ARG, "arch: empty string");
    memset(out, 0, sizeof *out);
    const char *colon = strchr(text, ':');
    size_t nlen = colon ? (size_t)(colon - text) : strlen(text);
    const char *rest = colon ? colon + 1 : NULL;
    for (int i = 0; i < (int)(sizeof vgg_cfgs / sizeof vgg_cfgs[0]); i++)
        if (strlen(vgg_cfgs[i].name) == nlen && memcmp(text, vgg_cfgs[i].name, nlen) == 0)
            return parse_vgg(text, rest, i, out);
    if (nlen == 3 && memcmp(text, "mlp", 3) == 0) return parse_mlp(text, rest, out);
    if (nlen == 3 && memcmp(text, "dln", 3) == 0) return parse_dln(text, rest, out);
    return ns_error_set(NS_ERR_ARG,
                        "arch '%s': unknown architecture '%.*s' (expected vgg11|vgg13|vgg16|"
                        "vgg19[:width=F], mlp:N0-N1-..., dln:depth=D,width=W)",
                        text, (int)nlen, text);
}

ns_status ns_arch_resolve(const char *text, ns_shape in, int nout, ns_arch *a)
{
    NS_TRY(ns_arch_parse(text, a));
    NS_CHECK(in.c > 0 && in.h > 0 && in.w > 0, NS_ERR_ARG, "arch '%s': bad input shape %dx%dx%d",
             text, in.c, in.h, in.w);
    NS_CHECK(nout > 0, NS_ERR_ARG, "arch '%s': bad output count %d", text, nout);
    long insz = (long)in.c * in.h * in.w;
    switch (a->family) {
    case NS_ARCH_VGG: {
        /* drop pools that meet a map smaller than the 2x2 window */
        int h = in.h, w = in.w, k = 0;
        for (int i = 0; i < a->nitems; i++) {
            ns_arch_item it = a->items[i];
            if (it.op == NS_AOP_POOL) {
                if (h < 2 || w < 2) continue;
                h /= 2;
                w /= 2;
            }
            a->items[k++] = it;
        }
        a->nitems = k;
        a->items[k - 1].width = nout;
        break;
    }
    case NS_ARCH_MLP:
        NS_CHECK(a->mlp_in == insz, NS_ERR_ARG,
                 "arch '%s': first size %d must equal the input size %ld (%dx%dx%d)", text,
                 a->mlp_in, insz, in.c, in.h, in.w);
        NS_CHECK(a->items[a->nitems - 1].width == nout, NS_ERR_ARG,
                 "arch '%s': last size %d must equal the number of outputs %d", text,
                 a->items[a->nitems - 1].width, nout);
        break;
    case NS_ARCH_DLN:
        NS_CHECK(a->items[0].width == insz && nout == insz, NS_ERR_ARG,
                 "arch '%s': width %d must equal the input size %ld and the output size %d", text,
                 a->items[0].width, insz, nout);
        break;
    }
    return NS_OK;
}

ns_status ns_arch_size(const char *arch, ns_shape in, int nout, ns_arch_size_info *out)
{
    ns_arch a;
    NS_TRY(ns_arch_resolve(arch, in, nout, &a));
    memset(out, 0, sizeof *out);
    double macs = 0.0;
    long c = in.c, h = in.h, w = in.w;
    for (int i = 0; i < a.nitems; i++) {
        const ns_arch_item *it = &a.items[i];
        double fan_in = 0.0;
        if (it->op == NS_AOP_CONV3) {
            fan_in = (double)c * 9;
            macs += (double)it->width * c * 9 * h * w;
            c = it->width;
        } else if (it->op == NS_AOP_POOL) {
            h /= 2;
            w /= 2;
        } else {
            fan_in = (double)c * h * w;
            macs += fan_in * it->width;
            c = it->width;
            h = w = 1;
        }
        double outs = (double)c * h * w;
        out->outputs += outs;
        if (it->hidden) out->hidden_outputs += outs;
        if (it->op == NS_AOP_POOL) continue;
        out->params += (fan_in + (it->bias ? 1 : 0)) * it->width;
        out->measured_layers++;
    }
    out->train_flops = 3.0 * 2.0 * macs;
    return NS_OK;
}

ns_status ns_arch_check(const char *arch, ns_shape in, int nout, double *train_flops_per_sample)
{
    ns_arch_size_info z;
    NS_TRY(ns_arch_size(arch, in, nout, &z));
    if (train_flops_per_sample) *train_flops_per_sample = z.train_flops;
    return NS_OK;
}
