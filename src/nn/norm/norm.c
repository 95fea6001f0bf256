/* norm.c - what every normalization shares: defaults, names, the option
 * parser, construction (common buffers, then the kind's setup), parameter
 * views, and the Theorem 4.1 check. Formulas: docs/normalizations.md. */
#include "nn/norm/norm_impl.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[NS_NORM_COUNT] = {
    "none", "batch", "noisy_batch", "l1", "l2", "linf", "layer", "group",
};

ns_norm_config ns_norm_defaults(ns_norm_kind kind)
{
    ns_norm_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.eps = 1e-5f;
    c.momentum = 0.1f;
    c.groups = kind == NS_NORM_LAYER ? 1 : 32;
    c.n_mu = 0.5f;
    c.n_sigma = 1.25f;
    c.r_mu = 0.1f;
    c.r_sigma = 0.1f;
    return c;
}

const char *ns_norm_name(ns_norm_kind kind)
{
    if ((int)kind < 0 || kind >= NS_NORM_COUNT) return "?";
    return kind_names[kind];
}

/* ---------------------------------------------------------------- parsing */

enum { OPT_EPS, OPT_MOMENTUM, OPT_GROUPS, OPT_N_MU, OPT_N_SIGMA, OPT_R_MU, OPT_R_SIGMA, OPT_COUNT };

/* One row per option: its name and the ns_norm_config field its value sets
 * (a float, or for groups a positive int). */
typedef struct norm_option {
    const char *name;
    size_t offset;
    int is_int;
} norm_option;

static const norm_option options[OPT_COUNT] = {
    [OPT_EPS] = {"eps", offsetof(ns_norm_config, eps), 0},
    [OPT_MOMENTUM] = {"momentum", offsetof(ns_norm_config, momentum), 0},
    [OPT_GROUPS] = {"groups", offsetof(ns_norm_config, groups), 1},
    [OPT_N_MU] = {"n_mu", offsetof(ns_norm_config, n_mu), 0},
    [OPT_N_SIGMA] = {"n_sigma", offsetof(ns_norm_config, n_sigma), 0},
    [OPT_R_MU] = {"r_mu", offsetof(ns_norm_config, r_mu), 0},
    [OPT_R_SIGMA] = {"r_sigma", offsetof(ns_norm_config, r_sigma), 0},
};

/* Which options a kind accepts (bit i: options[i]). */
static unsigned opts_of(ns_norm_kind k)
{
    const unsigned eps = 1u << OPT_EPS, mom = 1u << OPT_MOMENTUM;
    switch (k) {
    case NS_NORM_BATCH:
    case NS_NORM_L1:
    case NS_NORM_L2:
    case NS_NORM_LINF: return eps | mom;
    case NS_NORM_NOISY_BATCH:
        return eps | mom | 1u << OPT_N_MU | 1u << OPT_N_SIGMA | 1u << OPT_R_MU | 1u << OPT_R_SIGMA;
    case NS_NORM_LAYER: return eps;
    case NS_NORM_GROUP: return eps | 1u << OPT_GROUPS;
    default: return 0;
    }
}

static void allowed_list(ns_norm_kind k, char *buf, size_t n)
{
    buf[0] = '\0';
    unsigned m = opts_of(k);
    for (int i = 0; i < OPT_COUNT; i++)
        if (m & (1u << i)) {
            size_t len = strlen(buf);
            snprintf(buf + len, n - len, "%s%s", len ? ", " : "", options[i].name);
        }
    if (!buf[0]) snprintf(buf, n, "none");
}

/* Range checks shared by parse and create (a config may be built by hand). */
static ns_status check_config(const ns_norm_config *c, const char *where)
{
    NS_CHECK((int)c->kind >= 0 && c->kind < NS_NORM_COUNT, NS_ERR_ARG,
             "%s: unknown normalization kind %d", where, (int)c->kind);
    NS_CHECK(isfinite(c->eps) && c->eps >= 0.0f, NS_ERR_ARG,
             "%s: eps must be a finite number >= 0, got %g", where, (double)c->eps);
    NS_CHECK(isfinite(c->momentum) && c->momentum >= 0.0f && c->momentum <= 1.0f, NS_ERR_ARG,
             "%s: momentum must be in [0, 1], got %g", where, (double)c->momentum);
    NS_CHECK(c->groups >= 1, NS_ERR_ARG, "%s: groups must be >= 1, got %d", where, c->groups);
    NS_CHECK(isfinite(c->n_mu) && c->n_mu >= 0.0f, NS_ERR_ARG,
             "%s: n_mu must be >= 0, got %g", where, (double)c->n_mu);
    NS_CHECK(isfinite(c->n_sigma) && c->n_sigma >= 1.0f, NS_ERR_ARG,
             "%s: n_sigma must be >= 1 (sigma_j ~ U(1, n_sigma)), got %g", where,
             (double)c->n_sigma);
    NS_CHECK(isfinite(c->r_mu) && c->r_mu >= 0.0f, NS_ERR_ARG,
             "%s: r_mu must be >= 0, got %g", where, (double)c->r_mu);
    NS_CHECK(isfinite(c->r_sigma) && c->r_sigma >= 0.0f, NS_ERR_ARG,
             "%s: r_sigma must be >= 0, got %g", where, (double)c->r_sigma);
    return NS_OK;
}

/* The kind named by text[0, nlen). */
static ns_status parse_kind(const char *text, size_t nlen, int *kind)
{
    *kind = -1;
    for (int k = 0; k < NS_NORM_COUNT; k++)
        if (strlen(kind_names[k]) == nlen && strncmp(text, kind_names[k], nlen) == 0) *kind = k;
    if (*kind >= 0) return NS_OK;
    char names[128] = "";
    for (int k = 0; k < NS_NORM_COUNT; k++) {
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%s",
                 k == 0 ? "" : k == NS_NORM_COUNT - 1 ? " or " : ", ", kind_names[k]);
    }
    return ns_error_set(NS_ERR_ARG, "norm \"%s\": unknown normalization '%.*s' (expected %s)",
                        text, (int)nlen, text, names);
}

/* One "name=value" item, item[0, len), of text's option list, into c.
 * seen: the options given so far (each at most once); allowed: c's kind's
 * options, for the message. */
static ns_status parse_option(const char *text, const char *item, size_t len,
                              const char *allowed, ns_norm_config *c, unsigned *seen)
{
    const char *eq = memchr(item, '=', len);
    NS_CHECK(eq != NULL && eq != item, NS_ERR_ARG,
             "norm \"%s\": option '%.*s' is not of the form name=value", text, (int)len, item);
    size_t klen = (size_t)(eq - item);
    int o = -1;
    for (int i = 0; i < OPT_COUNT; i++)
        if (strlen(options[i].name) == klen && strncmp(item, options[i].name, klen) == 0) o = i;
    NS_CHECK(o >= 0 && (opts_of(c->kind) & (1u << o)), NS_ERR_ARG,
             "norm \"%s\": unknown option '%.*s' for '%s' (allowed: %s)", text, (int)klen, item,
             kind_names[c->kind], allowed);
    const char *name = options[o].name;
    NS_CHECK(!(*seen & (1u << o)), NS_ERR_ARG, "norm \"%s\": option '%s' given twice", text,
             name);
    *seen |= 1u << o;
    /* The value must be all of [eq+1, item+len): copy it out to parse it. */
    char val[64], *stop = NULL;
    size_t vlen = len - klen - 1;
    NS_CHECK(vlen > 0 && vlen < sizeof val, NS_ERR_ARG, "norm \"%s\": option '%s' needs a value",
             text, name);
    memcpy(val, eq + 1, vlen);
    val[vlen] = '\0';
    char *field = (char *)c + options[o].offset;
    errno = 0;
    if (options[o].is_int) {
        long v = strtol(val, &stop, 10);
        NS_CHECK(*stop == '\0' && errno == 0 && v >= 1 && v <= INT32_MAX, NS_ERR_ARG,
                 "norm \"%s\": option '%s' expects a positive integer, got '%s'", text, name,
                 val);
        int iv = (int)v;
        memcpy(field, &iv, sizeof iv);
    } else {
        double v = strtod(val, &stop);
        NS_CHECK(*stop == '\0' && errno == 0 && isfinite(v), NS_ERR_ARG,
                 "norm \"%s\": option '%s' expects a number, got '%s'", text, name, val);
        float f = (float)v;
        memcpy(field, &f, sizeof f);
    }
    return NS_OK;
}

ns_status ns_norm_parse(const char *text, ns_norm_config *out)
{
    NS_CHECK(text != NULL, NS_ERR_ARG, "norm: no text given");
    const char *colon = strchr(text, ':');
    size_t nlen = colon ? (size_t)(colon - text) : strlen(text);
    int kind;
    NS_TRY(parse_kind(text, nlen, &kind));
    ns_norm_config c = ns_norm_defaults((ns_norm_kind)kind);
    if (colon) {
        char allowed[96];
        allowed_list(c.kind, allowed, sizeof allowed);
        NS_CHECK(colon[1] != '\0', NS_ERR_ARG,
                 "norm \"%s\": empty option list after ':' (options of '%s': %s)", text,
                 kind_names[kind], allowed);
        unsigned seen = 0;
        for (const char *p = colon + 1; *p;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            NS_TRY(parse_option(text, p, len, allowed, &c, &seen));
            p += len;
            if (*p == ',') {
                p++;
                NS_CHECK(*p != '\0', NS_ERR_ARG, "norm \"%s\": trailing ','", text);
            }
        }
    }
    char where[160];
    snprintf(where, sizeof where, "norm \"%s\"", text);
    NS_TRY(check_config(&c, where));
    *out = c;
    return NS_OK;
}

/* ---------------------------------------------------------------- construction */

/* Applied as (x - shift) * scale + bias, shift = the float nearest mean; the
 * remainder mean - shift goes into bias (and the backward's constants). */
void ns_norm_set_coef(ns_norm_priv *p, int c, double mean, double inv, float gamma, float beta)
{
    p->shift[c] = (float)mean;
    p->shift_err[c] = mean - p->shift[c];
    p->inv_d[c] = (float)inv;
    p->scale[c] = (float)(gamma * inv);
    p->bias[c] = (float)(beta - p->shift_err[c] * gamma * inv);
}

/* gamma = 1, beta = 0; state = (running mean 0, running scale 1) when present. */
void ns_norm_init_affine(ns_layer *l, ns_rng *rng, ns_init_kind kind)
{
    (void)rng;
    (void)kind;
    const ns_norm_priv *p = l->priv;
    for (int c = 0; c < p->C; c++) {
        l->w[c] = 1.0f;
        l->w[p->C + c] = 0.0f;
    }
    if (l->nstate)
        for (int c = 0; c < p->C; c++) {
            l->state[c] = 0.0f;
            l->state[p->C + c] = 1.0f;
        }
}

static void priv_free(ns_norm_priv *p)
{
    if (!p) return;
    free(p->shift);
    free(p->inv_d);
    free(p->scale);
    free(p->bias);
    free(p->shift_err);
    free(p->mean);
    free(p->var);
    free(p->aux);
    free(p->sum_g);
    free(p->sum_gx);
    free(p->argmax);
    free(p->ca);
    free(p->cb);
    free(p->cc);
    free(p->noise_s);
    free(p->noise_m);
    free(p->noise_mu);
    free(p->noise_sigma);
    free(p->g_mean);
    free(p->g_rstd);
    free(p->unit_mu);
    free(p->unit_d);
    free(p->r_mu);
    free(p->r_d);
    free(p->r_acc);
    free(p->r_ch);
    free(p->r_plane);
    free(p->r_k);
    free(p);
}

void ns_norm_destroy(ns_layer *l)
{
    priv_free(l->priv);
    l->priv = NULL;
}

ns_status ns_norm_create(ns_layer *l, const ns_norm_config *cfg, ns_shape shape, int max_batch)
{
    NS_CHECK(l != NULL && cfg != NULL, NS_ERR_ARG, "ns_norm_create: NULL layer or config");
    NS_TRY(check_config(cfg, "ns_norm_create"));
    NS_CHECK(cfg->kind != NS_NORM_NONE, NS_ERR_ARG,
             "ns_norm_create: kind 'none' makes no layer (the net places none)");
    NS_CHECK(shape.c >= 1 && shape.h >= 1 && shape.w >= 1, NS_ERR_ARG,
             "ns_norm_create(%s): shape {%d,%d,%d} must be positive", ns_norm_name(cfg->kind),
             shape.c, shape.h, shape.w);
    NS_CHECK(max_batch >= 1, NS_ERR_ARG, "ns_norm_create(%s): max_batch %d must be >= 1",
             ns_norm_name(cfg->kind), max_batch);
    const int C = shape.c, HW = shape.h * shape.w;
    int G = cfg->kind == NS_NORM_LAYER ? 1 : cfg->groups;
    if (cfg->kind == NS_NORM_GROUP)
        NS_CHECK(C % G == 0, NS_ERR_ARG,
                 "ns_norm_create(group): groups=%d does not divide the %d channels", G, C);

    ns_norm_priv *p = calloc(1, sizeof *p);
    if (!p) return ns_error_set(NS_ERR_NOMEM, "ns_norm_create: out of memory");
    p->cfg = *cfg;
    p->C = C;
    p->HW = HW;
    p->G = G;
    p->last_mode = -1;
    int ok = (p->shift = calloc(C, sizeof(float))) && (p->inv_d = calloc(C, sizeof(float))) &&
             (p->scale = calloc(C, sizeof(float))) &&
             (p->bias = calloc(C, sizeof(float))) && (p->shift_err = calloc(C, sizeof(double))) && (p->mean = calloc(C, sizeof(double))) &&
             (p->var = calloc(C, sizeof(double))) && (p->aux = calloc(C, sizeof(double))) &&
             (p->sum_g = calloc(C, sizeof(double))) && (p->sum_gx = calloc(C, sizeof(double))) &&
             (p->argmax = calloc(C, sizeof(size_t))) && (p->ca = calloc(C, sizeof(float))) &&
             (p->cb = calloc(C, sizeof(float))) && (p->cc = calloc(C, sizeof(float)));
    size_t elems = (size_t)max_batch * C * HW;
    if (ok && cfg->kind == NS_NORM_NOISY_BATCH)
        ok = (p->noise_s = malloc(elems * sizeof(float))) &&
             (p->noise_m = malloc(elems * sizeof(float))) &&
             (p->noise_mu = calloc(C, sizeof(float))) &&
             (p->noise_sigma = calloc(C, sizeof(float)));
    if (ok && (cfg->kind == NS_NORM_GROUP || cfg->kind == NS_NORM_LAYER))
        ok = (p->g_mean = calloc((size_t)max_batch * G, sizeof(float))) &&
             (p->g_rstd = calloc((size_t)max_batch * G, sizeof(float)));
    const int grouped = cfg->kind == NS_NORM_GROUP || cfg->kind == NS_NORM_LAYER;
    p->nunits = grouped ? max_batch * G : C;
    p->kmax = grouped ? max_batch * C : C;
    const size_t U = (size_t)p->nunits, planes = (size_t)max_batch * C;
    if (ok)
        ok = (p->unit_mu = calloc(U, sizeof(double))) && (p->unit_d = calloc(U, sizeof(double))) &&
             (p->r_mu = calloc(U, sizeof(double))) && (p->r_d = calloc(U, sizeof(double))) &&
             (p->r_acc = calloc(4 * U, sizeof(double))) &&
             (p->r_ch = calloc(2 * (size_t)C, sizeof(double))) &&
             (p->r_plane = calloc(5 * planes, sizeof(double))) &&
             (p->r_k = calloc(7 * (size_t)p->kmax, sizeof(float)));
    if (!ok) {
        priv_free(p);
        return ns_error_set(NS_ERR_NOMEM,
                            "ns_norm_create(%s): out of memory for a workspace of %zu elements",
                            ns_norm_name(cfg->kind), elems);
    }

    ns_layer_setup(l, NULL, shape, shape, max_batch); /* ops: the kind's setup below */
    l->is_norm = 1;
    l->priv = p;
    /* Every kind: w = [gamma (C) | beta (C)], PyTorch's weight and bias. */
    l->nparams = 2 * (size_t)C;
    ns_layer_add_view(l, "weight", 0, 0, 1, &C);
    ns_layer_add_view(l, "bias", C, 0, 1, &C);
    switch (cfg->kind) {
    case NS_NORM_BATCH: ns_norm_setup_batch(l); break;
    case NS_NORM_NOISY_BATCH: ns_norm_setup_noisy(l); break;
    case NS_NORM_L1:
    case NS_NORM_L2:
    case NS_NORM_LINF: ns_norm_setup_lp(l); break;
    default: ns_norm_setup_group(l); break;
    }
    NS_ASSERT(l->ops && l->ops->destroy == ns_norm_destroy);
    return NS_OK;
}

/* ---------------------------------------------------------------- Theorem 4.1 */

ns_status ns_norm_thm41(const ns_layer *l, const float *dout, const float *din, int batch,
                        double *lhs, double *rhs)
{
    NS_CHECK(l && l->priv && l->is_norm, NS_ERR_ARG, "ns_norm_thm41: not a normalization layer");
    const ns_norm_priv *p = l->priv;
    NS_CHECK(p->cfg.kind == NS_NORM_BATCH || p->cfg.kind == NS_NORM_NOISY_BATCH, NS_ERR_STATE,
             "ns_norm_thm41(%s): only batch and noisy_batch layers have Theorem 4.1",
             ns_norm_name(p->cfg.kind));
    NS_CHECK(p->last_mode == NS_MODE_TRAIN && p->last_in != NULL, NS_ERR_STATE,
             "ns_norm_thm41(%s): needs a TRAIN-mode forward and backward first "
             "(last forward mode %d)", ns_norm_name(p->cfg.kind), p->last_mode);
    NS_CHECK(batch == p->last_batch, NS_ERR_STATE,
             "ns_norm_thm41: batch %d differs from the last forward's %d", batch, p->last_batch);
    NS_CHECK(dout && din && lhs && rhs, NS_ERR_ARG, "ns_norm_thm41: NULL buffer");
    const int C = p->C, HW = p->HW;
    const size_t N = (size_t)C * HW;
    const float *x = p->last_in;
    /* noisy: z = gamma yhat + beta is scaled by s before the output, so dL/dz = s dout */
    const float *s = p->cfg.kind == NS_NORM_NOISY_BATCH ? p->noise_s : NULL;
    const double m = (double)batch * HW;
    for (int c = 0; c < C; c++) {
        double sig2 = p->var[c] + p->cfg.eps, inv = 1.0 / sqrt(sig2);
        double l2 = 0.0, sg = 0.0, sgg = 0.0, sgy = 0.0;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < HW; i++) {
                size_t o = b * N + (size_t)c * HW + i;
                double g = s ? (double)dout[o] * s[o] : dout[o];
                double yhat = (x[o] - p->mean[c]) * inv;
                l2 += (double)din[o] * din[o];
                sg += g;
                sgg += g * g;
                sgy += g * yhat;
            }
        double gamma = l->w[c];
        lhs[c] = l2;
        rhs[c] = gamma * gamma / sig2 * (sgg - sg * sg / m - sgy * sgy / m);
    }
    return NS_OK;
}
