/* rop.c - the R-ops (layer.h) of every normalization, from one formulation.
 *
 * Every kind normalizes the m values of a unit as yhat = (x - mu)/d and
 * outputs z = gamma_c yhat + beta_c per channel c (noisy_batch: out = s z + n
 * with the step's noise s, n held fixed, as training saw it):
 *   batch, noisy_batch  unit = channel          mu = mean  d = sqrt(var + eps)
 *   l1, l2, linf        unit = channel          mu = mean  d = mean|x| + eps,
 *                                                   sqrt(mean x^2 + eps), max|x| + eps
 *   group, layer        unit = (sample, group)  mu = mean  d = sqrt(var + eps)
 * EVAL mode (batch, noisy_batch, l_p): mu and d are the running statistics,
 * constants, and there is no noise: R mu = R d = D = 0 below.
 *
 * R-forward (rx = R(x), R gamma and R beta from the direction v):
 *   R mu = mean(rx)
 *   R d  = mean(yhat rx) (batch, group), mean(sign(x) rx) (l1), mean(x rx)/d (l2),
 *          sign(x_a) rx_a at the first argmax a of |x| (linf)
 *   R yhat = (rx - R mu - yhat R d)/d,   R z = R gamma yhat + gamma R yhat + R beta
 *   noisy: R out = s R z
 * Backward (g' = s dout or dout, dyhat = gamma g'):
 *   din_i = (dyhat_i - A1/m - D_i A2)/d,  A1 = sum dyhat, A2 = sum dyhat yhat,
 *   D_i = dd/dx_i = yhat_i/m (batch, group), sign(x_i)/m (l1), x_i/(m d) (l2),
 *         sign(x_a) at i = a, else 0 (linf)
 * R-backward (R g' = s R(dout), R dyhat = R gamma g' + gamma R g'):
 *   R din_i = -(R d/d) din_i + (R dyhat_i - A3/m - R D_i A2 - D_i A4)/d
 *   A3 = sum R dyhat,  A4 = sum (R dyhat yhat + dyhat R yhat),
 *   R D_i = R yhat_i/m (batch, group), (rx_i - x_i R d/d)/(m d) (l2), 0 (l1, linf)
 *   R dgamma_c = sum (R g' yhat + g' R yhat),  R dbeta_c = sum R g'
 * (Derivations: docs/measurements.md, "Exact Hessian-vector products".)
 *
 * Layout: x[b][c][hw]; a "plane" is the HW values of (b, c). Each op makes
 * two passes over memory, as the forward/backward do:
 *   1. per-plane sums (16 float lanes, or elementwise when HW = 1), combined
 *      per unit in double;
 *   2. an elementwise write with per-k float constants, k = the channel (all
 *      kinds but group/layer) or the plane (group/layer), X = x - shift_k,
 *      shift = the unit's mean rounded to float:
 *        R out = s (Ka X + Kb rx + Kc)
 *        R din = Kg g' + Kr R g' + Kx X + Kd rx + Ks sign(x) + K0
 *      (the formulas above collapsed: every term is linear in g', R g', X, rx,
 *      and for l1 sign(x); linf adds its single D term at a afterwards).
 */
#include "nn/norm/norm_impl.h"

#include <string.h>

#define LANES 16
#define INL static inline __attribute__((always_inline))

/* constants per k in p->r_k: the shift, then the coefficients of pass 2
 * (forward uses the first three: Ka, Kb, Kc; backward all six) */
enum { K_SHIFT, K_1, K_2, K_3, K_4, K_5, K_6, K_COUNT };

typedef struct rgeom {
    int batch, C, HW;
    int kstride;  /* plane (b, c) uses constants k = b * kstride + c        */
    int grouped;  /* units are (sample, group) runs (group, layer)          */
    int cpg, G;   /* channels per group, groups                              */
    double m;     /* values per unit                                         */
} rgeom;

static rgeom geom_of(const ns_norm_priv *p, int batch)
{
    const ns_norm_kind k = p->cfg.kind;
    rgeom g = {.batch = batch, .C = p->C, .HW = p->HW, .G = p->G};
    g.grouped = k == NS_NORM_GROUP || k == NS_NORM_LAYER;
    g.cpg = g.grouped ? p->C / p->G : 1;
    g.kstride = g.grouped ? p->C : 0;
    g.m = g.grouped ? (double)g.cpg * p->HW : (double)batch * p->HW;
    return g;
}

static inline int unit_of(const rgeom *g, int b, int c)
{
    return g->grouped ? b * g->G + c / g->cpg : c;
}

INL float sgnf(float x) { return (float)((x > 0.0f) - (x < 0.0f)); }

INL double lanes_total(const float a[LANES])
{
    double t = 0.0;
    for (int k = 0; k < LANES; k++) t += a[k];
    return t;
}

/* Base statistics of channel units (group/layer's forward writes its own). */
static void channel_stats(const ns_layer *l, ns_norm_priv *p)
{
    const ns_norm_kind kind = p->cfg.kind;
    const int C = p->C, bn = kind == NS_NORM_BATCH || kind == NS_NORM_NOISY_BATCH;
    const double eps = p->cfg.eps;
    for (int c = 0; c < C; c++) {
        double mu, n; /* n: variance (BN) or raw l_p norm */
        if (p->last_mode == NS_MODE_TRAIN) {
            mu = p->mean[c];
            n = bn ? p->var[c] : p->aux[c];
        } else {
            mu = l->state[c];
            n = l->state[C + c];
        }
        p->unit_mu[c] = mu;
        p->unit_d[c] = bn ? sqrt(n + eps) : ns_lp_denominator(kind, n, eps);
    }
}

/* ---------------------------------------------------------------- pass kernels */

/* P0[plane] = sum rx, P1[plane] = sum kx rx with kx = x - shift (sign(x) for l1). */
INL void rf_sums_impl(const rgeom *g, const float *restrict x, const float *restrict rx,
                      const float *restrict shift, int l1, double *restrict P0,
                      double *restrict P1)
{
    const int C = g->C, HW = g->HW;
    for (int b = 0; b < g->batch; b++) {
        const float *sh = shift + (size_t)b * g->kstride;
        const size_t row = (size_t)b * C;
        if (HW == 1) {
            for (int c = 0; c < C; c++) {
                float kx = l1 ? sgnf(x[row + c]) : x[row + c] - sh[c];
                P0[row + c] = rx[row + c];
                P1[row + c] = kx * rx[row + c];
            }
            continue;
        }
        for (int c = 0; c < C; c++) {
            const float *xp = x + (row + c) * HW, *rp = rx + (row + c) * HW, s0 = sh[c];
            float a0[LANES] = {0}, a1[LANES] = {0};
            int i = 0;
            for (; i + LANES <= HW; i += LANES)
                for (int k = 0; k < LANES; k++) {
                    a0[k] += rp[i + k];
                    a1[k] += (l1 ? sgnf(xp[i + k]) : xp[i + k] - s0) * rp[i + k];
                }
            for (int k = 0; i < HW; i++, k++) {
                a0[k] += rp[i];
                a1[k] += (l1 ? sgnf(xp[i]) : xp[i] - s0) * rp[i];
            }
            P0[row + c] = lanes_total(a0);
            P1[row + c] = lanes_total(a1);
        }
    }
}

NS_HOT static void rf_sums(const rgeom *g, const float *x, const float *rx, const float *shift,
                           int l1, double *P0, double *P1)
{
    if (l1) rf_sums_impl(g, x, rx, shift, 1, P0, P1);
    else rf_sums_impl(g, x, rx, shift, 0, P0, P1);
}

/* out = s (Ka X + Kb rx + Kc), X = x - shift; rx, s may be NULL (0, 1). */
INL float rf_elem(float x, float rx, float s, float s0, float a, float br, float c0, int has_rx,
                  int has_s)
{
    float v = a * (x - s0) + c0;
    if (has_rx) v += br * rx;
    return has_s ? s * v : v;
}

INL void rf_write_impl(const rgeom *g, float *restrict out, const float *restrict x,
                       const float *restrict rx, const float *restrict s, const float *K,
                       size_t kmax)
{
    const int C = g->C, HW = g->HW, hr = rx != NULL, hs = s != NULL;
    for (int b = 0; b < g->batch; b++) {
        const size_t kb = (size_t)b * g->kstride, row = (size_t)b * C;
        const float *restrict sh = K + K_SHIFT * kmax + kb, *restrict ka = K + K_1 * kmax + kb,
                              *restrict kr = K + K_2 * kmax + kb, *restrict kc = K + K_3 * kmax + kb;
        if (HW == 1) { /* dense: along the channels, constants per channel */
            for (int c = 0; c < C; c++) {
                const size_t e = row + c;
                out[e] = rf_elem(x[e], hr ? rx[e] : 0.0f, hs ? s[e] : 1.0f, sh[c], ka[c], kr[c],
                                 kc[c], hr, hs);
            }
            continue;
        }
        for (int c = 0; c < C; c++) {
            const size_t o = (row + c) * HW;
            const float s0 = sh[c], a = ka[c], br = kr[c], c0 = kc[c];
            for (int i = 0; i < HW; i++)
                out[o + i] = rf_elem(x[o + i], hr ? rx[o + i] : 0.0f, hs ? s[o + i] : 1.0f, s0, a,
                                     br, c0, hr, hs);
        }
    }
}

NS_HOT static void rf_write(const rgeom *g, float *out, const float *x, const float *rx,
                            const float *s, const float *K, size_t kmax)
{
    if (rx && s) rf_write_impl(g, out, x, rx, s, K, kmax);
    else if (rx) rf_write_impl(g, out, x, rx, NULL, K, kmax);
    else if (s) rf_write_impl(g, out, x, NULL, s, K, kmax);
    else rf_write_impl(g, out, x, NULL, NULL, K, kmax);
}

/* Per plane, with g' = s go and R g' = s rgo: P0 = sum g', P1 = sum g' X,
 * P2 = sum R g', P3 = sum R g' X, P4 = sum g' rx (0 without rx). */
INL void rb_terms(float t[5], float go, float rgo, float s, float X, float rx, int has_s,
                  int has_rx)
{
    const float gp = has_s ? s * go : go, rg = has_s ? s * rgo : rgo;
    t[0] = gp;
    t[1] = gp * X;
    t[2] = rg;
    t[3] = rg * X;
    t[4] = has_rx ? gp * rx : 0.0f;
}

INL void rb_sums_impl(const rgeom *g, const float *restrict go, const float *restrict rgo,
                      const float *restrict s, const float *restrict x,
                      const float *restrict rx, const float *restrict shift,
                      double *restrict P, size_t np)
{
    const int C = g->C, HW = g->HW, hs = s != NULL, hr = rx != NULL;
    for (int b = 0; b < g->batch; b++) {
        const float *sh = shift + (size_t)b * g->kstride;
        const size_t row = (size_t)b * C;
        if (HW == 1) { /* dense: each plane is one value */
            for (int c = 0; c < C; c++) {
                const size_t e = row + c;
                float t[5];
                rb_terms(t, go[e], rgo[e], hs ? s[e] : 1.0f, x[e] - sh[c], hr ? rx[e] : 0.0f, hs,
                         hr);
                for (int j = 0; j < 5; j++) P[j * np + e] = t[j];
            }
            continue;
        }
        for (int c = 0; c < C; c++) {
            const size_t o = (row + c) * HW;
            const float s0 = sh[c];
            float a[5][LANES] = {{0}}, t[5];
            int i = 0;
            for (; i + LANES <= HW; i += LANES)
                for (int k = 0; k < LANES; k++) {
                    const size_t e = o + i + k;
                    rb_terms(t, go[e], rgo[e], hs ? s[e] : 1.0f, x[e] - s0, hr ? rx[e] : 0.0f, hs,
                             hr);
                    for (int j = 0; j < 5; j++) a[j][k] += t[j];
                }
            for (int k = 0; i < HW; i++, k++) {
                const size_t e = o + i;
                rb_terms(t, go[e], rgo[e], hs ? s[e] : 1.0f, x[e] - s0, hr ? rx[e] : 0.0f, hs, hr);
                for (int j = 0; j < 5; j++) a[j][k] += t[j];
            }
            for (int j = 0; j < 5; j++) P[j * np + row + c] = lanes_total(a[j]);
        }
    }
}

NS_HOT static void rb_sums(const rgeom *g, const float *go, const float *rgo, const float *s,
                           const float *x, const float *rx, const float *shift, double *P,
                           size_t np)
{
    if (rx && s) rb_sums_impl(g, go, rgo, s, x, rx, shift, P, np);
    else if (rx) rb_sums_impl(g, go, rgo, NULL, x, rx, shift, P, np);
    else if (s) rb_sums_impl(g, go, rgo, s, x, NULL, shift, P, np);
    else rb_sums_impl(g, go, rgo, NULL, x, NULL, shift, P, np);
}

/* rdin = Kg g' + Kr R g' + Kx X + Kd rx + Ks sign(x) + K0 */
INL float rb_elem(float go, float rgo, float s, float x, float rx, const float k[7], int has_s,
                  int has_rx, int l1)
{
    const float gp = has_s ? s * go : go, rg = has_s ? s * rgo : rgo;
    float v = k[K_1] * gp + k[K_2] * rg + k[K_3] * (x - k[K_SHIFT]) + k[K_6];
    if (has_rx) v += k[K_4] * rx;
    if (l1) v += k[K_5] * sgnf(x);
    return v;
}

INL void rb_write_impl(const rgeom *g, float *restrict rdin, const float *restrict go,
                       const float *restrict rgo, const float *restrict s,
                       const float *restrict x, const float *restrict rx, int l1,
                       const float *K, size_t kmax)
{
    const int C = g->C, HW = g->HW, hs = s != NULL, hr = rx != NULL;
    for (int b = 0; b < g->batch; b++) {
        const size_t kb = (size_t)b * g->kstride, row = (size_t)b * C;
        if (HW == 1) { /* dense: along the channels, each constant a contiguous row */
            const float *restrict kk[K_COUNT];
            for (int j = 0; j < K_COUNT; j++) kk[j] = K + j * kmax + kb;
            for (int c = 0; c < C; c++) {
                const size_t e = row + c;
                const float gp = hs ? s[e] * go[e] : go[e], rg = hs ? s[e] * rgo[e] : rgo[e];
                float v = kk[K_1][c] * gp + kk[K_2][c] * rg + kk[K_3][c] * (x[e] - kk[K_SHIFT][c]) +
                          kk[K_6][c];
                if (hr) v += kk[K_4][c] * rx[e];
                if (l1) v += kk[K_5][c] * sgnf(x[e]);
                rdin[e] = v;
            }
            continue;
        }
        for (int c = 0; c < C; c++) {
            float k[K_COUNT];
            for (int j = 0; j < K_COUNT; j++) k[j] = K[j * kmax + kb + c];
            const size_t o = (row + c) * HW;
            for (int i = 0; i < HW; i++)
                rdin[o + i] = rb_elem(go[o + i], rgo[o + i], hs ? s[o + i] : 1.0f, x[o + i],
                                      hr ? rx[o + i] : 0.0f, k, hs, hr, l1);
        }
    }
}

NS_HOT static void rb_write(const rgeom *g, float *rdin, const float *go, const float *rgo,
                            const float *s, const float *x, const float *rx, int l1,
                            const float *K, size_t kmax)
{
    if (l1) { /* l1 has no noise */
        if (rx) rb_write_impl(g, rdin, go, rgo, NULL, x, rx, 1, K, kmax);
        else rb_write_impl(g, rdin, go, rgo, NULL, x, NULL, 1, K, kmax);
    } else if (rx && s) rb_write_impl(g, rdin, go, rgo, s, x, rx, 0, K, kmax);
    else if (rx) rb_write_impl(g, rdin, go, rgo, NULL, x, rx, 0, K, kmax);
    else if (s) rb_write_impl(g, rdin, go, rgo, s, x, NULL, 0, K, kmax);
    else rb_write_impl(g, rdin, go, rgo, NULL, x, NULL, 0, K, kmax);
}

/* ---------------------------------------------------------------- per-unit math */

/* Channel units: fold the planes of every sample into row 0 (in double). */
static void fold_batch(const rgeom *g, double *P, size_t np, int nsum)
{
    for (int j = 0; j < nsum; j++)
        for (int b = 1; b < g->batch; b++)
            for (int c = 0; c < g->C; c++) P[j * np + c] += P[j * np + (size_t)b * g->C + c];
}

/* The float shift of unit u: its mean rounded; e = mu - shift exactly. */
static inline float unit_shift(const ns_norm_priv *p, int u) { return (float)p->unit_mu[u]; }

static void fill_shift(const ns_norm_priv *p, const rgeom *g)
{
    float *sh = p->r_k + K_SHIFT * (size_t)p->kmax;
    const int nb = g->grouped ? g->batch : 1;
    for (int b = 0; b < nb; b++)
        for (int c = 0; c < g->C; c++) sh[(size_t)b * g->kstride + c] = unit_shift(p, unit_of(g, b, c));
}

/* Whether mu and d are the batch's (functions of x): TRAIN mode, and always
 * for group/layer, which have no running statistics. */
static int batch_stats(const ns_norm_priv *p, const rgeom *g)
{
    return g->grouped || p->last_mode == NS_MODE_TRAIN;
}

/* noise scale of the last forward (noisy_batch in TRAIN mode) or NULL */
static const float *noise_scale(const ns_norm_priv *p)
{
    return p->cfg.kind == NS_NORM_NOISY_BATCH && p->last_mode == NS_MODE_TRAIN ? p->noise_s : NULL;
}

/* R mu, R d per unit from the forward sums (TRAIN, rin given). */
static void r_stats(ns_norm_priv *p, const rgeom *g, const float *in, const float *rin)
{
    const ns_norm_kind kind = p->cfg.kind;
    const size_t np = (size_t)g->batch * g->C;
    double *P0 = p->r_plane, *P1 = p->r_plane + np;
    rf_sums(g, in, rin, p->r_k + K_SHIFT * (size_t)p->kmax, kind == NS_NORM_L1, P0, P1);
    const int U = g->grouped ? g->batch * g->G : g->C;
    for (int u = 0; u < U; u++) p->r_mu[u] = p->r_d[u] = 0.0;
    if (!g->grouped) fold_batch(g, p->r_plane, np, 2);
    const int nb = g->grouped ? g->batch : 1;
    for (int b = 0; b < nb; b++)
        for (int c = 0; c < g->C; c++) {
            const int u = unit_of(g, b, c);
            const size_t q = (size_t)b * g->C + c;
            p->r_mu[u] += P0[q];
            p->r_d[u] += P1[q];
        }
    for (int u = 0; u < U; u++) {
        const double s_r = p->r_mu[u], s_xr = p->r_d[u], inv = 1.0 / p->unit_d[u];
        const double e = p->unit_mu[u] - unit_shift(p, u);
        p->r_mu[u] = s_r / g->m;
        if (kind == NS_NORM_L1) p->r_d[u] = s_xr / g->m;                          /* sum sign rx */
        else if (kind == NS_NORM_L2) p->r_d[u] = (s_xr + unit_shift(p, u) * s_r) * inv / g->m;
        else p->r_d[u] = (s_xr - e * s_r) * inv / g->m;                            /* sum yhat rx */
    }
    if (kind == NS_NORM_LINF)
        for (int c = 0; c < g->C; c++) {
            const size_t a = p->argmax[c];
            p->r_d[c] = sgnf(in[a]) * (double)rin[a];
        }
}

void ns_norm_r_forward(ns_layer *l, float *rout, const float *rin, const float *v,
                       const float *in, const float *out, int batch, float *scratch)
{
    (void)out;
    (void)scratch;
    ns_norm_priv *p = l->priv;
    NS_ASSERT(p->last_mode >= 0 && batch == p->last_batch);
    const rgeom g = geom_of(p, batch);
    if (!g.grouped) channel_stats(l, p);
    fill_shift(p, &g);
    const int U = g.grouped ? batch * g.G : g.C;
    for (int u = 0; u < U; u++) p->r_mu[u] = p->r_d[u] = 0.0;
    if (rin && batch_stats(p, &g)) r_stats(p, &g, in, rin);
    const size_t kmax = (size_t)p->kmax;
    const int nb = g.grouped ? batch : 1;
    for (int b = 0; b < nb; b++)
        for (int c = 0; c < g.C; c++) {
            const int u = unit_of(&g, b, c);
            const size_t k = (size_t)b * g.kstride + c;
            const double inv = 1.0 / p->unit_d[u], e = p->unit_mu[u] - unit_shift(p, u);
            const double gam = l->w[c], rg = v ? v[c] : 0.0, rb = v ? v[g.C + c] : 0.0;
            const double a = inv * (rg - gam * p->r_d[u] * inv);
            p->r_k[K_1 * kmax + k] = (float)a;
            p->r_k[K_2 * kmax + k] = (float)(gam * inv);
            p->r_k[K_3 * kmax + k] = (float)(rb - a * e - gam * inv * p->r_mu[u]);
        }
    rf_write(&g, rout, in, rin, noise_scale(p), p->r_k, kmax);
}

/* A1..A4 per unit and R(dgamma), R(dbeta) per channel from the plane sums. */
static void rb_units(const ns_layer *l, ns_norm_priv *p, const rgeom *g, const float *v)
{
    const size_t np = (size_t)g->batch * g->C;
    const double *P = p->r_plane;
    const int U = g->grouped ? g->batch * g->G : g->C, C = g->C;
    memset(p->r_acc, 0, 4 * (size_t)U * sizeof *p->r_acc);
    memset(p->r_ch, 0, 2 * (size_t)C * sizeof *p->r_ch);
    const int nb = g->grouped ? g->batch : 1;
    for (int b = 0; b < nb; b++)
        for (int c = 0; c < C; c++) {
            const int u = unit_of(g, b, c);
            const size_t q = (size_t)b * C + c;
            const double P0 = P[q], P1 = P[np + q], P2 = P[2 * np + q], P3 = P[3 * np + q],
                         P4 = P[4 * np + q];
            const double inv = 1.0 / p->unit_d[u], e = p->unit_mu[u] - unit_shift(p, u);
            const double gam = l->w[c], rgam = v ? v[c] : 0.0;
            const double gyh = inv * (P1 - e * P0), rgyh = inv * (P3 - e * P2);
            const double gryh = inv * (P4 - p->r_mu[u] * P0) - inv * p->r_d[u] * gyh;
            double *A = p->r_acc + 4 * (size_t)u;
            A[0] += gam * P0;
            A[1] += gam * gyh;
            A[2] += rgam * P0 + gam * P2;
            A[3] += rgam * gyh + gam * rgyh + gam * gryh;
            p->r_ch[c] += rgyh + gryh; /* R dgamma */
            p->r_ch[C + c] += P2;      /* R dbeta  */
        }
}

/* D_i = d1 yhat + d2 x + d3 sign(x); R D_i = r1 R yhat + r2 rx + r3 x (see top) */
typedef struct dform {
    double d1, d2, d3, r1, r2, r3;
} dform;

static dform dform_of(ns_norm_kind kind, double m, double inv, double Rd)
{
    dform f = {0, 0, 0, 0, 0, 0};
    if (kind == NS_NORM_L1) f.d3 = 1.0 / m;
    else if (kind == NS_NORM_L2) {
        f.d2 = f.r2 = inv / m;
        f.r3 = -Rd * inv * inv / m;
    } else if (kind != NS_NORM_LINF) f.d1 = f.r1 = 1.0 / m;
    return f;
}

/* The six constants of R din for k (unit u, channel c), TRAIN mode. */
static void rb_constants(const ns_norm_priv *p, const rgeom *g, int u, double gam, double rgam,
                         float *K, size_t kmax, size_t k)
{
    const double inv = 1.0 / p->unit_d[u], shift = unit_shift(p, u);
    const double e = p->unit_mu[u] - shift, Rmu = p->r_mu[u], Rd = p->r_d[u], m = g->m;
    const double *A = p->r_acc + 4 * (size_t)u;
    const dform f = dform_of(p->cfg.kind, m, inv, Rd);
    const double Q = Rd * inv * A[1] - A[3];
    const double k0 = (Rd * inv * A[0] - A[2]) / m;
    const double cx = Q * (f.d1 * inv + f.d2) - A[1] * (-f.r1 * inv * inv * Rd + f.r3);
    const double cr = -A[1] * (f.r1 * inv + f.r2);
    const double cc = k0 + Q * (-f.d1 * inv * e + f.d2 * shift) -
                      A[1] * (-f.r1 * inv * Rmu + f.r1 * inv * inv * Rd * e + f.r3 * shift);
    K[K_1 * kmax + k] = (float)(inv * (rgam - Rd * inv * gam));
    K[K_2 * kmax + k] = (float)(inv * gam);
    K[K_3 * kmax + k] = (float)(inv * cx);
    K[K_4 * kmax + k] = (float)(inv * cr);
    K[K_5 * kmax + k] = (float)(inv * Q * f.d3);
    K[K_6 * kmax + k] = (float)(inv * cc);
}

void ns_norm_r_backward(ns_layer *l, float *rdin, float *rdw, const float *rdout,
                        const float *dout, const float *rin, const float *v, const float *in,
                        const float *out, int batch, float *scratch)
{
    (void)out;
    (void)scratch;
    ns_norm_priv *p = l->priv;
    NS_ASSERT(p->last_mode >= 0 && batch == p->last_batch);
    const rgeom g = geom_of(p, batch);
    const int C = g.C, train = batch_stats(p, &g);
    const float *s = noise_scale(p);
    const size_t kmax = (size_t)p->kmax, np = (size_t)batch * C;
    rb_sums(&g, dout, rdout, s, in, rin, p->r_k + K_SHIFT * kmax, p->r_plane, np);
    if (!g.grouped) fold_batch(&g, p->r_plane, np, 5);
    rb_units(l, p, &g, v);
    if (rdw)
        for (int c = 0; c < C; c++) {
            rdw[c] = (float)p->r_ch[c];
            rdw[C + c] = (float)p->r_ch[C + c];
        }
    if (!rdin) return;
    const int nb = g.grouped ? batch : 1;
    for (int b = 0; b < nb; b++)
        for (int c = 0; c < C; c++) {
            const int u = unit_of(&g, b, c);
            const size_t k = (size_t)b * g.kstride + c;
            const double gam = l->w[c], rgam = v ? v[c] : 0.0, inv = 1.0 / p->unit_d[u];
            if (train) {
                rb_constants(p, &g, u, gam, rgam, p->r_k, kmax, k);
                continue;
            }
            p->r_k[K_1 * kmax + k] = (float)(inv * rgam);
            p->r_k[K_2 * kmax + k] = (float)(inv * gam);
            for (int j = K_3; j <= K_6; j++) p->r_k[j * kmax + k] = 0.0f;
        }
    const int l1 = train && p->cfg.kind == NS_NORM_L1;
    rb_write(&g, rdin, dout, rdout, s, in, rin, l1, p->r_k, kmax);
    if (!train || p->cfg.kind != NS_NORM_LINF) return;
    for (int c = 0; c < C; c++) { /* linf's one D term: D_a = sign(x_a), R D = 0 */
        const size_t a = p->argmax[c];
        const double inv = 1.0 / p->unit_d[c], *A = p->r_acc + 4 * (size_t)c;
        rdin[a] += (float)(inv * sgnf(in[a]) * (p->r_d[c] * inv * A[1] - A[3]));
    }
}
