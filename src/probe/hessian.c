/* hessian.c - the top Hessian eigenvalue by power iteration, and Hutchinson's
 * trace estimate, both on Hessian-vector products from central differences
 * of gradients (the objective gives gradients only).
 *
 * Why the "realized displacement" u: w is float, so fl(w + h v) - fl(w - h v)
 * is not exactly 2 h v (each coordinate rounds by up to eps |w_i|). The
 * gradient difference is H times the displacement actually taken, so the
 * Rayleigh quotient is formed with that displacement u, not with v. Then the
 * only error left is the gradients' own rounding and the O(h^2) third-order
 * term (zero for a quadratic). */
#include "probe_internal.h"
#include "normsweep/curvature.h"
#include "normsweep/rng.h"

#include <math.h>

ns_hessian_config ns_hessian_defaults(void)
{
    return (ns_hessian_config){.max_iters = 20, .tol = 1e-3, .h_rel = 1e-3, .hutchinson = 0};
}

/* Coordinate i of the realized displacement (w + h v) - (w - h v), over 2h.
 * Recomputes the same float roundings as the evaluation points. */
static inline double disp(const float *w, const float *v, double h, size_t i)
{
    float p = (float)((double)w[i] + h * v[i]);
    float m = (float)((double)w[i] - h * v[i]);
    return ((double)p - (double)m) / (2.0 * h);
}

ns_status ns_probe_hvp(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                       const float *v, double h, float *hu, double *u_hu, double *u_u)
{
    NS_TRY(ns_probe_check_ws(obj, ws, "hessian"));
    NS_CHECK(h > 0 && isfinite(h), NS_ERR_ARG, "hessian: finite-difference step h = %g must be > 0",
             h);
    const size_t n = obj->n;
    double L;
    /* fl(w + h v) as w - (-h) v: the same bits (negation is exact) */
    ns_vec_step(w, -h, v, ws->wx, n);
    NS_TRY(obj->loss_grad(obj->ctx, ws->wx, &L, ws->gx));
    ns_vec_step(w, h, v, ws->wx, n);
    NS_TRY(obj->loss_grad(obj->ctx, ws->wx, &L, ws->gy));
    double a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        double hv = ((double)ws->gx[i] - ws->gy[i]) / (2.0 * h);
        double u = disp(w, v, h, i);
        hu[i] = (float)hv;
        a += u * hv;
        b += u * u;
    }
    if (u_hu) *u_hu = a;
    if (u_u) *u_u = b;
    return NS_OK;
}

static ns_status power_iteration(const ns_objective *obj, ns_probe_ws *ws,
                                 const ns_hessian_config *cfg, const float *w, uint64_t seed,
                                 long step, ns_hessian_out *out)
{
    const size_t n = obj->n;
    float *v = ws->v, *hu = ws->gx;
    ns_rng r;
    ns_rng_init(&r, seed, ns_probe_stream(NS_PROBE_RNG_HESSIAN, step));
    for (size_t i = 0; i < n; i++) v[i] = ns_rng_normal(&r);
    double vn = ns_vec_norm(v, n);
    for (size_t i = 0; i < n; i++) v[i] = (float)(v[i] / vn);

    double prev = NAN;
    for (int it = 1; it <= cfg->max_iters; it++) {
        double uhu, uu;
        NS_TRY(ns_probe_hvp(obj, ws, w, v, out->h, hu, &uhu, &uu));
        out->evals += 2;
        out->iters = it;
        double lambda = uhu / uu;
        out->lambda = lambda;
        if (!isfinite(lambda)) { /* diverged region: data, not an error */
            out->lambda = out->residual = NAN;
            return NS_OK;
        }
        double res = 0, hn = 0;
        for (size_t i = 0; i < n; i++) {
            double e = hu[i] - lambda * disp(w, v, out->h, i);
            res += e * e;
            hn += (double)hu[i] * hu[i];
        }
        hn = sqrt(hn);
        if (hn == 0) { /* H u = 0: u is an exact eigenvector with eigenvalue 0 */
            out->lambda = 0;
            out->residual = 0;
            out->converged = 1;
            return NS_OK;
        }
        out->residual = sqrt(res / uu) / fabs(lambda);
        if (it > 1 && fabs(lambda - prev) <= cfg->tol * fabs(lambda)) {
            out->converged = 1;
            return NS_OK;
        }
        prev = lambda;
        for (size_t i = 0; i < n; i++) v[i] = (float)(hu[i] / hn);
    }
    return NS_OK;
}

static ns_status hutchinson(const ns_objective *obj, ns_probe_ws *ws,
                            const ns_hessian_config *cfg, const float *w, uint64_t seed,
                            long step, ns_hessian_out *out)
{
    const size_t n = obj->n;
    ns_rng r;
    ns_rng_init(&r, seed, ns_probe_stream(NS_PROBE_RNG_HUTCHINSON, step));
    double sum = 0, sum2 = 0; /* Welford would be overkill for m <= 1000 */
    int m = cfg->hutchinson;
    for (int s = 0; s < m; s++) {
        ns_rademacher(&r, ws->v, n);
        double uhu;
        NS_TRY(ns_probe_hvp(obj, ws, w, ws->v, out->h, ws->gx, &uhu, NULL));
        out->evals += 2;
        if (!isfinite(uhu)) {
            out->trace = out->trace_se = NAN;
            return NS_OK;
        }
        sum += uhu;
        sum2 += uhu * uhu;
    }
    out->trace = sum / m;
    out->trace_se = ns_mean_se(sum, sum2, m);
    return NS_OK;
}

ns_status ns_probe_hessian(const ns_objective *obj, ns_probe_ws *ws,
                           const ns_hessian_config *cfg, const float *w, uint64_t seed,
                           long step, ns_hessian_out *out)
{
    NS_CHECK(cfg && out, NS_ERR_ARG, "hessian: NULL config or output");
    NS_TRY(ns_objective_check(obj));
    NS_TRY(ns_probe_check_ws(obj, ws, "hessian"));
    NS_CHECK(cfg->max_iters >= 1, NS_ERR_ARG, "hessian: max_iters = %d must be >= 1",
             cfg->max_iters);
    NS_CHECK(cfg->tol >= 0 && isfinite(cfg->tol), NS_ERR_ARG, "hessian: tol = %g must be >= 0",
             cfg->tol);
    NS_CHECK(cfg->h_rel > 0 && isfinite(cfg->h_rel), NS_ERR_ARG,
             "hessian: h_rel = %g must be > 0", cfg->h_rel);
    NS_CHECK(cfg->hutchinson >= 0, NS_ERR_ARG, "hessian: hutchinson = %d must be >= 0",
             cfg->hutchinson);
    *out = (ns_hessian_out){
        .lambda = NAN, .residual = NAN, .trace = NAN, .trace_se = NAN, .h = NAN};
    double wn = ns_vec_norm(w, obj->n);
    if (!isfinite(wn)) return NS_OK; /* non-finite weights (diverged run): all NaN */
    out->h = cfg->h_rel * (wn > 1 ? wn : 1.0);
    NS_TRY(power_iteration(obj, ws, cfg, w, seed, step, out));
    if (cfg->hutchinson > 0) NS_TRY(hutchinson(obj, ws, cfg, w, seed, step, out));
    return NS_OK;
}
