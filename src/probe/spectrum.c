/* spectrum.c - the Hessian's extreme eigenpairs by Lanczos (curvature.h):
 * top-k and smallest with residuals and the gradient's top-k share, and the
 * top eigenvalue of each measured layer's diagonal block. */
#include "lanczos_internal.h"
#include "probe_internal.h"

#include <math.h>

/* Which Ritz pairs a probe wants: the `ntop` largest (and the smallest). */
typedef struct wanted {
    int ntop, with_min;
    double tol;
} wanted;

static double norm_est(const ns_lanczos_ws *ws, int k)
{
    return fmax(fabs(ws->theta[0]), fabs(ws->theta[k - 1]));
}

/* Early stop: every wanted pair's Lanczos residual |beta_k s_i[k-1]| is below
 * tol * ||A||_est. */
static int converged_estimates(ns_lanczos_ws *ws, int k, void *ctx)
{
    const wanted *w = ctx;
    if (k < w->ntop + 1 || ns_lanczos_ritz(ws, k) != NS_OK) return 0;
    const double lim = w->tol * norm_est(ws, k), b = ws->beta[k - 1];
    for (int t = 0; t < w->ntop; t++)
        if (fabs(b * ws->S[(k - 1) * k + (k - 1 - t)]) > lim) return 0;
    return !w->with_min || fabs(b * ws->S[(k - 1) * k]) <= lim;
}

/* Residual of Ritz pair i: the true one (one product) or the Lanczos estimate. */
static ns_status pair_residual(const ns_subop *op, int k, int i, int truth, int *products,
                               double *res)
{
    if (!truth) {
        *res = fabs(op->ws->beta[k - 1] * op->ws->S[(k - 1) * k + i]);
        return NS_OK;
    }
    (*products)++;
    return ns_lanczos_residual(op, k, i, res);
}

static ns_eig make_eig(double lambda, double res, double lim)
{
    return (ns_eig){.lambda = lambda, .residual = res, .converged = isfinite(res) && res <= lim};
}

/* ||P_k g||^2 / ||g||^2 with P_k the projector on the top-k Ritz vectors Q s_i. */
static double grad_share(ns_lanczos_ws *ws, size_t n, int k, int ntop, const float *g)
{
    double g2 = 0;
    for (size_t t = 0; t < n; t++) g2 += (double)g[t] * g[t];
    if (!(g2 > 0) || !isfinite(g2)) return NAN;
    for (int j = 0; j < k; j++) {
        const float *q = ws->Q + (size_t)j * n;
        double s = 0;
        for (size_t t = 0; t < n; t++) s += (double)q[t] * g[t];
        ws->qg[j] = s;
    }
    double p2 = 0;
    for (int t = 0; t < ntop; t++) {
        double c = 0;
        for (int j = 0; j < k; j++) c += ws->S[j * k + (k - 1 - t)] * ws->qg[j];
        p2 += c * c;
    }
    return p2 / g2;
}

static ns_status check_spectrum_args(const ns_linop *op, const ns_lanczos_ws *ws,
                                     const ns_spectrum_config *cfg, const ns_spectrum_out *out)
{
    NS_CHECK(op && ws && cfg && out, NS_ERR_ARG, "spectrum: NULL argument");
    NS_CHECK(cfg->k >= 1 && cfg->k <= NS_SPECTRUM_MAX_K, NS_ERR_ARG,
             "spectrum: k = %d must be in [1, %d]", cfg->k, NS_SPECTRUM_MAX_K);
    NS_CHECK(cfg->steps > cfg->k && cfg->steps <= ws->m, NS_ERR_ARG,
             "spectrum: steps = %d must be in [k + 1 = %d, workspace m = %d]", cfg->steps,
             cfg->k + 1, ws->m);
    NS_CHECK(cfg->tol >= 0 && isfinite(cfg->tol), NS_ERR_ARG, "spectrum: tol = %g must be >= 0",
             cfg->tol);
    return NS_OK;
}

ns_status ns_curv_spectrum(const ns_linop *op, ns_lanczos_ws *ws, const ns_spectrum_config *cfg,
                           const float *g, uint64_t seed, long step, ns_spectrum_out *out)
{
    NS_TRY(check_spectrum_args(op, ws, cfg, out));
    ns_subop sub;
    NS_TRY(ns_subop_init(&sub, op, ws, 0, op->n));
    const ns_eig none = {NAN, NAN, 0};
    *out = (ns_spectrum_out){.min = none, .norm_est = NAN, .grad_share = NAN};
    for (int t = 0; t < NS_SPECTRUM_MAX_K; t++) out->top[t] = none;
    ns_lanczos_start(ws, seed, NS_PROBE_RNG_LANCZOS, step, 0, op->n);
    wanted w = {cfg->k, 1, cfg->tol};
    ns_lanczos_state st;
    NS_TRY(ns_lanczos_run(&sub, cfg->steps, converged_estimates, &w, &st));
    out->steps = st.steps;
    out->products = st.products;
    if (st.nonfinite) return NS_OK; /* a diverged point: NaN, not converged */
    NS_TRY(ns_lanczos_ritz(ws, st.steps));
    const int k = st.steps, ntop = cfg->k < k ? cfg->k : k;
    out->k = ntop;
    out->norm_est = norm_est(ws, k);
    const double lim = cfg->tol * out->norm_est;
    /* the share needs the basis before residuals overwrite ws->r/y (not Q) */
    if (g) out->grad_share = grad_share(ws, op->n, k, ntop, g);
    for (int t = 0; t < ntop; t++) {
        double res;
        NS_TRY(pair_residual(&sub, k, k - 1 - t, cfg->residuals, &out->products, &res));
        out->top[t] = make_eig(ws->theta[k - 1 - t], res, lim);
    }
    double res;
    NS_TRY(pair_residual(&sub, k, 0, cfg->residuals, &out->products, &res));
    out->min = make_eig(ws->theta[0], res, lim);
    return NS_OK;
}

ns_status ns_curv_layers(const ns_linop *op, ns_lanczos_ws *ws, int nlayers, const size_t *off,
                         const size_t *len, int steps, double tol, uint64_t seed, long step,
                         double *lambda, double *residual, int *converged)
{
    NS_CHECK(op && ws && (nlayers == 0 || (off && len && lambda && residual && converged)),
             NS_ERR_ARG, "layer curvature: NULL argument");
    NS_CHECK(steps >= 1 && steps <= ws->m, NS_ERR_ARG,
             "layer curvature: steps = %d must be in [1, workspace m = %d]", steps, ws->m);
    NS_CHECK(tol >= 0 && isfinite(tol), NS_ERR_ARG, "layer curvature: tol = %g must be >= 0", tol);
    for (int i = 0; i < nlayers; i++) {
        ns_subop sub;
        NS_TRY(ns_subop_init(&sub, op, ws, off[i], len[i]));
        lambda[i] = residual[i] = NAN;
        converged[i] = 0;
        ns_lanczos_start(ws, seed, NS_PROBE_RNG_BLOCK, step, off[i], len[i]);
        wanted w = {1, 0, tol};
        ns_lanczos_state st;
        NS_TRY(ns_lanczos_run(&sub, steps, converged_estimates, &w, &st));
        if (st.nonfinite) continue;
        NS_TRY(ns_lanczos_ritz(ws, st.steps));
        const int k = st.steps;
        double res;
        NS_TRY(ns_lanczos_residual(&sub, k, k - 1, &res));
        lambda[i] = ws->theta[k - 1];
        residual[i] = res;
        converged[i] = isfinite(res) && res <= tol * norm_est(ws, k);
    }
    return NS_OK;
}
