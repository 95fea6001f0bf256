/* lanczos.c - Lanczos with full reorthogonalization on a symmetric operator
 * (curvature.h): the workspace, the shared iteration, the top-k / smallest
 * eigenpairs with the gradient's top-k share, and the per-layer blocks.
 *
 * The iteration, on unit q_0 (vectors of `len` entries):
 *   y = A q_j;  alpha_j = <q_j, y>;  r = y - alpha_j q_j - beta_{j-1} q_{j-1}
 *   r -= Q Q^T r (classical Gram-Schmidt against every q so far, repeated
 *        once when it cancelled much of r: the float basis stays orthogonal
 *        to ~1e-7, so no ghost eigenvalues)
 *   beta_j = ||r||,  q_{j+1} = r / beta_j
 * T_k = tridiag(beta, alpha, beta) = Q^T A Q; its eigenpairs (theta_i, s_i)
 * give Ritz pairs (theta_i, Q s_i) with Lanczos residual |beta_{k-1} s_i[k-1]|.
 * The residual r is kept in double, the basis in float. */
#include "lanczos_internal.h"
#include "probe_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

ns_spectrum_config ns_spectrum_defaults(void)
{
    return (ns_spectrum_config){.k = 3, .steps = 20, .tol = 1e-3, .residuals = 1};
}

/* The workspace's arrays, in the order they are laid out (each on a 64-byte
 * line): (field, element type, count). */
#define LANCZOS_ARRAYS(X, n, m)                                                                   \
    X(Q, float, (m) * (n)) X(r, double, n) X(y, float, n) X(ay, float, n) X(x, float, n)          \
    X(ax, float, n) X(alpha, double, m) X(beta, double, m) X(theta, double, m)                   \
    X(S, double, (m) * (m)) X(work, double, m) X(qg, double, m)

#define WS_ALIGN 64

/* Lay the arrays out from offset 0 of base (NULL: only measure). */
static size_t ws_layout(ns_lanczos_ws *ws, size_t n, size_t m, char *base)
{
    size_t off = 0;
#define WS_PLACE(f, type, count)                                                                  \
    off = (off + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN;                                              \
    if (base) ws->f = (type *)(void *)(base + off);                                               \
    off += (count) * sizeof(type);
    LANCZOS_ARRAYS(WS_PLACE, n, m)
#undef WS_PLACE
    return off;
}

static ns_status ws_check(size_t n, int m)
{
    NS_CHECK(n > 0 && m >= 1 && m <= NS_LANCZOS_MAX_STEPS, NS_ERR_ARG,
             "lanczos: workspace needs n > 0 and 1 <= m <= %d (got n %zu, m %d)",
             NS_LANCZOS_MAX_STEPS, n, m);
    NS_CHECK(n <= ((size_t)1 << 40) / (size_t)m, NS_ERR_ARG,
             "lanczos: basis of %d x %zu floats is too large", m, n);
    return NS_OK;
}

size_t ns_lanczos_ws_bytes(size_t n, int m)
{
    return ws_check(n, m) == NS_OK ? ws_layout(NULL, n, (size_t)m, NULL) : 0;
}

ns_status ns_lanczos_ws_place(ns_lanczos_ws *ws, size_t n, int m, void *mem)
{
    NS_CHECK(ws && mem && ((uintptr_t)mem % WS_ALIGN) == 0, NS_ERR_ARG,
             "lanczos: workspace memory must be 64-byte aligned");
    NS_TRY(ws_check(n, m));
    *ws = (ns_lanczos_ws){.n = n, .m = m};
    ws_layout(ws, n, (size_t)m, mem);
    return NS_OK;
}

ns_status ns_lanczos_ws_alloc(ns_lanczos_ws *ws, size_t n, int m)
{
    NS_CHECK(ws, NS_ERR_ARG, "lanczos: NULL workspace");
    NS_TRY(ws_check(n, m));
    size_t bytes = (ns_lanczos_ws_bytes(n, m) + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN;
    void *mem = aligned_alloc(WS_ALIGN, bytes);
    if (!mem)
        return ns_error_set(NS_ERR_NOMEM, "lanczos: cannot allocate a basis of %d x %zu floats",
                            m, n);
    NS_TRY(ns_lanczos_ws_place(ws, n, m, mem));
    ws->owned = mem;
    return NS_OK;
}

void ns_lanczos_ws_free(ns_lanczos_ws *ws)
{
    if (!ws) return;
    free(ws->owned);
    *ws = (ns_lanczos_ws){0};
}

/* ---------------------------------------------------------------- operator views */

ns_status ns_subop_init(ns_subop *s, const ns_linop *op, ns_lanczos_ws *ws, size_t lo, size_t len)
{
    NS_CHECK(op && op->apply && op->n > 0, NS_ERR_ARG, "lanczos: operator or its apply is NULL");
    NS_CHECK(ws && ws->Q && ws->n >= op->n, NS_ERR_ARG,
             "lanczos: workspace (n = %zu) too small for the operator (n = %zu)",
             ws ? ws->n : 0, op->n);
    NS_CHECK(len > 0 && lo <= op->n && len <= op->n - lo, NS_ERR_ARG,
             "lanczos: block [%zu, %zu+%zu) outside [0, %zu)", lo, lo, len, op->n);
    *s = (ns_subop){.op = op, .ws = ws, .lo = lo, .len = len, .full = lo == 0 && len == op->n};
    if (!s->full && !op->apply_block) memset(ws->x, 0, op->n * sizeof(float));
    return NS_OK;
}

ns_status ns_subop_apply(const ns_subop *s, const float *x, float *y)
{
    if (s->full) return s->op->apply(s->op->ctx, x, y);
    ns_lanczos_ws *ws = s->ws;
    memcpy(ws->x + s->lo, x, s->len * sizeof(float));
    if (s->op->apply_block)
        NS_TRY(s->op->apply_block(s->op->ctx, ws->x, ws->ax, s->lo, s->lo + s->len));
    else
        NS_TRY(s->op->apply(s->op->ctx, ws->x, ws->ax));
    memcpy(y, ws->ax + s->lo, s->len * sizeof(float));
    return NS_OK;
}

/* ---------------------------------------------------------------- kernels */

/* Both basis kernels walk the vectors in chunks of CHUNK entries, so a chunk
 * of r (double) stays in cache while all k basis vectors pass by: the basis
 * is read once per call, not r k times. */
#define CHUNK 2048

/* c[i] = <Q_i, r> for i < k (double sums) */
NS_HOT static void basis_dots(const float *Q, int k, size_t len, const double *r, double *c)
{
    for (int i = 0; i < k; i++) c[i] = 0.0;
    for (size_t t0 = 0; t0 < len; t0 += CHUNK) {
        const size_t t1 = len - t0 < CHUNK ? len : t0 + CHUNK;
        for (int i = 0; i < k; i++) {
            const float *q = Q + (size_t)i * len;
            double acc[4] = {0, 0, 0, 0};
            size_t t = t0;
            for (; t + 4 <= t1; t += 4)
                for (int u = 0; u < 4; u++) acc[u] += q[t + u] * r[t + u];
            for (; t < t1; t++) acc[0] += q[t] * r[t];
            c[i] += (acc[0] + acc[1]) + (acc[2] + acc[3]);
        }
    }
}

/* r -= sum_i c[i] Q_i */
NS_HOT static void basis_subtract(const float *Q, int k, size_t len, const double *c, double *r)
{
    for (size_t t0 = 0; t0 < len; t0 += CHUNK) {
        const size_t t1 = len - t0 < CHUNK ? len : t0 + CHUNK;
        for (int i = 0; i < k; i++) {
            const float *q = Q + (size_t)i * len;
            const double ci = c[i];
            for (size_t t = t0; t < t1; t++) r[t] -= ci * q[t];
        }
    }
}

/* <q, y> in double */
NS_HOT static double dot_fd(const float *q, const float *y, size_t len)
{
    double acc[4] = {0, 0, 0, 0};
    size_t t = 0;
    for (; t + 4 <= len; t += 4)
        for (int u = 0; u < 4; u++) acc[u] += (double)q[t + u] * y[t + u];
    for (; t < len; t++) acc[0] += (double)q[t] * y[t];
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

NS_HOT static double norm_d(const double *r, size_t len)
{
    double acc[4] = {0, 0, 0, 0};
    size_t t = 0;
    for (; t + 4 <= len; t += 4)
        for (int u = 0; u < 4; u++) acc[u] += r[t + u] * r[t + u];
    for (; t < len; t++) acc[0] += r[t] * r[t];
    return sqrt((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

/* r = y - a q - b p (p NULL: no third term) */
NS_HOT static void recurrence(double *restrict r, const float *restrict y,
                              const float *restrict q, const float *restrict p, double a,
                              double b, size_t len)
{
    if (p)
        for (size_t t = 0; t < len; t++) r[t] = (double)y[t] - a * q[t] - b * p[t];
    else
        for (size_t t = 0; t < len; t++) r[t] = (double)y[t] - a * q[t];
}

/* q = fl(r * s) */
NS_HOT static void scale_to_float(float *restrict q, const double *restrict r, double s, size_t len)
{
    for (size_t t = 0; t < len; t++) q[t] = (float)(r[t] * s);
}

/* ---------------------------------------------------------------- the iteration */

ns_status ns_lanczos_run(const ns_subop *op, int m, ns_lanczos_stop stop, void *sctx,
                         ns_lanczos_state *st)
{
    ns_lanczos_ws *ws = op->ws;
    const size_t len = op->len;
    double *r = ws->r, *c = ws->work;
    *st = (ns_lanczos_state){0};
    if ((size_t)m > len) m = (int)len; /* a block smaller than m is exhausted after len steps */
    double normest = 0.0;
    for (int j = 0; j < m; j++) {
        const float *q = ws->Q + (size_t)j * len, *qp = j ? q - len : NULL;
        NS_TRY(ns_subop_apply(op, q, ws->y));
        st->products++;
        const double a = dot_fd(q, ws->y, len), bp = j ? ws->beta[j - 1] : 0.0;
        recurrence(r, ws->y, q, qp, a, bp, len);
        /* Gram-Schmidt against the whole basis; a second pass only when the
         * first removed much of r (Daniel, Gragg, Kaufman & Stewart 1976:
         * ||r|| fell below 0.7 of itself), when "twice is enough" applies */
        double acorr = 0.0, b = norm_d(r, len);
        for (int pass = 0; pass < 2; pass++) {
            basis_dots(ws->Q, j + 1, len, r, c);
            acorr += c[j];
            basis_subtract(ws->Q, j + 1, len, c, r);
            const double before = b;
            b = norm_d(r, len);
            if (!(b < 0.7 * before)) break;
        }
        ws->alpha[j] = a + acorr;
        ws->beta[j] = b;
        st->steps = j + 1;
        if (!isfinite(a) || !isfinite(b)) {
            st->nonfinite = 1;
            return NS_OK;
        }
        normest = fmax(normest, fabs(ws->alpha[j]) + b + bp);
        if (b <= 1e-6 * normest) { /* invariant subspace: T_j is exact */
            ws->beta[j] = 0.0;
            st->invariant = 1;
            return NS_OK;
        }
        if (j + 1 == m || (stop && stop(ws, j + 1, sctx))) return NS_OK;
        scale_to_float(ws->Q + (size_t)(j + 1) * len, r, 1.0 / b, len);
    }
    return NS_OK;
}

ns_status ns_lanczos_ritz(ns_lanczos_ws *ws, int k)
{
    return ns_tridiag_eig(k, ws->alpha, ws->beta, ws->theta, ws->S, ws->work);
}

/* Unit Ritz vector y = Q s_i (columns i of S, k steps) into ws->y; then the
 * true residual ||A y - theta_i y||. One product. */
ns_status ns_lanczos_residual(const ns_subop *op, int k, int i, double *res)
{
    ns_lanczos_ws *ws = op->ws;
    const size_t len = op->len;
    double *yd = ws->r, *c = ws->work;
    memset(yd, 0, len * sizeof *yd);
    for (int j = 0; j < k; j++) c[j] = -ws->S[j * k + i];
    basis_subtract(ws->Q, k, len, c, yd); /* y = Q s */
    scale_to_float(ws->y, yd, 1.0 / norm_d(yd, len), len);
    NS_TRY(ns_subop_apply(op, ws->y, ws->ay));
    double e = 0, y2 = 0;
    for (size_t t = 0; t < len; t++) {
        double d = (double)ws->ay[t] - ws->theta[i] * ws->y[t];
        e += d * d;
        y2 += (double)ws->y[t] * ws->y[t];
    }
    *res = sqrt(e / y2);
    return NS_OK;
}

/* q_0 = the Rademacher slice [off, off + len) of stream (seed, purpose, step),
 * normalized. */
void ns_lanczos_start(ns_lanczos_ws *ws, uint64_t seed, int purpose, long step, size_t off,
                      size_t len)
{
    ns_rng r;
    ns_rng_init(&r, seed, ns_probe_stream(purpose, step));
    for (size_t w = 0; w < off / 32; w++) (void)ns_rng_u32(&r);
    uint32_t bits = ns_rng_u32(&r);
    const float inv = (float)(1.0 / sqrt((double)len));
    for (size_t i = 0; i < len; i++) {
        const size_t g = off + i;
        if (g % 32 == 0 && i > 0) bits = ns_rng_u32(&r);
        ws->Q[i] = (bits >> (g % 32)) & 1u ? inv : -inv;
    }
}
