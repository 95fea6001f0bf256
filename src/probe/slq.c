/* slq.c - the Hessian's spectral density by stochastic Lanczos quadrature,
 * Hutchinson's trace on an operator, and the Rademacher vectors both use
 * (curvature.h).
 *
 * SLQ (Golub & Meurant; Ghorbani et al. 2019): for a unit vector q, Lanczos
 * of m steps gives T_m = S diag(theta) S^T, and
 *   q^T f(A) q ~ sum_i tau_i f(theta_i),  tau_i = S[0][i]^2
 * exactly for polynomials f of degree < 2m. With q = v / sqrt(n), v
 * Rademacher, E[q^T f(A) q] = tr f(A) / n: the (theta_i, tau_i) of each probe
 * are a quadrature of the spectral density (1/n) sum_j delta(t - lambda_j). */
#include "lanczos_internal.h"
#include "probe_internal.h"

#include <math.h>

double ns_mean_se(double sum, double sum2, int m)
{
    if (m < 2) return NAN;
    double var = (sum2 - sum * sum / m) / (m - 1);
    return sqrt(var > 0 ? var : 0) / sqrt((double)m);
}

void ns_rademacher(ns_rng *r, float *z, size_t n)
{
    uint32_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 32 == 0) bits = ns_rng_u32(r);
        z[i] = (bits >> (i % 32)) & 1u ? 1.0f : -1.0f;
    }
}

ns_status ns_curv_slq(const ns_linop *op, ns_lanczos_ws *ws, int nv, int m, uint64_t seed,
                      long step, double *nodes, double *weights)
{
    NS_CHECK(op && ws && nodes && weights, NS_ERR_ARG, "slq: NULL argument");
    NS_CHECK(nv >= 1 && m >= 1 && m <= ws->m, NS_ERR_ARG,
             "slq: needs nv >= 1 probes and 1 <= m <= workspace m = %d steps (got nv %d, m %d)",
             ws->m, nv, m);
    ns_subop sub;
    NS_TRY(ns_subop_init(&sub, op, ws, 0, op->n));
    const size_t n = op->n;
    const float inv = (float)(1.0 / sqrt((double)n));
    ns_rng r;
    ns_rng_init(&r, seed, ns_probe_stream(NS_PROBE_RNG_SLQ, step));
    for (int j = 0; j < nv; j++) {
        double *nd = nodes + (size_t)j * m, *wt = weights + (size_t)j * m;
        ns_rademacher(&r, ws->Q, n);
        for (size_t t = 0; t < n; t++) ws->Q[t] *= inv;
        ns_lanczos_state st;
        NS_TRY(ns_lanczos_run(&sub, m, NULL, NULL, &st));
        int k = st.nonfinite ? 0 : st.steps;
        if (k) NS_TRY(ns_lanczos_ritz(ws, k));
        for (int i = 0; i < m; i++) {
            nd[i] = i < k ? ws->theta[i] : NAN;
            wt[i] = i < k ? ws->S[i] * ws->S[i] : st.nonfinite ? NAN : 0.0; /* row 0 of S */
        }
    }
    return NS_OK;
}

ns_status ns_curv_hutchinson(const ns_linop *op, float *z, float *az, int m, uint64_t seed,
                             long step, double *trace, double *se)
{
    NS_CHECK(op && op->apply && z && az && trace && se, NS_ERR_ARG, "hutchinson: NULL argument");
    NS_CHECK(m >= 1, NS_ERR_ARG, "hutchinson: m = %d samples must be >= 1", m);
    const size_t n = op->n;
    ns_rng r;
    ns_rng_init(&r, seed, ns_probe_stream(NS_PROBE_RNG_HUTCHINSON, step));
    double sum = 0, sum2 = 0;
    *trace = *se = NAN;
    for (int j = 0; j < m; j++) {
        ns_rademacher(&r, z, n);
        NS_TRY(op->apply(op->ctx, z, az));
        double s = 0;
        for (size_t t = 0; t < n; t++) s += (double)z[t] * az[t];
        if (!isfinite(s)) return NS_OK;
        sum += s;
        sum2 += s * s;
    }
    *trace = sum / m;
    *se = ns_mean_se(sum, sum2, m);
    return NS_OK;
}
