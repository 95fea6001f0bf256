/* landscape.c - loss landscape along the gradient (paper App. A.2.2, Fig. 4):
 * loss variation L(w - eta g), gradient predictiveness ||g - grad L(w - eta g)||
 * and effective beta-smoothness, over a grid of step sizes eta; optionally
 * the same along a random direction of the gradient's norm. */
#include "probe_internal.h"
#include "normsweep/rng.h"

#include <math.h>

ns_landscape_config ns_landscape_defaults(void)
{
    return (ns_landscape_config){.r_lo = 0.5, .r_hi = 4.0, .count = 8, .random_dir = 0};
}

ns_status ns_eta_grid(double lr, double r_lo, double r_hi, int count, double *eta)
{
    NS_CHECK(lr > 0 && isfinite(lr), NS_ERR_ARG, "eta grid: learning rate %g must be > 0", lr);
    NS_CHECK(r_lo > 0 && r_hi >= r_lo && isfinite(r_hi), NS_ERR_ARG,
             "eta grid: relative range [%g, %g] must satisfy 0 < lo <= hi", r_lo, r_hi);
    NS_CHECK(count >= 1, NS_ERR_ARG, "eta grid: count %d must be >= 1", count);
    for (int k = 0; k < count; k++) {
        double f = count == 1 ? 0.0 : (double)k / (count - 1);
        eta[k] = lr * r_lo * pow(r_hi / r_lo, f);
    }
    /* exact end points, whatever pow() rounds to */
    eta[0] = lr * r_lo;
    if (count > 1) eta[count - 1] = lr * r_hi;
    return NS_OK;
}

ns_status ns_probe_line(const ns_objective *obj, ns_probe_ws *ws, const float *w,
                        const float *g, const float *dir, const double *eta, int count,
                        double *loss, double *grad_change, double *beta_eff)
{
    NS_TRY(ns_objective_check(obj));
    NS_TRY(ns_probe_check_ws(obj, ws, "landscape"));
    NS_CHECK(count >= 0, NS_ERR_ARG, "landscape: count %d < 0", count);
    const size_t n = obj->n;
    const double dnorm = ns_vec_norm(dir, n);
    double best = NAN;
    /* w - eta d in double, rounded once; each later point is formed in the
     * same pass that measures the previous gradient change */
    if (count > 0) ns_vec_step(w, eta[0], dir, ws->wx, n);
    for (int k = 0; k < count; k++) {
        double L = NAN;
        NS_TRY(obj->loss_grad(obj->ctx, ws->wx, &L, ws->gx));
        double gc = k + 1 < count
                        ? ns_vec_dist_step(g, ws->gx, w, eta[k + 1], dir, ws->wx, n)
                        : ns_vec_dist(g, ws->gx, n);
        loss[k] = L;
        grad_change[k] = gc;
        double ratio = gc / (eta[k] * dnorm);
        /* a point counts only if everything measured there is finite */
        if (isfinite(L) && isfinite(ratio) && !(ratio <= best)) best = ratio;
    }
    if (beta_eff) *beta_eff = best;
    return NS_OK;
}

void ns_probe_random_direction(uint64_t seed, long step, const float *g, float *d, size_t n)
{
    ns_rng r;
    ns_rng_init(&r, seed, ns_probe_stream(NS_PROBE_RNG_DIRECTION, step));
    for (size_t i = 0; i < n; i++) d[i] = ns_rng_normal(&r);
    double gn = ns_vec_norm(g, n), dn = ns_vec_norm(d, n);
    double scale = dn > 0 ? gn / dn : 0.0;
    for (size_t i = 0; i < n; i++) d[i] = (float)(d[i] * scale);
}

ns_status ns_probe_landscape(const ns_objective *obj, ns_probe_ws *ws,
                             const ns_landscape_config *cfg, double lr, const float *w,
                             const float *g, uint64_t seed, long step,
                             ns_landscape_out *out)
{
    NS_CHECK(cfg && out && out->eta && out->loss && out->grad_change, NS_ERR_ARG,
             "landscape: NULL config or output arrays");
    NS_CHECK(!cfg->random_dir || (out->rand_loss && out->rand_grad_change), NS_ERR_ARG,
             "landscape: random_dir = 1 needs rand_loss and rand_grad_change arrays");
    NS_TRY(ns_objective_check(obj));
    NS_TRY(ns_probe_check_ws(obj, ws, "landscape"));
    NS_TRY(ns_eta_grid(lr, cfg->r_lo, cfg->r_hi, cfg->count, out->eta));
    NS_TRY(ns_probe_line(obj, ws, w, g, g, out->eta, cfg->count, out->loss, out->grad_change,
                         &out->beta_eff));
    out->rand_beta_eff = NAN;
    if (!cfg->random_dir) return NS_OK;
    ns_probe_random_direction(seed, step, g, ws->gy, obj->n);
    return ns_probe_line(obj, ws, w, g, ws->gy, out->eta, cfg->count, out->rand_loss,
                         out->rand_grad_change, &out->rand_beta_eff);
}
